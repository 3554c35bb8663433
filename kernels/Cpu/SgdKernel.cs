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
        else Simd.Update2(ref MemoryMarshal.GetReference(p), ref MemoryMarshal.GetReference(g), ref MemoryMarshal.GetReference(buf), p.Length, op, Simd.Current);
    }

    /// <summary>p - lr (g + wd p).</summary>
    private readonly struct SgdPlainOp<T>(T lr, T wd) : IMap2<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public Vector512<T> Invoke(Vector512<T> g, Vector512<T> p) => p - Vector512.Create(lr) * (g + Vector512.Create(wd) * p);
        public Vector256<T> Invoke(Vector256<T> g, Vector256<T> p) => p - Vector256.Create(lr) * (g + Vector256.Create(wd) * p);
    }

    /// <summary>buf and p updated from g (the momentum rule of <see cref="Apply{T}"/>).</summary>
    private readonly struct SgdOp<T>(T lr, T momentum, T oneMinusDampening, T wd, bool nesterov, bool first) : IUpdate2<T> where T : unmanaged, IFloatingPointIeee754<T>
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
