using Engine.Autograd;

namespace Engine;

// Shape ops: reshape (a view), transpose (an explicit copy), slices, concatenation, stacking, row gathers.
public sealed partial class Tensor
{
    /// <summary>The same elements under a new shape (a view sharing storage); one dimension may be -1.</summary>
    public Tensor Reshape(params ReadOnlySpan<int> dims) => Ops.Reshape(this, Ops.InferShape(this, dims));

    /// <summary>The same elements under <paramref name="shape"/> (a view).</summary>
    public Tensor Reshape(Shape shape) => Ops.Reshape(this, shape);

    /// <summary>Collapses all dimensions but the first: [n, ...] -> [n, rest].</summary>
    public Tensor Flatten() => Rank == 0 ? Reshape(1) : Reshape(Shape[0], Shape.Product(1, Rank));

    /// <summary>Inserts a dimension of size 1 before <paramref name="axis"/> (a view).</summary>
    public Tensor Unsqueeze(int axis) => Ops.Reshape(this, Shape.Insert(axis, 1));

    /// <summary>Removes dimension <paramref name="axis"/>, which must have size 1 (a view).</summary>
    public Tensor Squeeze(int axis)
    {
        int a = Ops.CheckAxis("squeeze", this, axis);
        if (Shape[a] != 1) throw new ArgumentException($"squeeze: dimension {axis} of {Shape} has size {Shape[a]}, not 1.", nameof(axis));
        return Ops.Reshape(this, Shape.Without(a));
    }

    /// <summary>Swaps two axes into a new contiguous tensor.</summary>
    public Tensor Transpose(int axis0, int axis1) => Ops.Transpose(this, axis0, axis1);

    /// <summary>The transpose of a matrix (swaps the last two axes).</summary>
    public Tensor T() => Rank < 2
        ? throw new InvalidOperationException($"T(): a tensor of shape {Shape} has no two axes to swap.")
        : Ops.Transpose(this, -2, -1);

    /// <summary>Elements [start, start + length) along <paramref name="axis"/>; a view along axis 0, a copy otherwise.</summary>
    public Tensor Slice(int axis, int start, int length) => Ops.Slice(this, axis, start, length);

    /// <summary>Rows [start, start + count) (a view).</summary>
    public Tensor SliceRows(int start, int count) => Ops.Slice(this, 0, start, count);

    /// <summary>Rows picked by index (repeats allowed): [n, ...] -> [indices.Length, ...].</summary>
    public Tensor GatherRows(int[] indices) => Ops.GatherRows(this, indices);

    /// <summary>Joins tensors along an existing axis; all other dimensions must agree.</summary>
    public static Tensor Concat(IReadOnlyList<Tensor> tensors, int axis = 0) => Ops.Concat(tensors, axis);

    /// <summary>Joins tensors of one shape along a new axis.</summary>
    public static Tensor Stack(IReadOnlyList<Tensor> tensors, int axis = 0)
    {
        if (tensors is null || tensors.Count == 0) throw new ArgumentException("stack: no tensors given.", nameof(tensors));
        var first = tensors[0].Shape;
        var parts = new Tensor[tensors.Count];
        for (int i = 0; i < parts.Length; i++)
        {
            if (tensors[i].Shape != first)
                throw new ArgumentException($"stack: tensor {i} has shape {tensors[i].Shape}; tensor 0 has {first}.", nameof(tensors));
            parts[i] = tensors[i].Unsqueeze(axis);
        }
        return Ops.Concat(parts, axis);
    }

    /// <summary>A tensor sharing this one's data that is cut off from the graph (requires no gradient).</summary>
    public Tensor Detach() => View(Shape, 0);
}

