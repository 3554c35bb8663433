using System.Numerics;

namespace Engine.Kernels.Cpu;

/// <summary>Parameter updates over flat buffers (Adam lives in <c>Fused.AdamUpdate</c>).</summary>
public static class Optimizers
{
    /// <summary>
    /// SGD with momentum and Nesterov, PyTorch's formulation (Sutskever et al. 2013):
    /// g' = g + wd p; buf = first ? g' : momentum buf + (1 - dampening) g'; step = nesterov ? g' + momentum buf : buf;
    /// p -= lr step. Without momentum (empty buffer) step = g'.
    /// </summary>
    public static void Sgd<T>(Span<T> p, ReadOnlySpan<T> g, Span<T> buf, T lr, T momentum, T dampening, T weightDecay, bool nesterov, bool firstStep)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (g.Length != p.Length) throw new ArgumentException($"Gradient length {g.Length} differs from parameter length {p.Length}.", nameof(g));
        bool useMomentum = !buf.IsEmpty;
        for (int i = 0; i < p.Length; i++)
        {
            T d = g[i] + weightDecay * p[i];
            if (useMomentum)
            {
                T b = firstStep ? d : momentum * buf[i] + (T.One - dampening) * d;
                buf[i] = b;
                d = nesterov ? d + momentum * b : b;
            }
            p[i] -= lr * d;
        }
    }
}
