using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Engine.Kernels.Reference;

namespace Engine.Kernels.Cpu;

public static partial class Fused
{
    /// <summary>
    /// One Adam step over a flat parameter buffer (Kingma and Ba, "Adam: a method for stochastic optimization",
    /// ICLR 2015), with weight decay either coupled (L2: g += wd p before the moments) or decoupled (AdamW:
    /// Loshchilov and Hutter, "Decoupled weight decay regularization", ICLR 2019).
    /// </summary>
    /// <remarks>
    /// Per element, with t = <paramref name="step"/> (&gt;= 1):
    /// <code>
    /// g = grad (+ wd * p when !decoupled)
    /// m = b1 * m + (1 - b1) * g
    /// v = b2 * v + (1 - b2) * (g * g)
    /// p = p * decay - stepSize * m / (sqrt(v) * invSqrtBc2 + eps)
    /// </code>
    /// where stepSize = lr / (1 - b1^t), invSqrtBc2 = 1 / sqrt(1 - b2^t) and decay = 1 - lr * wd (decoupled) or 1,
    /// all computed once per call in the element type. This is exactly
    /// p -= lr * m_hat / (sqrt(v_hat) + eps) + lr * wd * p with m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t)
    /// (eps added to sqrt(v_hat), as in the paper and in PyTorch), rearranged so that the two divisions by the
    /// bias corrections are hoisted out of the loop. Every operation is an IEEE-exact single rounding (no FMA), so
    /// the vector paths and <see cref="ReferenceFused"/> agree bit for bit.
    /// param, m and v are updated in place and must be pairwise disjoint and disjoint from grad.
    /// </remarks>
    public static void AdamUpdate(Span<float> param, ReadOnlySpan<float> grad, Span<float> m, Span<float> v,
        float lr, float beta1, float beta2, float eps, float weightDecay, bool decoupled, int step)
        => AdamCore(param, grad, m, v, lr, beta1, beta2, eps, weightDecay, decoupled, step);

    /// <inheritdoc cref="AdamUpdate(Span{float}, ReadOnlySpan{float}, Span{float}, Span{float}, float, float, float, float, float, bool, int)"/>
    public static void AdamUpdate(Span<double> param, ReadOnlySpan<double> grad, Span<double> m, Span<double> v,
        double lr, double beta1, double beta2, double eps, double weightDecay, bool decoupled, int step)
        => AdamCore(param, grad, m, v, lr, beta1, beta2, eps, weightDecay, decoupled, step);

    private static void AdamCore<T>(Span<T> param, ReadOnlySpan<T> grad, Span<T> m, Span<T> v,
        T lr, T beta1, T beta2, T eps, T weightDecay, bool decoupled, int step) where T : unmanaged, IFloatingPointIeee754<T>
    {
        FusedChecks.Adam<T>(param, grad, m, v, step);
        var level = Simd.Current;
        if (level == Simd.Level.Scalar)
        {
            ReferenceFused.AdamUpdate(param, grad, m, v, lr, beta1, beta2, eps, weightDecay, decoupled, step);
            return;
        }
        T t = T.CreateTruncating(step);
        T stepSize = lr / (T.One - T.Pow(beta1, t));
        T invSqrtBc2 = T.One / T.Sqrt(T.One - T.Pow(beta2, t));
        T decay = decoupled ? T.One - lr * weightDecay : T.One;
        var op = new AdamOp<T>(beta1, beta2, eps, decoupled ? T.Zero : weightDecay, !decoupled, stepSize, invSqrtBc2, decay);

        // Seven streams of memory per element and little arithmetic: large tensors split over the worker threads (two
        // cores draw more bandwidth than one). Elementwise, so the split changes no bit.
        int n = param.Length;
        if (n >= 2 * MinAdamPerPart && ParallelParts.Threads > 1)
        {
            unsafe
            {
                fixed (T* pp = param, gp = grad, mp = m, vp = v)
                {
                    ParallelRange.Run(new AdamBody<T>(pp, gp, mp, vp, op, level), n, 64, MinAdamPerPart);
                }
            }
            return;
        }
        Simd.Update3(ref MemoryMarshal.GetReference(param), ref MemoryMarshal.GetReference(grad), ref MemoryMarshal.GetReference(m),
            ref MemoryMarshal.GetReference(v), n, op, level);
    }

    /// <summary>Fewest parameters per thread for the Adam update to be split (about 10 microseconds of memory traffic).</summary>
    private const int MinAdamPerPart = 32768;

    private readonly unsafe struct AdamBody<T>(T* param, T* grad, T* m, T* v, AdamOp<T> op, Simd.Level level) : IRangeBody
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public void Execute(int start, int end)
            => Simd.Update3(ref *(param + start), ref *(grad + start), ref *(m + start), ref *(v + start), end - start, op, level);
    }

    /// <summary>The per-element Adam rule of <see cref="AdamUpdate(Span{float}, ReadOnlySpan{float}, Span{float}, Span{float}, float, float, float, float, float, bool, int)"/> at both widths.</summary>
    private readonly struct AdamOp<T>(T beta1, T beta2, T eps, T l2, bool coupled, T stepSize, T invSqrtBc2, T decay) : IUpdate3<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly T _b1 = beta1, _omb1 = T.One - beta1, _b2 = beta2, _omb2 = T.One - beta2, _eps = eps, _l2 = l2;
        private readonly bool _coupled = coupled;
        private readonly T _stepSize = stepSize, _invSqrtBc2 = invSqrtBc2, _decay = decay;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Invoke(ref Vector512<T> p, Vector512<T> g, ref Vector512<T> m, ref Vector512<T> v)
        {
            if (_coupled) g += Vector512.Create(_l2) * p;
            m = Vector512.Create(_b1) * m + Vector512.Create(_omb1) * g;
            v = Vector512.Create(_b2) * v + Vector512.Create(_omb2) * (g * g);
            var denom = Vector512.Sqrt(v) * Vector512.Create(_invSqrtBc2) + Vector512.Create(_eps);
            p = p * Vector512.Create(_decay) - Vector512.Create(_stepSize) * m / denom;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Invoke(ref Vector256<T> p, Vector256<T> g, ref Vector256<T> m, ref Vector256<T> v)
        {
            if (_coupled) g += Vector256.Create(_l2) * p;
            m = Vector256.Create(_b1) * m + Vector256.Create(_omb1) * g;
            v = Vector256.Create(_b2) * v + Vector256.Create(_omb2) * (g * g);
            var denom = Vector256.Sqrt(v) * Vector256.Create(_invSqrtBc2) + Vector256.Create(_eps);
            p = p * Vector256.Create(_decay) - Vector256.Create(_stepSize) * m / denom;
        }
    }
}
