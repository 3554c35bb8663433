using Engine.Autograd;
using Engine.Models.Distributions;

namespace Engine.Models.Inference;

/// <summary>
/// log p(x) = log sum_z p(x, z) for a <see cref="BinaryLatentModel"/>, four ways: exactly by enumerating all 2^d
/// completions in batches; by naive Monte Carlo with z uniform over the completions, p(x) = 2^d E_uniform[p(x, z)],
/// whose variance explodes because almost every completion explains x badly; by importance sampling from a
/// factorized Bernoulli q(z; phi) (or any q over binary vectors); and the ELBO E_q[log p(x, z) - log q(z)], which the
/// importance-sampled estimate tightens. Values per data point, in nats; Monte Carlo draws go in bounded-memory chunks.
/// </summary>
public static class BinaryLatentEstimators
{
    private const long MaxElements = 1 << 22;

    /// <summary>The exact log p(x) per row of x [B, D], enumerating the completions <paramref name="chunk"/> at a time.</summary>
    public static double[] ExactLogLikelihood(BinaryLatentModel model, Tensor x, int chunk = 4096)
    {
        ArgumentNullException.ThrowIfNull(model);
        model.CheckData(x);
        model.CheckEnumerable();
        if (chunk <= 0) throw new ArgumentOutOfRangeException(nameof(chunk), $"The chunk must be positive; got {chunk}.");
        using var _ = GradMode.NoGrad();
        return LogSpace.ChunkedLogSumExp(x.Shape[0], model.CompletionCount, chunk, (first, c) => model.LogJointOfCompletions(x, first, c));
    }

    /// <summary>
    /// log p(x) by naive Monte Carlo: log (2^d / k) sum_i p(x, z_i) with z_i uniform over all completions. Unbiased in
    /// p(x), but a handful of completions carry all of the sum.
    /// </summary>
    public static double[] NaiveMonteCarlo(BinaryLatentModel model, Tensor x, Generator gen, int k)
    {
        ArgumentNullException.ThrowIfNull(model);
        return ImportanceSampling(model, x, model.Prior(x.Shape[0]), gen, k);
    }

    /// <summary>log p(x) by importance sampling: log (1/k) sum_i p(x, z_i) / q(z_i), z_i ~ q, q over [B, d].</summary>
    public static double[] ImportanceSampling(BinaryLatentModel model, Tensor x, Distribution q, Generator gen, int k)
    {
        CheckArguments(model, x, q, k);
        using var _ = GradMode.NoGrad();
        int chunk = LogSpace.ChunkFor(x.Shape[0], Math.Max(model.ObservedSize, model.LatentBits), k, MaxElements);
        var lse = LogSpace.ChunkedLogSumExp(x.Shape[0], k, chunk, (_, c) => LogWeights(model, x, q, gen, c));
        return lse.Select(v => v - Math.Log(k)).ToArray();
    }

    /// <summary>log w_i = log p(x, z_i) - log q(z_i) for <paramref name="k"/> draws z_i ~ q: [k, B].</summary>
    public static Tensor LogWeights(BinaryLatentModel model, Tensor x, Distribution q, Generator gen, int k)
    {
        CheckArguments(model, x, q, k);
        var z = Draw(q, gen, k);
        return model.LogJoint(x, z) - q.LogProb(z);
    }

    /// <summary>The ELBO E_q[log p(x, z) - log q(z)] per row, by Monte Carlo over <paramref name="k"/> draws.</summary>
    public static double[] Elbo(BinaryLatentModel model, Tensor x, Distribution q, Generator gen, int k)
    {
        CheckArguments(model, x, q, k);
        using var _ = GradMode.NoGrad();
        int chunk = LogSpace.ChunkFor(x.Shape[0], Math.Max(model.ObservedSize, model.LatentBits), k, MaxElements);
        var sum = new double[x.Shape[0]];
        for (int done = 0; done < k; done += chunk)
        {
            int c = Math.Min(chunk, k - done);
            using var scope = TensorScope.Begin();
            var s = LogWeights(model, x, q, gen, c).Sum(0).ToDoubleArray();
            for (int b = 0; b < sum.Length; b++) sum[b] += s[b];
        }
        return sum.Select(v => v / k).ToArray();
    }

    /// <summary>
    /// The ELBO of the factorized q(z) = prod_j Bernoulli(sigmoid(phi_j)) computed exactly, sum_z q(z) [log p(x, z) -
    /// log q(z)] over every completion, per row [B]; differentiable in <paramref name="logits"/> phi [B, d] (the
    /// model's parameters get no gradient).
    /// </summary>
    public static Tensor ExactElbo(BinaryLatentModel model, Tensor x, Tensor logits, int chunk = 4096)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(logits);
        model.CheckData(x);
        model.CheckEnumerable();
        if (logits.Shape != new Shape(x.Shape[0], model.LatentBits))
            throw new ArgumentException($"ExactElbo: logits {logits.Shape} must be [{x.Shape[0]}, {model.LatentBits}].", nameof(logits));
        var logOn = logits.LogSigmoid().T();          // [d, B]: log q(z_j = 1)
        var logOff = logits.Neg().LogSigmoid().T();   // [d, B]: log q(z_j = 0)
        Tensor? total = null;
        for (long first = 0; first < model.CompletionCount; first += chunk)
        {
            int c = (int)Math.Min(chunk, model.CompletionCount - first);
            Tensor logP, z;
            using (GradMode.NoGrad())
            {
                logP = model.LogJointOfCompletions(x, first, c);   // [c, B], constant in phi
                z = model.Completions(first, c);
            }
            var logQ = z.Matmul(logOn) + (1.0 - z).Matmul(logOff); // [c, B]
            var part = (logQ.Exp() * (logP - logQ)).Sum(0);
            total = total is null ? part : total + part;
        }
        return total!;
    }

    // k draws along a new leading axis: one call for a factorized Bernoulli (its logits broadcast over the draws).
    internal static Tensor Draw(Distribution q, Generator gen, int k) =>
        q is Bernoulli b ? new Bernoulli(b.Logits.Expand(b.Shape.Insert(0, k))).Sample(gen) : q.Sample(gen, k);

    private static void CheckArguments(BinaryLatentModel model, Tensor x, Distribution q, int k)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(q);
        model.CheckData(x);
        if (k <= 0) throw new ArgumentOutOfRangeException(nameof(k), $"The number of samples k must be positive; got {k}.");
        if (q.Shape != new Shape(x.Shape[0], model.LatentBits))
            throw new ArgumentException($"q is a distribution over {q.Shape}; it must be over [{x.Shape[0]}, {model.LatentBits}].", nameof(q));
    }
}