internal static partial class Ops
{
    public static Shape InferShape(Tensor x, ReadOnlySpan<int> dims)
    {
        int infer = -1;
        long known = 1;
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] == -1)
            {
                if (infer >= 0) throw new ArgumentException($"reshape: at most one dimension may be -1; got {Fmt(dims)}.", nameof(dims));
                infer = i;
            }
            else if (dims[i] < 0) throw new ArgumentException($"reshape: dimension {i} is {dims[i]} in {Fmt(dims)}.", nameof(dims));
            else known *= dims[i];
        }
        Span<int> d = stackalloc int[dims.Length];
        dims.CopyTo(d);
        if (infer >= 0)
        {
            if (known == 0 || x.Count % known != 0)
                throw new ArgumentException($"reshape: cannot infer the -1 in {Fmt(dims)} for {x.Count} elements of {x.Shape}.", nameof(dims));
            d[infer] = (int)(x.Count / known);
        }
        return new Shape(d);
    }

    private static string Fmt(ReadOnlySpan<int> dims) => "[" + string.Join(", ", dims.ToArray()) + "]";

    public static Tensor Reshape(Tensor x, in Shape shape)
    {
        if (shape.Count != x.Count)
            throw new ArgumentException($"reshape: cannot view {x.Shape} ({x.Count} elements) as {shape} ({shape.Count} elements).", nameof(shape));
        var y = x.View(shape, 0);
        return Record(y, OpKind.Reshape, x);
    }

    private static void ReshapeBackward(Tensor y, Tensor g)
    {
        var x = y.In0!;
        if (x.RequiresGradFlag) y.Backend.Copy(g, GradOf(x), accumulate: true);
    }

    public static Tensor Transpose(Tensor x, int axis0, int axis1)
    {
        int a0 = CheckAxis("transpose", x, axis0), a1 = CheckAxis("transpose", x, axis1);
        var outShape = x.Shape.With(a0, x.Shape[a1]).With(a1, x.Shape[a0]);
        var y = Tensor.Create(outShape, x.DType, x.Device);
        CopySwapped(x, y, a0, a1, accumulate: false);
        return Record(y, OpKind.Transpose, x, i0: a0, i1: a1);
    }

    // dst = src with axes a0 and a1 swapped (dst's shape is src's with them swapped): read src through permuted strides.
    private static void CopySwapped(Tensor src, Tensor dst, int a0, int a1, bool accumulate)
    {
        int r = src.Rank;
        Span<int> strides = stackalloc int[r], dims = stackalloc int[r];
        BroadcastStrides(src.Shape, src.Shape, strides);
        for (int d = r - 1, s = 1; d >= 0; d--) { strides[d] = s; s *= src.Shape[d]; }
        (strides[a0], strides[a1]) = (strides[a1], strides[a0]);
        dst.Shape.CopyTo(dims);
        src.Backend.StridedCopy(src, strides, dst, dims, accumulate);
    }

    private static void TransposeBackward(Tensor y, Tensor g)
    {
        var x = y.In0!;
        if (x.RequiresGradFlag) CopySwapped(g, GradOf(x), y.I0, y.I1, accumulate: true);
    }

    public static Tensor Slice(Tensor x, int axis, int start, int length)
    {
        if (x.Rank == 0) throw new ArgumentException("slice: a scalar has no axis to slice.", nameof(x));
        int a = CheckAxis("slice", x, axis);
        int n = x.Shape[a];
        if (start < 0 || length < 0 || start + length > n)
            throw new ArgumentOutOfRangeException(nameof(start), $"slice: [{start}, {start + length}) is out of range for axis {a} of size {n} in {x.Shape}.");
        var outShape = x.Shape.With(a, length);
        int outer = x.Shape.Product(0, a), inner = x.Shape.Product(a + 1, x.Rank);
        Tensor y;
        if (a == 0) y = x.View(outShape, start * inner);
        else
        {
            y = Tensor.Create(outShape, x.DType, x.Device);
            x.Backend.CopyBlock(y, length, x, n, start, outer, inner, intoBig: false, accumulate: false);
        }
        return Record(y, OpKind.Slice, x, i0: a, i1: start);
    }

    private static void SliceBackward(Tensor y, Tensor g)
    {
        var x = y.In0!;
        if (!x.RequiresGradFlag) return;
        int a = y.I0;
        int outer = x.Shape.Product(0, a), inner = x.Shape.Product(a + 1, x.Rank);
        y.Backend.CopyBlock(g, y.Shape[a], GradOf(x), x.Shape[a], y.I1, outer, inner, intoBig: true, accumulate: true);
    }

    public static Tensor Concat(IReadOnlyList<Tensor> tensors, int axis)
    {
        if (tensors is null || tensors.Count == 0) throw new ArgumentException("concat: no tensors given.", nameof(tensors));
        var first = tensors[0];
        CheckNotNull(first, "concat", "tensors[0]");
        if (first.Rank == 0) throw new ArgumentException("concat: scalars have no axis to join; use Stack.", nameof(tensors));
        int a = CheckAxis("concat", first, axis);
        int total = 0;
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            if (t is null) throw new ArgumentNullException($"tensors[{i}]", $"concat: argument 'tensors[{i}]' is null."); // no string built per call
            CheckCompatible("concat", first, t);
            if (t.Rank != first.Rank || t.Shape.With(a, 0) != first.Shape.With(a, 0))
                throw new ArgumentException($"concat: tensor {i} has shape {t.Shape}, which does not match {first.Shape} outside axis {a}.", nameof(tensors));
            total += t.Shape[a];
        }
        var y = Tensor.Create(first.Shape.With(a, total), first.DType, first.Device);
        int outer = first.Shape.Product(0, a), inner = first.Shape.Product(a + 1, first.Rank);
        int start = 0;
        bool record = false;
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            y.Backend.CopyBlock(t, t.Shape[a], y, total, start, outer, inner, intoBig: true, accumulate: false);
            start += t.Shape[a];
            record |= t.RequiresGradFlag;
        }
        Record(y, OpKind.Concat, null, i0: a);
        if (record && GradMode.Enabled)
        {
            y.Op = OpKind.Concat;
            y.InMany = tensors.ToArray();
            y.RequiresGradFlag = true;
        }
        return y;
    }

    private static void ConcatBackward(Tensor y, Tensor g)
    {
        int a = y.I0;
        var first = y.InMany![0];
        int outer = first.Shape.Product(0, a), inner = first.Shape.Product(a + 1, first.Rank);
        int total = y.Shape[a], start = 0;
        foreach (var t in y.InMany)
        {
            if (t.RequiresGradFlag)
                y.Backend.CopyBlock(GradOf(t), t.Shape[a], g, total, start, outer, inner, intoBig: false, accumulate: true);
            start += t.Shape[a];
        }
    }

    public static Tensor GatherRows(Tensor x, int[] indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        if (x.Rank == 0) throw new ArgumentException("gather_rows: a scalar has no rows.", nameof(x));
        int n = x.Shape[0];
        for (int i = 0; i < indices.Length; i++)
            if ((uint)indices[i] >= (uint)n)
                throw new ArgumentOutOfRangeException(nameof(indices), $"gather_rows: index {indices[i]} at position {i} is out of range for {n} rows of {x.Shape}.");
        var y = Tensor.Create(x.Shape.With(0, indices.Length), x.DType, x.Device);
        int rowLength = x.Shape.Product(1, x.Rank);
        x.Backend.GatherRows(x, rowLength, indices, y);
        Record(y, OpKind.GatherRows, x);
        y.Indices = indices;
        return y;
    }

    private static void GatherRowsBackward(Tensor y, Tensor g)
    {
        var x = y.In0!;
        if (x.RequiresGradFlag) y.Backend.ScatterAddRows(g, x.Shape.Product(1, x.Rank), y.Indices!, GradOf(x));
    }
}
