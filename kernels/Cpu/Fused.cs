using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
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
        BceRows(logits, targets, outRows, rows, cols, level);
    }

    /// <summary>Fewest elements per thread for a row loss to be split (about 6 microseconds of work).</summary>
    private const int MinRowLossPerPart = 16384;

    private readonly unsafe struct BceRowsBody<T>(T* logits, T* targets, T* outRows, int cols, Simd.Level level) : IRangeBody
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public void Execute(int start, int end)
        {
            int n = (end - start) * cols;
            BceRows(new ReadOnlySpan<T>(logits + (nint)start * cols, n), new ReadOnlySpan<T>(targets + (nint)start * cols, n),
                new Span<T>(outRows + start, end - start), end - start, cols, level);
        }
    }

    private static void GaussianCore<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> mu, ReadOnlySpan<T> logvar, Span<T> outRows, int rows, int cols)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        FusedChecks.RowLoss(outRows, rows, cols, x, nameof(x), mu, nameof(mu), logvar, nameof(logvar));
        if (!Simd.Vectorized)
        {
            ReferenceFused.GaussianLogDensityRows(x, mu, logvar, outRows, rows, cols);
            return;
        }
        // Each row is one vector sum (two accumulators, reduced at the end of the row), so the summation order differs
        // from the twin's left-to-right one by the usual O(cols eps) rounding.
        T scale = T.CreateTruncating(-0.5);
        var op = new GaussTermOp<T>(T.CreateTruncating(ReferenceFused.Log2Pi));
        for (int r = 0; r < rows; r++)
        {
            int o = r * cols;
            outRows[r] = scale * Simd.Sum3(x.Slice(o, cols), mu.Slice(o, cols), logvar.Slice(o, cols), op);
        }
    }

    /// <summary>Vectors per block of <see cref="BceRows{T}"/>: one log per lane per block.</summary>
    private const int BceBlock = 8;

    /// <summary>
    /// outRows[r] = sum_c [|l| w + ln(1 + e^-|l|)] (BCE with logits, w = t or 1 - t by the sign of l; see
    /// <see cref="Reference.ReferenceFused.BceTerm{T}"/>) with the logarithm taken once per lane per block of
    /// <see cref="BceBlock"/> vectors instead of once per element:
    /// sum ln(1 + y_c) = ln(1 + D) with D = prod(1 + y_c) - 1, accumulated as D &lt;- D + y + D y. Every term of that
    /// update is small when the y are small, so D keeps the relative accuracy of the y themselves (two roundings per
    /// step: a block's log is within about 2 * BceBlock ulps of its exact value, however tiny), and ln(1 + D) is
    /// Goldberg's log1p. Products stay below 2^BceBlock. This turns an exp and a log per element into an exp and a
    /// multiply-add, which more than doubles the throughput; the row sums are evaluated in a different order from the
    /// per-element definition (ReferenceFused), so they agree to rounding, not bit for bit.
    /// </summary>
    private static void BceRows<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> outRows, int rows, int cols, Simd.Level level)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T lr = ref MemoryMarshal.GetReference(logits);
        ref T tr = ref MemoryMarshal.GetReference(targets);
        if (level == Simd.Level.V512)
        {
            int width = Vector512<T>.Count;
            for (int r = 0; r < rows; r++)
            {
                nint o = (nint)r * cols;
                ref T lrow = ref Unsafe.Add(ref lr, o);
                ref T trow = ref Unsafe.Add(ref tr, o);
                Vector512<T> lin = Vector512<T>.Zero, logs = Vector512<T>.Zero, d = Vector512<T>.Zero;
                int c = 0, inBlock = 0;
                for (; c <= cols - width; c += width)
                {
                    var l = Vector512.LoadUnsafe(ref lrow, (nuint)c);
                    var t = Vector512.LoadUnsafe(ref trow, (nuint)c);
                    BceStep(l, t, ref lin, ref d);
                    if (++inBlock == BceBlock)
                    {
                        logs += VectorMath.Log1pNonNegative(d);
                        d = Vector512<T>.Zero;
                        inBlock = 0;
                    }
                }
                if (c < cols)
                {
                    int rem = cols - c;
                    var valid = Simd.Valid512<T>(rem);
                    // Padded lanes read l = 0: mask their y (which would be 1) and their linear term out.
                    var l = Simd.Load512(ref Unsafe.Add(ref lrow, c), rem);
                    var t = Simd.Load512(ref Unsafe.Add(ref trow, c), rem);
                    var a = Vector512.Abs(l);
                    var w = Vector512.ConditionalSelect(Vector512.GreaterThan(l, Vector512<T>.Zero), Vector512<T>.One - t, t);
                    lin += Vector512.ConditionalSelect(valid & ~Vector512.Equals(w, Vector512<T>.Zero), a * w, Vector512<T>.Zero);
                    var y = Vector512.ConditionalSelect(valid, VectorMath.Exp(-a), Vector512<T>.Zero);
                    d = GemmMath.Fma(d, y, d + y);
                }
                logs += VectorMath.Log1pNonNegative(d);
                outRows[r] = Vector512.Sum(lin + logs);
            }
        }
        else
        {
            int width = Vector256<T>.Count;
            for (int r = 0; r < rows; r++)
            {
                nint o = (nint)r * cols;
                ref T lrow = ref Unsafe.Add(ref lr, o);
                ref T trow = ref Unsafe.Add(ref tr, o);
                Vector256<T> lin = Vector256<T>.Zero, logs = Vector256<T>.Zero, d = Vector256<T>.Zero;
                int c = 0, inBlock = 0;
                for (; c <= cols - width; c += width)
                {
                    var l = Vector256.LoadUnsafe(ref lrow, (nuint)c);
                    var t = Vector256.LoadUnsafe(ref trow, (nuint)c);
                    BceStep(l, t, ref lin, ref d);
                    if (++inBlock == BceBlock)
                    {
                        logs += VectorMath.Log1pNonNegative(d);
                        d = Vector256<T>.Zero;
                        inBlock = 0;
                    }
                }
                if (c < cols)
                {
                    int rem = cols - c;
                    var valid = Simd.Valid256<T>(rem);
                    var l = Simd.Load256(ref Unsafe.Add(ref lrow, c), rem);
                    var t = Simd.Load256(ref Unsafe.Add(ref trow, c), rem);
                    var a = Vector256.Abs(l);
                    var w = Vector256.ConditionalSelect(Vector256.GreaterThan(l, Vector256<T>.Zero), Vector256<T>.One - t, t);
                    lin += Vector256.ConditionalSelect(valid & ~Vector256.Equals(w, Vector256<T>.Zero), a * w, Vector256<T>.Zero);
                    var y = Vector256.ConditionalSelect(valid, VectorMath.Exp(-a), Vector256<T>.Zero);
                    d = GemmMath.Fma(d, y, d + y);
                }
                logs += VectorMath.Log1pNonNegative(d);
                outRows[r] = Vector256.Sum(lin + logs);
            }
        }
    }

    /// <summary>One vector of <see cref="BceRows{T}"/>: lin += |l| w (0 where w is 0, so an infinite logit with a
    /// matching target costs nothing), D &lt;- D + y + D y with y = e^-|l|.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BceStep<T>(Vector512<T> l, Vector512<T> t, ref Vector512<T> lin, ref Vector512<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var a = Vector512.Abs(l);
        var w = Vector512.ConditionalSelect(Vector512.GreaterThan(l, Vector512<T>.Zero), Vector512<T>.One - t, t);
        lin += Vector512.ConditionalSelect(Vector512.Equals(w, Vector512<T>.Zero), Vector512<T>.Zero, a * w);
        var y = VectorMath.Exp(-a);
        d = GemmMath.Fma(d, y, d + y);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BceStep<T>(Vector256<T> l, Vector256<T> t, ref Vector256<T> lin, ref Vector256<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var a = Vector256.Abs(l);
        var w = Vector256.ConditionalSelect(Vector256.GreaterThan(l, Vector256<T>.Zero), Vector256<T>.One - t, t);
        lin += Vector256.ConditionalSelect(Vector256.Equals(w, Vector256<T>.Zero), Vector256<T>.Zero, a * w);
        var y = VectorMath.Exp(-a);
        d = GemmMath.Fma(d, y, d + y);
    }
}
