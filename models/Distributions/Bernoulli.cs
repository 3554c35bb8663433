namespace Engine.Models.Distributions;

/// <summary>Independent Bernoulli variables over the last axis, parameterized by logits.</summary>
public sealed class Bernoulli : Distribution
{
    public Bernoulli(Tensor logits)
    {
        ArgumentNullException.ThrowIfNull(logits);
        if (logits.Rank == 0) throw new ArgumentException("Bernoulli: logits need an event axis (rank >= 1).", nameof(logits));
        Logits = logits;
    }

    public Tensor Logits { get; }
    public Tensor Probs => Logits.Sigmoid();
    public override Shape Shape => Logits.Shape;

    public override Distribution Detached() => new Bernoulli(Logits.Detach());

    /// <summary>sum [x l - softplus(l)] = -BCE-with-logits, through the stable fused op.</summary>
    public override Tensor LogProb(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        // A value without the leading sample axes of the logits (the batch x for k draws of z) is read in place.
        if (x.Rank < Logits.Rank && x.Rank > 0 && Logits.Shape.Suffix(x.Rank) == x.Shape) return Tensor.BceWithLogits(Logits, x).Neg();
        return Tensor.BceWithLogits(Align(Logits, x, "Bernoulli.LogProb"), x).Neg();
    }

    /// <summary>Draws x ~ Bernoulli(sigmoid(logits)) by comparing with uniforms from the generator.</summary>
    public override Tensor Sample(Generator gen)
    {
        using var _ = Engine.Autograd.GradMode.NoGrad();
        var p = Probs.ToDoubleArray();
        var u = Tensor.RandUniform(Shape, gen, dtype: DType.Float64).ToDoubleArray();
        var x = new double[p.Length];
        for (int i = 0; i < x.Length; i++) x[i] = u[i] < p[i] ? 1 : 0;
        var t = Tensor.FromArray(x, Shape.ToArray());
        return Logits.DType == DType.Float64 ? t : t.To(Logits.DType);
    }

    /// <summary>-sum [p log p + (1 - p) log(1 - p)] = sum [softplus(l) - p l].</summary>
    public override Tensor Entropy() => (Logits.Softplus() - Probs * Logits).Sum(-1);
}
