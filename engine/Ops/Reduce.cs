using Engine.Autograd;
using Engine.Kernels.Cpu;

namespace Engine;

// Reductions along axes and the softmax family, on the [outer, n, inner] kernels of Engine.Kernels.Cpu.Axis.
// Backward rules: sum passes dy to every element, mean dy / n, max to the first maximal element,
// logsumexp dy softmax(x); softmax dx = y (dy - sum dy y); log-softmax dx = dy - softmax(x) sum dy.
public sealed partial class Tensor
{
    /// <summary>Sum of all elements (a scalar).</summary>
    public Tensor Sum() => Ops.ReduceAll(this, ReduceOp.Sum);
    /// <summary>Sum along <paramref name="axis"/>.</summary>
    public Tensor Sum(int axis, bool keepDims = false) => Ops.Reduce(this, ReduceOp.Sum, axis, keepDims);
    /// <summary>Sum along several axes.</summary>
    public Tensor Sum(int[] axes, bool keepDims = false) => Ops.ReduceAxes(this, ReduceOp.Sum, axes, keepDims);
    /// <summary>Mean of all elements (a scalar).</summary>
    public Tensor Mean() => Ops.ReduceAll(this, ReduceOp.Mean);
    /// <summary>Mean along <paramref name="axis"/>.</summary>
    public Tensor Mean(int axis, bool keepDims = false) => Ops.Reduce(this, ReduceOp.Mean, axis, keepDims);
    /// <summary>Mean along several axes.</summary>
    public Tensor Mean(int[] axes, bool keepDims = false) => Ops.ReduceAxes(this, ReduceOp.Mean, axes, keepDims);
    /// <summary>Maximum of all elements (a scalar).</summary>
    public Tensor Max() => Ops.ReduceAll(this, ReduceOp.Max);
    /// <summary>Maximum along <paramref name="axis"/>; the gradient goes to the first maximal element.</summary>
    public Tensor Max(int axis, bool keepDims = false) => Ops.Reduce(this, ReduceOp.Max, axis, keepDims);
    /// <summary>log sum exp along <paramref name="axis"/>, shifted by the maximum so it neither overflows nor underflows.</summary>
    public Tensor LogSumExp(int axis, bool keepDims = false) => Ops.Reduce(this, ReduceOp.LogSumExp, axis, keepDims);
    /// <summary>Softmax along <paramref name="axis"/>.</summary>
    public Tensor Softmax(int axis = -1) => Ops.Normalize(this, NormalizeOp.Softmax, axis);
    /// <summary>Log-softmax along <paramref name="axis"/> (x - logsumexp x).</summary>
    public Tensor LogSoftmax(int axis = -1) => Ops.Normalize(this, NormalizeOp.LogSoftmax, axis);
}

internal static partial class Ops
{
    public static Tensor ReduceAll(Tensor x, ReduceOp op)
    {
        var flat = x.Rank == 1 ? x : Reshape(x, new Shape(x.Count));
        return Reduce(flat, op, 0, keepDims: false);
    }

    public static Tensor ReduceAxes(Tensor x, ReduceOp op, int[] axes, bool keepDims)
    {
        ArgumentNullException.ThrowIfNull(axes);
        if (op != ReduceOp.Sum && op != ReduceOp.Mean) throw new ArgumentException($"Reducing several axes at once supports sum and mean; got {op}.", nameof(op));
        var sorted = axes.Select(a => CheckAxis(ReduceName(op), x, a)).Distinct().OrderByDescending(a => a).ToArray();
        var y = x;
        foreach (int a in sorted) y = Reduce(y, op, a, keepDims);
        return y;
    }

    public static Tensor Reduce(Tensor x, ReduceOp op, int axis, bool keepDims)
    {
        string name = ReduceName(op); // a literal: the hot path allocates no string
        if (x.Rank == 0) throw new ArgumentException($"{name}: a scalar has no axis {axis}; reduce a tensor of rank 1 or more.", nameof(axis));
        int a = CheckAxis(name, x, axis);
        int n = x.Shape[a];
        if (n == 0 && op == ReduceOp.Max)
            throw new ArgumentException($"max: axis {a} of {x.Shape} is empty.", nameof(axis));
        var outShape = keepDims ? x.Shape.With(a, 1) : x.Shape.Without(a);
        var y = Tensor.Create(outShape, x.DType, x.Device);
        x.Backend.Reduce(op, x, x.Shape.Product(0, a), n, x.Shape.Product(a + 1, x.Rank), y);
        return Record(y, OpKind.Reduce, x, i0: (int)op, i1: a);
    }

    private static string ReduceName(ReduceOp op) => op switch
    {
        ReduceOp.Sum => "sum",
        ReduceOp.Mean => "mean",
        ReduceOp.Max => "max",
        ReduceOp.LogSumExp => "logsumexp",
        _ => op.ToString().ToLowerInvariant(),
    };

    private static void ReduceBackward(Tensor y, Tensor g)
    {
        var x = y.In0!;
        if (!x.RequiresGradFlag) return;
        int a = y.I1;
        y.Backend.ReduceBackward((ReduceOp)y.I0, x, y, g, GradOf(x), x.Shape.Product(0, a), x.Shape[a], x.Shape.Product(a + 1, x.Rank));
    }

    public static Tensor Normalize(Tensor x, NormalizeOp op, int axis)
    {
        string name = op == NormalizeOp.Softmax ? "softmax" : "logsoftmax";
        if (x.Rank == 0) throw new ArgumentException($"{name}: a scalar has no axis {axis}.", nameof(axis));
        int a = CheckAxis(name, x, axis);
        var y = Tensor.Create(x.Shape, x.DType, x.Device);
        x.Backend.Normalize(op, x, x.Shape.Product(0, a), x.Shape[a], x.Shape.Product(a + 1, x.Rank), y);
        return Record(y, OpKind.Normalize, x, i0: (int)op, i1: a);
    }

    private static void NormalizeBackward(Tensor y, Tensor g)
    {
        var x = y.In0!;
        if (!x.RequiresGradFlag) return;
        int a = y.I1;
        y.Backend.NormalizeBackward((NormalizeOp)y.I0, y, g, GradOf(x), x.Shape.Product(0, a), x.Shape[a], x.Shape.Product(a + 1, x.Rank));
    }
}
