using System.Numerics;
using Engine.Kernels.Reference;

namespace Engine.Kernels.Cpu;

/// <summary>
/// Fused kernels of a variational autoencoder's forward and backward pass (Kingma and Welling, "Auto-Encoding
/// Variational Bayes", ICLR 2014): each does in one pass over memory what would otherwise be two to four
/// elementwise passes with temporaries. All matrices are row-major and contiguous, [rows, cols].
/// </summary>
/// <remarks>
/// <para>Every kernel has a plain scalar twin with the same signature in
/// <see cref="ReferenceFused"/>; that twin is both the test oracle and the fallback on hardware without AVX2.
/// The vector paths (AVX-512, else AVX2) evaluate the same expressions with <see cref="FusedMath"/>'s exp and log
/// (&lt;= 1 ulp each), so elementwise outputs agree with the twin to a few ulps, and row sums to the usual
/// O(cols eps) of a different summation order. Adam uses no transcendental function and matches its twin exactly.</para>
/// <para>Aliasing: an output may be the very same span as an input where a method says so (in-place use); a
/// partial overlap is rejected with an <see cref="ArgumentException"/>, as is any length that does not match
/// the shape. NaN inputs give NaN outputs wherever the formula involves them (the twin documents the few
/// exceptions, which both sides share).</para>
/// </remarks>
public static partial class Fused
{
    /// <summary>Elementwise activations of <see cref="BiasActivation(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int, Activation, float)"/>.</summary>
    public enum Activation
    {
        /// <summary>v.</summary>
        Identity,
        /// <summary>v &lt; 0 ? 0 : v.</summary>
        Relu,
        /// <summary>v &lt; 0 ? slope v : v.</summary>
        LeakyRelu,
        /// <summary>1 / (1 + e^-v), in a form that never overflows.</summary>
        Sigmoid,
        /// <summary>tanh v.</summary>
        Tanh,
        /// <summary>ln(1 + e^v), in a form that never overflows.</summary>
        Softplus,
    }

    // ------------------------------------------------------------------ bias + activation

    /// <summary>y[r, c] = act(x[r, c] + bias[c]). <paramref name="y"/> may be <paramref name="x"/> (in place);
    /// <paramref name="slope"/> is used by <see cref="Activation.LeakyRelu"/> only.</summary>
    public static void BiasActivation(ReadOnlySpan<float> x, ReadOnlySpan<float> bias, Span<float> y, int rows, int cols, Activation act, float slope)
        => BiasActivationCore(x, bias, y, rows, cols, act, slope);

    /// <inheritdoc cref="BiasActivation(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int, Activation, float)"/>
    public static void BiasActivation(ReadOnlySpan<double> x, ReadOnlySpan<double> bias, Span<double> y, int rows, int cols, Activation act, double slope)
        => BiasActivationCore(x, bias, y, rows, cols, act, slope);

