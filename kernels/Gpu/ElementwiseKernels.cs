using System.Numerics;
using Engine.Kernels.Rules;
using ILGPU;

namespace Engine.Kernels.Gpu;

/// <summary>
/// Elementwise device kernels on contiguous views, as grid-stride loops (any grid covers any length): fills, copies,
/// the unary rules of <see cref="Cpu.UnaryOp"/> and their backward, SGD. Per element they evaluate exactly the scalar
/// twins' expressions (the unary ones from <see cref="UnaryRules"/>, the table the scalar reference evaluates), so exact
/// operations agree with the CPU bit for bit and transcendental ones to the ulps of the two math libraries.
/// </summary>
public static class ElementwiseKernels
{
    /// <summary>y[i] = value.</summary>
    public static void Fill<T>(ArrayView<T> y, T value, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX) y[i] = value;
    }

    /// <summary>y[i] = x[i], or y[i] += x[i] when <paramref name="accumulate"/> is 1.</summary>
    public static void Copy<T>(ArrayView<T> x, ArrayView<T> y, int n, int accumulate) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
            y[i] = accumulate != 0 ? y[i] + x[i] : x[i];
    }

    /// <summary>y[i] = f(x[i]); y may be x. <paramref name="op"/> is a <see cref="Cpu.UnaryOp"/> the host has validated.</summary>
    public static void Unary<T>(ArrayView<T> x, ArrayView<T> y, int n, int op, T p0, T p1) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
            y[i] = UnaryRules.Value((Cpu.UnaryOp)op, x[i], p0, p1);
    }

    /// <summary>dx[i] = dx[i] + dy[i] f'(x[i]), f' read from x or y = f(x).</summary>
    public static void UnaryBackward<T>(ArrayView<T> x, ArrayView<T> y, ArrayView<T> dy, ArrayView<T> dx, int n, int op, T p0, T p1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
            dx[i] = UnaryRules.Backward((Cpu.UnaryOp)op, x[i], y[i], dy[i], dx[i], p0, p1);
    }

    /// <summary>
    /// SGD as <see cref="Reference.ReferenceElementwise.Sgd{T}"/>: d = g + wd p; with momentum (flag 1)
    /// b = first ? d : momentum b + (1 - dampening) d, d = nesterov ? d + momentum b : b; then p -= lr d.
    /// </summary>
    public static void Sgd<T>(ArrayView<T> p, ArrayView<T> g, ArrayView<T> buf, int n, SgdArgs<T> a) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
        {
            T d = g[i] + a.WeightDecay * p[i];
            if (a.UseMomentum != 0)
            {
                T b = a.FirstStep != 0 ? d : a.Momentum * buf[i] + a.OneMinusDampening * d;
                buf[i] = b;
                d = a.Nesterov != 0 ? d + a.Momentum * b : b;
            }
            p[i] -= a.LearningRate * d;
        }
    }
}

/// <summary>Scalars of one SGD step (flags as 0/1 ints: kernel parameters stay plain data on every backend).</summary>
public struct SgdArgs<T> where T : unmanaged
{
    public T LearningRate, Momentum, OneMinusDampening, WeightDecay;
    public int UseMomentum, Nesterov, FirstStep;
}
