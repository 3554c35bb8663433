namespace Engine.Models.Distributions;

/// <summary>
/// A categorical distribution over the last axis of its logits ([..., K]); its values are class indices,
/// carried as a tensor of one element per event holding integers.
/// </summary>
public sealed class Categorical : Distribution
{
    public Categorical(Tensor logits)
    {
        ArgumentNullException.ThrowIfNull(logits);
        if (logits.Rank == 0 || logits.Shape[-1] == 0) throw new ArgumentException($"Categorical: logits need a non-empty class axis; got {logits.Shape}.", nameof(logits));
        Logits = logits;
    }

    public Tensor Logits { get; }
    public int Classes => Logits.Shape[-1];
    public Tensor LogProbs => Logits.LogSoftmax(-1);
    public Tensor Probs => Logits.Softmax(-1);

    public override Distribution Detached() => new Categorical(Logits.Detach());

    /// <summary>The batch shape (one index per event).</summary>
    public override Shape Shape => Logits.Shape.Without(-1);

    /// <summary>log p(k) for a tensor of class indices of the batch shape, possibly with extra leading sample axes.</summary>
    public override Tensor LogProb(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var batch = Shape;
        bool sampleAxes = x.Shape != batch;
        if (sampleAxes)
        {
            // Leading sample axes are allowed (as for every distribution, and as Kl.MonteCarlo draws): x is [..., batch].
            bool suffix = x.Rank > batch.Rank;
            for (int i = 0; suffix && i < batch.Rank; i++) suffix = x.Shape[x.Rank - batch.Rank + i] == batch[i];
            if (!suffix) throw new ArgumentException($"Categorical.LogProb: indices {x.Shape} must have the batch shape {batch} (leading sample axes may be added).", nameof(x));
        }
        var idx = x.ToDoubleArray();
        int k = Classes;
        var flat = new int[idx.Length];
        for (int i = 0; i < idx.Length; i++)
        {
            int c = (int)idx[i];
            if (c != idx[i] || c < 0 || c >= k) throw new ArgumentOutOfRangeException(nameof(x), $"Categorical.LogProb: value {idx[i]} at {i} is not a class index in [0, {k}).");
            flat[i] = i * k + c;
        }
        var logProbs = sampleAxes ? LogProbs.Expand(x.Shape.Insert(x.Rank, k)) : LogProbs;
        return logProbs.Reshape(idx.Length * k, 1).GatherRows(flat).Reshape(x.Shape);
    }

    /// <summary>Draws class indices by inverting the cumulative distribution at uniforms from the generator.</summary>
    public override Tensor Sample(Generator gen)
    {
        using var _ = Engine.Autograd.GradMode.NoGrad();
        var p = Probs.ToDoubleArray();
        int k = Classes, n = p.Length / k;
        var u = Tensor.RandUniform(new Shape(Math.Max(n, 1)), gen, dtype: DType.Float64).ToDoubleArray();
        var x = new double[n];
        for (int i = 0; i < n; i++)
        {
            double c = 0;
            int j = 0;
            for (; j < k - 1; j++)
            {
                c += p[i * k + j];
                if (u[i] < c) break;
            }
            x[i] = j;
        }
        var t = Tensor.FromArray(x, Shape.Rank == 0 ? [1] : Shape.ToArray());
        if (Shape.Rank == 0) t = t.Reshape(Engine.Shape.Scalar);
        return Logits.DType == DType.Float64 ? t : t.To(Logits.DType);
    }

    /// <summary>-sum_k p_k log p_k.</summary>
    public override Tensor Entropy() => (Probs * LogProbs).Sum(-1).Neg();
}