    /// <summary>
    /// Backward of <see cref="BiasActivation(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int, Activation, float)"/>
    /// from its output y = act(pre): dPre[r, c] = dy[r, c] * act'(pre[r, c]) with act' written through y
    /// (relu: y &gt; 0 ? 1 : 0; leaky: y &gt; 0 ? 1 : slope, slope &gt;= 0; sigmoid: y(1 - y); tanh: (1 - y)(1 + y);
    /// softplus: 1 - e^-y), and dBias[c] += sum_r dPre[r, c] (accumulates, rows in order). dPre may be y or dy.
    /// </summary>
    public static void BiasActivationBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dPre, Span<float> dBias, int rows, int cols, Activation act, float slope)
        => BiasActivationBackwardCore(y, dy, dPre, dBias, rows, cols, act, slope);

    /// <inheritdoc cref="BiasActivationBackward(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, Span{float}, int, int, Activation, float)"/>
    public static void BiasActivationBackward(ReadOnlySpan<double> y, ReadOnlySpan<double> dy, Span<double> dPre, Span<double> dBias, int rows, int cols, Activation act, double slope)
        => BiasActivationBackwardCore(y, dy, dPre, dBias, rows, cols, act, slope);

    // ------------------------------------------------------------------ reparameterisation

    /// <summary>z = mu + e^(logvar / 2) * eps, elementwise (Kingma and Welling 2014, section 2.4). z may be any of the inputs.</summary>
    public static void Reparameterize(ReadOnlySpan<float> mu, ReadOnlySpan<float> logvar, ReadOnlySpan<float> eps, Span<float> z)
        => ReparameterizeCore(mu, logvar, eps, z);

    /// <inheritdoc cref="Reparameterize(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/>
    public static void Reparameterize(ReadOnlySpan<double> mu, ReadOnlySpan<double> logvar, ReadOnlySpan<double> eps, Span<double> z)
        => ReparameterizeCore(mu, logvar, eps, z);

    // ------------------------------------------------------------------ row losses

    /// <summary>
    /// outRows[r] = sum_c [max(l, 0) - l t + ln(1 + e^-|l|)], the negative Bernoulli log-likelihood of targets t
    /// under logits l. Finite wherever the true value is: l = +-1e30 or +-Inf with a target that makes the loss
    /// finite (t = 1 for +Inf, t = 0 for -Inf) gives the finite value, not NaN.
    /// </summary>
    public static void BceWithLogitsRowSum(ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, Span<float> outRows, int rows, int cols)
        => BceCore(logits, targets, outRows, rows, cols);

    /// <inheritdoc cref="BceWithLogitsRowSum(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int)"/>
    public static void BceWithLogitsRowSum(ReadOnlySpan<double> logits, ReadOnlySpan<double> targets, Span<double> outRows, int rows, int cols)
        => BceCore(logits, targets, outRows, rows, cols);

    /// <summary>outRows[r] = sum_c ln N(x | mu, e^logvar) = -1/2 sum_c [ln 2pi + logvar + (x - mu)^2 e^-logvar].</summary>
    public static void GaussianLogDensityRows(ReadOnlySpan<float> x, ReadOnlySpan<float> mu, ReadOnlySpan<float> logvar, Span<float> outRows, int rows, int cols)
        => GaussianCore(x, mu, logvar, outRows, rows, cols);

    /// <inheritdoc cref="GaussianLogDensityRows(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int)"/>
    public static void GaussianLogDensityRows(ReadOnlySpan<double> x, ReadOnlySpan<double> mu, ReadOnlySpan<double> logvar, Span<double> outRows, int rows, int cols)
        => GaussianCore(x, mu, logvar, outRows, rows, cols);

    /// <summary>outRows[r] = KL(N(mu, e^logvar) || N(0, I)) = 1/2 sum_c [e^logvar + mu^2 - 1 - logvar] (Kingma and Welling 2014, appendix B).</summary>
    public static void KlStandardNormalRows(ReadOnlySpan<float> mu, ReadOnlySpan<float> logvar, Span<float> outRows, int rows, int cols)
        => KlCore(mu, logvar, outRows, rows, cols);

    /// <inheritdoc cref="KlStandardNormalRows(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int)"/>
    public static void KlStandardNormalRows(ReadOnlySpan<double> mu, ReadOnlySpan<double> logvar, Span<double> outRows, int rows, int cols)
        => KlCore(mu, logvar, outRows, rows, cols);

    // ------------------------------------------------------------------ generic cores

    private static void BiasActivationCore<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> bias, Span<T> y, int rows, int cols, Activation act, T slope)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        FusedChecks.BiasActivation(x, bias, y, rows, cols, act);
        var level = FusedSimd.Current;
        if (level == FusedSimd.Level.Scalar)
        {
            ReferenceFused.BiasActivation(x, bias, y, rows, cols, act, slope);
            return;
        }
        switch (act)
        {
            case Activation.Identity: FusedLoops.MapRowsBroadcast(x, bias, y, rows, cols, new BiasIdentityOp<T>(), level); break;
            case Activation.Relu: FusedLoops.MapRowsBroadcast(x, bias, y, rows, cols, new BiasReluOp<T>(), level); break;
            case Activation.LeakyRelu: FusedLoops.MapRowsBroadcast(x, bias, y, rows, cols, new BiasLeakyReluOp<T>(slope), level); break;
            case Activation.Sigmoid: FusedLoops.MapRowsBroadcast(x, bias, y, rows, cols, new BiasSigmoidOp<T>(), level); break;
            case Activation.Tanh: FusedLoops.MapRowsBroadcast(x, bias, y, rows, cols, new BiasTanhOp<T>(), level); break;
            case Activation.Softplus: FusedLoops.MapRowsBroadcast(x, bias, y, rows, cols, new BiasSoftplusOp<T>(), level); break;
        }
    }

    private static void BiasActivationBackwardCore<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dPre, Span<T> dBias, int rows, int cols, Activation act, T slope)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        FusedChecks.BiasActivationBackward(y, dy, dPre, dBias, rows, cols, act, slope);
        var level = FusedSimd.Current;
        if (level == FusedSimd.Level.Scalar)
        {
            ReferenceFused.BiasActivationBackward(y, dy, dPre, dBias, rows, cols, act, slope);
            return;
        }
        switch (act)
        {
            case Activation.Identity: FusedLoops.BiasGradRows(y, dy, dPre, dBias, rows, cols, new GradIdentityOp<T>(), level); break;
            case Activation.Relu: FusedLoops.BiasGradRows(y, dy, dPre, dBias, rows, cols, new GradReluOp<T>(T.Zero), level); break;
            case Activation.LeakyRelu: FusedLoops.BiasGradRows(y, dy, dPre, dBias, rows, cols, new GradReluOp<T>(slope), level); break;
            case Activation.Sigmoid: FusedLoops.BiasGradRows(y, dy, dPre, dBias, rows, cols, new GradSigmoidOp<T>(), level); break;
            case Activation.Tanh: FusedLoops.BiasGradRows(y, dy, dPre, dBias, rows, cols, new GradTanhOp<T>(), level); break;
            case Activation.Softplus: FusedLoops.BiasGradRows(y, dy, dPre, dBias, rows, cols, new GradSoftplusOp<T>(), level); break;
        }
    }

    private static void ReparameterizeCore<T>(ReadOnlySpan<T> mu, ReadOnlySpan<T> logvar, ReadOnlySpan<T> eps, Span<T> z)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        FusedChecks.Reparameterize(mu, logvar, eps, z);
        var level = FusedSimd.Current;
        if (level == FusedSimd.Level.Scalar) ReferenceFused.Reparameterize(mu, logvar, eps, z);
        else FusedLoops.Map3(mu, logvar, eps, z, new ReparamOp<T>(), level);
    }

    private static void BceCore<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> outRows, int rows, int cols)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        FusedChecks.RowLoss(outRows, rows, cols, logits, nameof(logits), targets, nameof(targets));
        var level = FusedSimd.Current;
        if (level == FusedSimd.Level.Scalar)
        {
            ReferenceFused.BceWithLogitsRowSum(logits, targets, outRows, rows, cols);
            return;
        }
        // An exp per element (and a log per block of them): large batches (the k-sample likelihood of an evaluation) split their rows
        // over the GEMM threads; each row is summed by one thread in one order, so the result does not change.
        if ((long)rows * cols >= 2 * MinRowLossPerPart && rows >= 2 && ParallelParts.Threads > 1)
        {
            unsafe
            {
                fixed (T* l = logits, t = targets, o = outRows)
                {
                    ParallelRange.Run(new BceRowsBody<T>(l, t, o, cols, level), rows, 1, Math.Max(1, MinRowLossPerPart / Math.Max(cols, 1)));
                }
            }
            return;
        }
        FusedLoops.BceRows(logits, targets, outRows, rows, cols, level);
    }

    /// <summary>Fewest elements per thread for a row loss to be split (about 6 microseconds of work).</summary>
    private const int MinRowLossPerPart = 16384;

    private readonly unsafe struct BceRowsBody<T>(T* logits, T* targets, T* outRows, int cols, FusedSimd.Level level) : IRangeBody
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public void Execute(int start, int end)
        {
            int n = (end - start) * cols;
            FusedLoops.BceRows(new ReadOnlySpan<T>(logits + (nint)start * cols, n), new ReadOnlySpan<T>(targets + (nint)start * cols, n),
                new Span<T>(outRows + start, end - start), end - start, cols, level);
        }
    }

    private static void GaussianCore<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> mu, ReadOnlySpan<T> logvar, Span<T> outRows, int rows, int cols)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        FusedChecks.RowLoss(outRows, rows, cols, x, nameof(x), mu, nameof(mu), logvar, nameof(logvar));
        var level = FusedSimd.Current;
        if (level == FusedSimd.Level.Scalar) ReferenceFused.GaussianLogDensityRows(x, mu, logvar, outRows, rows, cols);
        else FusedLoops.SumRows3(x, mu, logvar, outRows, rows, cols, T.CreateTruncating(-0.5), new GaussTermOp<T>(T.CreateTruncating(ReferenceFused.Log2Pi)), level);
    }

    private static void KlCore<T>(ReadOnlySpan<T> mu, ReadOnlySpan<T> logvar, Span<T> outRows, int rows, int cols)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        FusedChecks.RowLoss(outRows, rows, cols, mu, nameof(mu), logvar, nameof(logvar));
        var level = FusedSimd.Current;
        if (level == FusedSimd.Level.Scalar) ReferenceFused.KlStandardNormalRows(mu, logvar, outRows, rows, cols);
        else FusedLoops.SumRows2(mu, logvar, outRows, rows, cols, T.CreateTruncating(0.5), new KlTermOp<T>(), level);
    }
}
