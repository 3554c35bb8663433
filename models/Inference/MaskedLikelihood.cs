using Engine.Models.Distributions;

namespace Engine.Models.Inference;

/// <summary>
/// p(x_obs | z): a decoder's factorized distribution with its log-density summed over the observed entries only.
/// The entries are independent given z, so summing p(x_mis | z) over the missing ones gives exactly 1: the
/// missing pixels are marginalized out in closed form, and log p(x_obs) = log E_q[p(x_obs | z) p(z) / q(z)].
/// <para>The restriction goes through the fused row ops with the missing entries zeroed in both the parameters and
/// the data, which turns each of their terms into a known constant that is added back: a Bernoulli entry with logit 0
/// and target 0 contributes -log 2, a Gaussian entry with mean 0, log-variance 0 and value 0 contributes
/// -log(2 pi) / 2. So the value is exact, and no gradient reaches a missing entry's parameters (the chain rule
/// multiplies it by the mask's 0).</para>
/// </summary>
public sealed class MaskedLikelihood : Distribution
{
    private const double Log2 = 0.69314718055994531;
    private const double HalfLog2Pi = 0.91893853320467274;

    /// <param name="full">The decoder's distribution over every entry: <see cref="Bernoulli"/> or <see cref="Normal"/>, shape [..., B, D].</param>
    /// <param name="mask">Which entries are observed; its rows match B (or it has one row).</param>
    public MaskedLikelihood(Distribution full, ObservationMask mask)
    {
        ArgumentNullException.ThrowIfNull(full);
        ArgumentNullException.ThrowIfNull(mask);
        if (full is not Bernoulli && full is not Normal)
            throw new NotSupportedException($"MaskedLikelihood restricts Bernoulli and Normal likelihoods; got {full.GetType().Name}.");
        var s = full.Shape;
        if (s[-1] != mask.Dimension || (mask.Rows != 1 && (s.Rank < 2 || s[-2] != mask.Rows)))
            throw new ArgumentException($"MaskedLikelihood: the likelihood's shape {s} does not end in the mask's [{mask.Rows}, {mask.Dimension}].", nameof(mask));
        Full = full;
        Mask = mask;
    }

    /// <summary>The distribution over every entry (observed and missing).</summary>
    public Distribution Full { get; }

    /// <summary>The observation mask.</summary>
    public ObservationMask Mask { get; }

    public override Shape Shape => Full.Shape;

    public override Distribution Detached() => new MaskedLikelihood(Full.Detached(), Mask);

    /// <summary>sum over observed j of log p(x_j | z), one value per row; x may carry extra leading sample axes.</summary>
    public override Tensor LogProb(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var m = MaskFor(x);
        switch (Full)
        {
            case Bernoulli b:
            {
                var logits = Align(b.Logits, x, "MaskedLikelihood.LogProb");
                // -BCE(l m, x m) = sum_obs [x l - softplus(l)] - n_mis log 2
                return Tensor.BceWithLogits(logits * m, x * m).Neg() + MissingCount(x) * Log2;
            }
            case Normal n:
            {
                var mu = Align(n.Mean, x, "MaskedLikelihood.LogProb");
                var lv = Align(n.LogVariance, x, "MaskedLikelihood.LogProb");
                // the zeroed entries contribute -0.5 log 2 pi each
                return Tensor.GaussianLogDensity(x * m, mu * m, lv * m) + MissingCount(x) * HalfLog2Pi;
            }
            default:
                throw new NotSupportedException($"MaskedLikelihood: no restriction rule for {Full.GetType().Name}.");
        }
    }

    /// <summary>A draw of every entry (the missing ones from p(x_mis | z), which is what filling in needs).</summary>
    public override Tensor Sample(Generator gen) => Full.Sample(gen);

    /// <summary>The entropy of the observed entries' distribution.</summary>
    public override Tensor Entropy()
    {
        switch (Full)
        {
            case Bernoulli b:
            {
                var m = MaskFor(b.Logits);
                return ((b.Logits.Softplus() - b.Probs * b.Logits) * m).Sum(-1);
            }
            case Normal n:
            {
                var m = MaskFor(n.LogVariance);
                return ((n.LogVariance + (2 * HalfLog2Pi + 1)) * m).Sum(-1).Mul(0.5);
            }
            default:
                throw new NotSupportedException($"MaskedLikelihood: no entropy rule for {Full.GetType().Name}.");
        }
    }

    private Tensor MaskFor(Tensor like) => Mask.Values.DType == like.DType ? Mask.Values : Mask.Values.To(like.DType);

    // n_mis per row, broadcast over leading sample axes by the addition.
    private Tensor MissingCount(Tensor like) => Mask.MissingCount.DType == like.DType ? Mask.MissingCount : Mask.MissingCount.To(like.DType);
}
