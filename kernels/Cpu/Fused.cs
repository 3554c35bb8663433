using System.Numerics;
using Engine.Kernels.Reference;

namespace Engine.Kernels.Cpu;

/// <summary>
/// Fused kernels of a variational autoencoder's training step (Kingma and Welling, "Auto-Encoding Variational
/// Bayes", ICLR 2014): the row sums of the reconstruction losses and the Adam step, each in one pass over memory
/// where it would otherwise be two to four elementwise passes with temporaries. All matrices are row-major and
/// contiguous, [rows, cols].
/// </summary>
/// <remarks>
/// <para>Every kernel has a plain scalar twin with the same signature in
/// <see cref="ReferenceFused"/>; that twin is both the test oracle and the fallback on hardware without AVX2.
/// The vector paths (AVX-512, else AVX2) evaluate the same terms with <see cref="VectorMath"/>'s exp and log
/// (&lt;= 1 ulp each), so row sums agree with the twin to the usual O(cols eps) of a different summation order.
/// Adam uses no transcendental function and matches its twin exactly.</para>
/// <para>Aliasing: the row-sum outputs must be disjoint from the inputs, and Adam's param, m and v (updated in
/// place) from each other and from grad; an overlap is rejected with an <see cref="ArgumentException"/>, as is
/// any length that does not match the shape. NaN inputs give NaN outputs wherever the formula involves them (the
/// twin documents the few exceptions, which both sides share).</para>
/// </remarks>
public static partial class Fused
{
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

    // ------------------------------------------------------------------ generic cores

    private static void BceCore<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> outRows, int rows, int cols)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        FusedChecks.RowLoss(outRows, rows, cols, logits, nameof(logits), targets, nameof(targets));
        var level = Simd.Current;
        if (level == Simd.Level.Scalar)
        {
            ReferenceFused.BceWithLogitsRowSum(logits, targets, outRows, rows, cols);
            return;
        }
        // An exp per element (and a log per block of them): large batches (the k-sample likelihood of an evaluation) split their rows
        // over the worker threads; each row is summed by one thread in one order, so the result does not change.
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

    private readonly unsafe struct BceRowsBody<T>(T* logits, T* targets, T* outRows, int cols, Simd.Level level) : IRangeBody
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
        var level = Simd.Current;
        if (level == Simd.Level.Scalar) ReferenceFused.GaussianLogDensityRows(x, mu, logvar, outRows, rows, cols);
        else FusedLoops.SumRows3(x, mu, logvar, outRows, rows, cols, T.CreateTruncating(-0.5), new GaussTermOp<T>(T.CreateTruncating(ReferenceFused.Log2Pi)), level);
    }
}
