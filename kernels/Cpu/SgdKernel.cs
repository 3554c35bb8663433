using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Engine.Kernels.Reference;

namespace Engine.Kernels.Cpu;

/// <summary>The SGD parameter update over flat buffers (Adam lives in <c>Fused.AdamUpdate</c>).</summary>
public static class SgdKernel
{
    /// <summary>
    /// SGD with momentum and Nesterov, PyTorch's formulation (Sutskever et al. 2013):
    /// g' = g + wd p; buf = first ? g' : momentum buf + (1 - dampening) g'; step = nesterov ? g' + momentum buf : buf;
    /// p -= lr step. Without momentum (empty buffer) step = g'. Vectorised with the scalar twin's
    /// (<see cref="ReferenceElementwise.Sgd{T}"/>) operations in its order, so the results are identical.
    /// </summary>
    public static void Apply<T>(Span<T> p, ReadOnlySpan<T> g, Span<T> buf, T lr, T momentum, T dampening, T weightDecay, bool nesterov, bool firstStep)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (g.Length != p.Length) throw new ArgumentException($"Gradient length {g.Length} differs from parameter length {p.Length}.", nameof(g));
        bool useMomentum = !buf.IsEmpty;
        if (useMomentum && buf.Length < p.Length)
            throw new ArgumentException($"Momentum buffer holds {buf.Length} elements; the parameter has {p.Length}.", nameof(buf));
        if (!Simd.Vectorized)
        {
            ReferenceElementwise.Sgd(p, g, buf, lr, momentum, dampening, weightDecay, nesterov, firstStep);
            return;
        }
        var op = new SgdOp<T>(lr, momentum, T.One - dampening, weightDecay, nesterov, firstStep);
        if (!useMomentum) Simd.Map2(g, p, p, new SgdPlainOp<T>(lr, weightDecay));
        else SgdMomentum(p, g, buf.Slice(0, p.Length), op);
    }

    // p and buf are both updated: a two-output loop (the Map drivers have one output).
    private static void SgdMomentum<T>(Span<T> p, ReadOnlySpan<T> g, Span<T> buf, SgdOp<T> op) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = p.Length, i = 0;
        ref T pr = ref MemoryMarshal.GetReference(p);
        ref T gr = ref MemoryMarshal.GetReference(g);
        ref T br = ref MemoryMarshal.GetReference(buf);
        if (Simd.Current == Simd.Level.V512)
        {
            int w = Vector512<T>.Count;
            for (; i <= n - w; i += w)
            {
                var pv = Vector512.LoadUnsafe(ref pr, (nuint)i);
                var bv = Vector512.LoadUnsafe(ref br, (nuint)i);
                op.Invoke(ref pv, Vector512.LoadUnsafe(ref gr, (nuint)i), ref bv);
                pv.StoreUnsafe(ref pr, (nuint)i);
                bv.StoreUnsafe(ref br, (nuint)i);
            }
            if (i < n)
            {
                int r = n - i;
                var pv = Simd.Load512(ref Unsafe.Add(ref pr, i), r);
                var bv = Simd.Load512(ref Unsafe.Add(ref br, i), r);
                op.Invoke(ref pv, Simd.Load512(ref Unsafe.Add(ref gr, i), r), ref bv);
                Simd.Store512(pv, ref Unsafe.Add(ref pr, i), r);
                Simd.Store512(bv, ref Unsafe.Add(ref br, i), r);
            }
        }
        else
        {
            int w = Vector256<T>.Count;
            for (; i <= n - w; i += w)
            {
                var pv = Vector256.LoadUnsafe(ref pr, (nuint)i);
                var bv = Vector256.LoadUnsafe(ref br, (nuint)i);
                op.Invoke(ref pv, Vector256.LoadUnsafe(ref gr, (nuint)i), ref bv);
                pv.StoreUnsafe(ref pr, (nuint)i);
                bv.StoreUnsafe(ref br, (nuint)i);
            }
            if (i < n)
            {
                int r = n - i;
                var pv = Simd.Load256(ref Unsafe.Add(ref pr, i), r);
                var bv = Simd.Load256(ref Unsafe.Add(ref br, i), r);
                op.Invoke(ref pv, Simd.Load256(ref Unsafe.Add(ref gr, i), r), ref bv);
                Simd.Store256(pv, ref Unsafe.Add(ref pr, i), r);
                Simd.Store256(bv, ref Unsafe.Add(ref br, i), r);
            }
        }
    }

    /// <summary>p - lr (g + wd p).</summary>
    private readonly struct SgdPlainOp<T>(T lr, T wd) : IMap2<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public Vector512<T> Invoke(Vector512<T> g, Vector512<T> p) => p - Vector512.Create(lr) * (g + Vector512.Create(wd) * p);
        public Vector256<T> Invoke(Vector256<T> g, Vector256<T> p) => p - Vector256.Create(lr) * (g + Vector256.Create(wd) * p);
    }

    private readonly struct SgdOp<T>(T lr, T momentum, T oneMinusDampening, T wd, bool nesterov, bool first) where T : unmanaged, IFloatingPointIeee754<T>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Invoke(ref Vector512<T> p, Vector512<T> g, ref Vector512<T> buf)
        {
            var mom = Vector512.Create(momentum);
            var d = g + Vector512.Create(wd) * p;
            var b = first ? d : mom * buf + Vector512.Create(oneMinusDampening) * d;
            buf = b;
            d = nesterov ? d + mom * b : b;
            p -= Vector512.Create(lr) * d;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Invoke(ref Vector256<T> p, Vector256<T> g, ref Vector256<T> buf)
        {
            var mom = Vector256.Create(momentum);
            var d = g + Vector256.Create(wd) * p;
            var b = first ? d : mom * buf + Vector256.Create(oneMinusDampening) * d;
            buf = b;
            d = nesterov ? d + mom * b : b;
            p -= Vector256.Create(lr) * d;
        }
    }
}
