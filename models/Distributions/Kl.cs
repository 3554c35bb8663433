namespace Engine.Models.Distributions;

/// <summary>
/// KL(p || q): closed forms looked up by the pair of distribution types (as torch.distributions.kl), and a
/// Monte-Carlo estimate for pairs without one.
/// </summary>
public static class Kl
{
    private static readonly Dictionary<(Type, Type), Func<Distribution, Distribution, Tensor>> s_rules = new();

    static Kl()
    {
        Register<Normal, Normal>(NormalNormal);
        Register<Bernoulli, Bernoulli>(BernoulliBernoulli);
        Register<Categorical, Categorical>(CategoricalCategorical);
    }

    /// <summary>Adds a closed form for a pair of types.</summary>
    public static void Register<TP, TQ>(Func<TP, TQ, Tensor> rule) where TP : Distribution where TQ : Distribution =>
        s_rules[(typeof(TP), typeof(TQ))] = (p, q) => rule((TP)p, (TQ)q);

    /// <summary>Whether a closed form is registered for the pair.</summary>
    public static bool HasClosedForm(Distribution p, Distribution q) => s_rules.ContainsKey((p.GetType(), q.GetType()));

    /// <summary>KL(p || q) per batch element, summed over the event axis, in closed form.</summary>
    public static Tensor Divergence(Distribution p, Distribution q)
    {
        ArgumentNullException.ThrowIfNull(p);
        ArgumentNullException.ThrowIfNull(q);
        if (!s_rules.TryGetValue((p.GetType(), q.GetType()), out var rule))
            throw new NotSupportedException($"No closed-form KL({p.GetType().Name} || {q.GetType().Name}); use Kl.MonteCarlo.");
        return rule(p, q);
    }

    /// <summary>
    /// E_p[log p(z) - log q(z)] over <paramref name="samples"/> draws of p (reparameterized when p allows it, so
    /// the estimate is differentiable), averaged per batch element.
    /// </summary>
    public static Tensor MonteCarlo(Distribution p, Distribution q, Generator gen, int samples)
    {
        ArgumentNullException.ThrowIfNull(p);
        ArgumentNullException.ThrowIfNull(q);
        if (samples <= 0) throw new ArgumentOutOfRangeException(nameof(samples), $"Need at least one sample; got {samples}.");
        var z = p.HasRSample ? p.RSample(gen, samples) : p.Sample(gen, samples);
        return (p.LogProb(z) - q.LogProb(z)).Mean(0);
    }

    // 0.5 sum [lv_q - lv_p + (exp(lv_p) + (mu_p - mu_q)^2) / exp(lv_q) - 1]
    private static Tensor NormalNormal(Normal p, Normal q)
    {
        var diff = p.Mean - q.Mean;
        var t = q.LogVariance - p.LogVariance + (p.LogVariance.Exp() + diff.Square()) * q.LogVariance.Neg().Exp();
        return t.Add(-1).Sum(-1).Mul(0.5);
    }

    // sum [p (log p - log q) + (1 - p) (log(1 - p) - log(1 - q))] with log p = logsigmoid(l), log(1 - p) = logsigmoid(-l)
    private static Tensor BernoulliBernoulli(Bernoulli p, Bernoulli q)
    {
        var pp = p.Probs;
        var a = pp * (p.Logits.LogSigmoid() - q.Logits.LogSigmoid());
        var b = (1.0 - pp) * (p.Logits.Neg().LogSigmoid() - q.Logits.Neg().LogSigmoid());
        return (a + b).Sum(-1);
    }

    private static Tensor CategoricalCategorical(Categorical p, Categorical q) => (p.Probs * (p.LogProbs - q.LogProbs)).Sum(-1);
}
