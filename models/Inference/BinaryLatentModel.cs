using Engine.Models.Distributions;
using Engine.Models.Nn;

namespace Engine.Models.Inference;

/// <summary>
/// The lecture's first latent-variable example, where the sum over z is within reach: z is d binary features with a
/// uniform prior p(z) = 2^-d, and x | z is a vector of independent Bernoulli pixels whose logits an MLP computes from z.
/// Then p(x) = sum over all 2^d completions of p(x, z): exact by enumeration for d up to about 20
/// (<see cref="BinaryLatentEstimators.ExactLogLikelihood"/>), hopeless for d = 30 (a billion decoder passes per image),
/// where the Monte Carlo estimators of <see cref="BinaryLatentEstimators"/> take over.
/// </summary>
public sealed class BinaryLatentModel : Module
{
    /// <summary>The largest d for which enumeration is attempted (2^24 = 16.8 million completions per image).</summary>
    public const int MaxEnumerationBits = 24;

    private const double Log2 = 0.69314718055994531;

    /// <param name="latentBits">d, the number of binary latent features (1 to 62).</param>
    /// <param name="observedSize">D, the number of binary pixels.</param>
    /// <param name="hidden">Hidden widths of the decoder MLP (empty: logits affine in z).</param>
    public BinaryLatentModel(int latentBits, int observedSize, IReadOnlyList<int> hidden, Generator gen,
        Activation activation = Activation.Tanh, DType dtype = DType.Float64, Init? init = null)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        ArgumentNullException.ThrowIfNull(gen);
        if (latentBits < 1 || latentBits > 62) throw new ArgumentOutOfRangeException(nameof(latentBits), $"The number of latent bits must lie in [1, 62]; got {latentBits}.");
        if (observedSize < 1) throw new ArgumentOutOfRangeException(nameof(observedSize), $"The number of pixels must be positive; got {observedSize}.");
        LatentBits = latentBits;
        ObservedSize = observedSize;
        DType = dtype;
        Decoder = AddModule("decoder", new Mlp([latentBits, .. hidden, observedSize], activation, gen, init, dtype));
    }

    /// <summary>d.</summary>
    public int LatentBits { get; }

    /// <summary>D.</summary>
    public int ObservedSize { get; }

    public DType DType { get; }

    /// <summary>z -> logits of p(x | z).</summary>
    public Mlp Decoder { get; }

    /// <summary>2^d.</summary>
    public long CompletionCount => 1L << LatentBits;

    /// <summary>log p(z) = -d log 2 for every z.</summary>
    public double LogPrior => -LatentBits * Log2;

    /// <summary>The uniform prior over [batch, d].</summary>
    public Bernoulli Prior(int batch) => new(Tensor.Zeros(new Shape(batch, LatentBits), DType));

    /// <summary>p(x | z) for z [..., d] with entries in {0, 1}.</summary>
    public Bernoulli Likelihood(Tensor z)
    {
        ArgumentNullException.ThrowIfNull(z);
        if (z.Rank < 1 || z.Shape[-1] != LatentBits)
            throw new ArgumentException($"BinaryLatentModel: z {z.Shape} must end in the number of latent bits {LatentBits}.", nameof(z));
        return new Bernoulli(Decoder.Forward(z));
    }

    /// <summary>log p(x, z) for x [B, D] and z [..., B, d] (leading sample axes allowed): [..., B].</summary>
    public Tensor LogJoint(Tensor x, Tensor z)
    {
        CheckData(x);
        var px = Likelihood(z);
        return px.LogProb(x.Expand(px.Shape)).Add(LogPrior);
    }

    /// <summary>Completions first, ..., first + count - 1 as rows of bits [count, d]: bit j of n in column j.</summary>
    public Tensor Completions(long first, int count)
    {
        if (first < 0 || count < 0 || first + count > CompletionCount)
            throw new ArgumentOutOfRangeException(nameof(first), $"Completions [{first}, {first + count}) are out of range for {CompletionCount} completions of {LatentBits} bits.");
        var bits = new double[(long)count * LatentBits];
        for (int i = 0; i < count; i++)
        {
            long n = first + i;
            for (int j = 0; j < LatentBits; j++) bits[(long)i * LatentBits + j] = (n >> j) & 1;
        }
        var t = Tensor.FromArray(bits, count, LatentBits);
        return DType == DType.Float64 ? t : t.To(DType);
    }

    /// <summary>
    /// log p(x, z) for every completion z of the chunk and every row of x, [count, B]: one decoder pass over the
    /// completions, then log p(x | z) = l . x - sum_j softplus(l_j) for all pairs as one matrix product.
    /// </summary>
    public Tensor LogJointOfCompletions(Tensor x, long first, int count)
    {
        CheckData(x);
        var logits = Decoder.Forward(Completions(first, count));   // [c, D]
        var cross = logits.Matmul(x.T());                          // [c, B]
        var normalizer = logits.Softplus().Sum(-1, keepDims: true); // [c, 1]
        return (cross - normalizer).Add(LogPrior);
    }

    internal void CheckData(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 2 || x.Shape[1] != ObservedSize)
            throw new ArgumentException($"BinaryLatentModel: x {x.Shape} must be a batch [B, {ObservedSize}].", nameof(x));
        if (x.DType != DType)
            throw new ArgumentException($"BinaryLatentModel: x is {x.DType}; the model is {DType}.", nameof(x));
    }

    internal void CheckEnumerable(int maxBits = MaxEnumerationBits)
    {
        if (LatentBits > maxBits)
            throw new ArgumentException($"Enumerating 2^{LatentBits} = {CompletionCount:N0} completions per data point is out of reach (the limit is {maxBits} bits); estimate log p(x) by importance sampling instead.");
    }
}
