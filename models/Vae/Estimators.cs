using Engine.Autograd;
using Engine.Models.Distributions;

namespace Engine.Models.Vae;

/// <summary>The bound a model is trained on.</summary>
public enum Objective
{
    /// <summary>E_q[log p(x | z)] - KL(q || p) with the KL in closed form (Monte Carlo if none exists).</summary>
    Elbo,
    /// <summary>The ELBO as the mean of k log-weights: the KL estimated by Monte Carlo too.</summary>
    ElboMonteCarlo,
    /// <summary>The importance-weighted bound L_k = E[log (1/k) sum_i w_i] (Burda et al. 2016).</summary>
    ImportanceWeighted,
}

/// <summary>How the gradient of the objective is estimated.</summary>
public enum GradientEstimator
{
    /// <summary>Plain reparameterization gradients of the objective.</summary>
    Reparameterization,
    /// <summary>Sticking the landing (Roeder et al. 2017): the score term of log q is dropped (q's parameters detached in log q).</summary>
    StickingTheLanding,
    /// <summary>Doubly reparameterized gradients (Tucker et al. 2019) for the importance-weighted bound.</summary>
    DoublyReparameterized,
}

/// <summary>What to optimize: an objective, its number of samples k, and a gradient estimator.</summary>
public sealed record ObjectiveOptions(Objective Objective = Objective.Elbo, int Samples = 1, GradientEstimator Estimator = GradientEstimator.Reparameterization);

/// <summary>The log-weights of k samples from q for a batch, with their parts; every tensor is [k, B].</summary>
public sealed record LogWeights(Tensor LogW, Tensor LogLikelihood, Tensor LogPrior, Tensor LogPosterior, Tensor Z);

/// <summary>
/// The lecture's estimators, all computed from one set of log-weights log w = log p(x, z) - log q(z | x),
/// z ~ q(z | x) (as Pyro and google-research's dreg_estimators do): the ELBO, the importance-weighted bound,
/// their gradient surrogates, and log p(x) by importance sampling or naive Monte Carlo. Values are per data point, in nats.
/// </summary>
public static class Estimators
{
    /// <summary>
    /// log w_i = log p(x | z_i) + log p(z_i) - log q(z_i | x) for k reparameterized draws z_i ~ q(z | x).
    /// With <paramref name="detachPosterior"/> log q is evaluated with q's parameters cut from the graph
    /// (gradients reach phi only through z); with <paramref name="detachLatents"/> z itself is cut.
    /// </summary>
    public static LogWeights ComputeLogWeights(ILatentVariableModel model, Tensor x, Distribution q, int k, Generator gen,
        bool detachPosterior = false, Tensor? latents = null, bool detachLatents = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(x);
        if (k <= 0) throw new ArgumentOutOfRangeException(nameof(k), $"The number of samples k must be positive; got {k}.");
        var z = latents ?? q.RSample(gen, k);                        // [k, B, L]
        if (detachLatents) z = z.Detach();
        var px = model.Likelihood(z);
        var logPxz = ObservedLogProb(px, x);                          // [k, B]
        var logPz = model.Prior(x.Shape[0], x.DType).LogProb(z);      // [k, B]
        var logQz = (detachPosterior ? q.Detached() : q).LogProb(z);  // [k, B]
        return new LogWeights(logPxz + logPz - logQz, logPxz, logPz, logQz, z);
    }

    /// <summary>ELBO per data point: the mean over k draws of log p(x | z), minus the closed-form KL(q || p).</summary>
    public static Tensor Elbo(ILatentVariableModel model, Tensor x, Generator gen, int k = 1)
    {
        var q = model.Posterior(x);
        var prior = model.Prior(x.Shape[0], x.DType);
        if (!Kl.HasClosedForm(q, prior)) return ElboMonteCarlo(model, x, gen, k, q);
        var z = q.RSample(gen, k);
        var px = model.Likelihood(z);
        return ObservedLogProb(px, x).Mean(0) - Kl.Divergence(q, prior);
    }

    /// <summary>ELBO per data point as the mean of k log-weights (the KL by Monte Carlo).</summary>
    public static Tensor ElboMonteCarlo(ILatentVariableModel model, Tensor x, Generator gen, int k = 1, Distribution? q = null)
    {
        q ??= model.Posterior(x);
        return ComputeLogWeights(model, x, q, k, gen).LogW.Mean(0);
    }

    /// <summary>L_k = log (1/k) sum_i w_i per data point (Burda et al. 2016); L_1 is the ELBO.</summary>
    public static Tensor ImportanceWeightedBound(ILatentVariableModel model, Tensor x, Generator gen, int k)
    {
        var q = model.Posterior(x);
        return ComputeLogWeights(model, x, q, k, gen).LogW.LogSumExp(0).Add(-Math.Log(k));
    }

