using Engine.Autograd;

namespace Engine;

// Broadcast expansion into a new contiguous tensor; its backward sums the gradient back (as NumPy's broadcast_to).
public sealed partial class Tensor
{
    /// <summary>This tensor broadcast to <paramref name="shape"/> (NumPy rules), as a new contiguous tensor.</summary>
    public Tensor Expand(Shape shape) => Ops.Expand(this, shape);
}

internal static partial class Ops
{
    public static Tensor Expand(Tensor x, in Shape shape)
    {
        if (Shape.Broadcast(x.Shape, shape, "expand") != shape)
            throw new ArgumentException($"expand: {x.Shape} cannot be broadcast to {shape}.", nameof(shape));
        if (x.Shape == shape) return Reshape(x, shape);
        var y = Tensor.Create(shape, x.DType, x.Device);
        int r = shape.Rank;
        Span<int> dims = stackalloc int[r], strides = stackalloc int[r];
        shape.CopyTo(dims);
        BroadcastStrides(x.Shape, shape, strides);
        x.Backend.StridedCopy(x, strides, y, dims, accumulate: false);
        return Record(y, OpKind.Expand, x);
    }

    private static void ExpandBackward(Tensor y, Tensor g)
    {
        var x = y.In0!;
        if (x.RequiresGradFlag) AccumulateBroadcast(g, x);
    }
}