    /// <summary>
    /// A scalar loss whose gradient is the chosen estimator of the gradient of -(mean objective), and the
    /// objective's value per data point (for reporting). DReG applies to the importance-weighted bound; for the
    /// ELBO its weights are uniform and it coincides with STL.
    /// </summary>
    public static (Tensor Loss, Tensor Bound) Loss(ILatentVariableModel model, Tensor x, Generator gen, ObjectiveOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        int k = options.Samples;
        if (k <= 0) throw new ArgumentOutOfRangeException(nameof(options), $"The number of samples must be positive; got {k}.");
        int batch = x.Shape[0];
        var est = options.Estimator;
        if (options.Objective == Objective.Elbo && est == GradientEstimator.Reparameterization)
        {
            var elbo = Elbo(model, x, gen, k);
            return (elbo.Mean().Neg(), elbo);
        }
        var q = model.Posterior(x);
        bool iw = options.Objective == Objective.ImportanceWeighted;
        if (est == GradientEstimator.DoublyReparameterized && iw)
        {
            // Tucker et al. (2019), eq. 6: grad_phi L_k = E[sum_i w~_i^2 dlog w_i/dz_i dz_i/dphi]; the decoder keeps the
            // IWAE gradient sum_i w~_i grad_theta log w_i. One surrogate gives both: log w with z attached weighs w~^2,
            // log w with z detached weighs w~ - w~^2 (it carries theta's gradient only), q's parameters detached in both.
            var lw = ComputeLogWeights(model, x, q, k, gen, detachPosterior: true);
            Tensor wNorm, wSq;
            using (GradMode.NoGrad())
            {
                wNorm = lw.LogW.Detach().Softmax(0);
                wSq = wNorm.Square();
            }
            var lwFixedZ = ComputeLogWeights(model, x, q, k, gen, detachPosterior: true, latents: lw.Z, detachLatents: true);
            var surrogate = (wSq * lw.LogW + (wNorm - wSq) * lwFixedZ.LogW).Sum(0);
            var bound = lw.LogW.Detach().LogSumExp(0).Add(-Math.Log(k));
            return (surrogate.Sum().Mul(-1.0 / batch), bound);
        }
        bool stl = est != GradientEstimator.Reparameterization;
        var w = ComputeLogWeights(model, x, q, k, gen, detachPosterior: stl);
        var value = iw ? w.LogW.LogSumExp(0).Add(-Math.Log(k)) : w.LogW.Mean(0);
        return (value.Mean().Neg(), value);
    }

    /// <summary>
    /// log p(x) per data point by importance sampling from q: log (1/k) sum_i p(x, z_i) / q(z_i | x), z_i ~ q
    /// (Burda et al. 2016's estimate, k = 5000 by default). Draws are taken in chunks whose memory stays under
    /// <paramref name="maxElements"/> elements whatever k is; chunks combine by a running logsumexp. The default (2M
    /// elements, chunks of a few MB) measured a few percent faster than larger chunks here: the decoder's output stays
    /// in cache between the GEMM that writes it and the row sums that read it.
    /// </summary>
    public static double[] LogLikelihood(ILatentVariableModel model, Tensor x, Generator gen, int k = 5000, long maxElements = 1 << 21)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(x);
        using var _ = GradMode.NoGrad();
        // q(z | x) is computed once for all chunks: its tensors are kept out of the chunks' scopes and released after.
        using var outer = TensorScope.Begin();
        var q = model.Posterior(x);
        return ChunkedLogMeanExp(x, k, maxElements, model, (chunk, scopeX) => ComputeLogWeights(model, scopeX, q, chunk, gen).LogW);
    }

    /// <summary>
    /// log p(x | z) for k draws: a Bernoulli reads the [B, D] batch in place under its [k, B, D] logits (no k-fold
    /// copy of x); other observation models get x expanded to their shape.
    /// </summary>
    private static Tensor ObservedLogProb(Distribution px, Tensor x) => px is Bernoulli ? px.LogProb(x) : px.LogProb(x.Expand(px.Shape));

    /// <summary>
    /// log p(x) per data point by naive Monte Carlo: log (1/k) sum_i p(x | z_i) with z_i from the prior. Unbiased
    /// in p(x) but with a variance that explodes with the dimension: almost every draw explains x badly, which is
    /// why the lecture turns to importance sampling.
    /// </summary>
    public static double[] NaiveMonteCarlo(ILatentVariableModel model, Tensor x, Generator gen, int k, long maxElements = 1 << 21)
    {
        using var _ = GradMode.NoGrad();
        return ChunkedLogMeanExp(x, k, maxElements, model, (chunk, scopeX) =>
        {
            var z = model.Prior(scopeX.Shape[0], scopeX.DType).Sample(gen, chunk);
            var px = model.Likelihood(z);
            return ObservedLogProb(px, scopeX);
        });
    }

    // log (1/k) sum_i exp(a_i) over k terms produced in chunks of [c, B] by `terms`, each chunk in its own scope.
    private static double[] ChunkedLogMeanExp(Tensor x, int k, long maxElements, ILatentVariableModel model, Func<int, Tensor, Tensor> terms)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (k <= 0) throw new ArgumentOutOfRangeException(nameof(k), $"The number of samples k must be positive; got {k}.");
        if (x.Rank != 2) throw new ArgumentException($"Expected a batch [B, D]; got {x.Shape}.", nameof(x));
        int batch = x.Shape[0];
        long perSample = (long)batch * Math.Max(x.Shape[1], model.LatentSize) * 4; // the widest tensors of one draw, with slack
        int chunk = (int)Math.Clamp(maxElements / Math.Max(perSample, 1), 1, k);
        var total = new double[batch];
        Array.Fill(total, double.NegativeInfinity);
        for (int done = 0; done < k; done += chunk)
        {
            int c = Math.Min(chunk, k - done);
            using var scope = TensorScope.Begin();
            var lse = terms(c, x).LogSumExp(0).ToDoubleArray();
            for (int b = 0; b < batch; b++) total[b] = LogAddExp(total[b], lse[b]);
        }
        double logK = Math.Log(k);
        for (int b = 0; b < batch; b++) total[b] -= logK;
        return total;
    }

    private static double LogAddExp(double a, double b)
    {
        if (double.IsNegativeInfinity(a)) return b;
        if (double.IsNegativeInfinity(b)) return a;
        double m = Math.Max(a, b);
        return m + Math.Log(Math.Exp(a - m) + Math.Exp(b - m));
    }
}
