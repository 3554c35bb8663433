using Engine.Autograd;
using Engine.Kernels.Cpu;

namespace Engine;

/// <summary>
/// Shared machinery of the ops: argument checks with clear messages, recording a node on the tape, gradient
/// buffers, broadcasting strides, and the dispatch from an op kind to its backward rule.
/// </summary>
internal static partial class Ops
{
    // ---- checks ----

    public static void CheckCompatible(string op, Tensor a, Tensor b)
    {
        if (a.DType != b.DType)
            throw new ArgumentException($"{op}: element types differ ({a.DType} {a.Shape} vs {b.DType} {b.Shape}); convert one with To(DType).");
        if (!ReferenceEquals(a.Device, b.Device))
            throw new ArgumentException($"{op}: tensors live on different devices ({a.Device.Name} {a.Shape} vs {b.Device.Name} {b.Shape}); move one with To(Device).");
    }

    public static void CheckNotNull(Tensor? t, string op, string arg)
    {
        if (t is null) throw new ArgumentNullException(arg, $"{op}: argument '{arg}' is null.");
    }

    /// <summary>Maps a possibly negative axis of <paramref name="x"/> into [0, rank) or throws naming the op, the axis and the shape.</summary>
    public static int CheckAxis(string op, Tensor x, int axis)
    {
        int a = axis < 0 ? axis + x.Rank : axis;
        if ((uint)a >= (uint)x.Rank)
            throw new ArgumentOutOfRangeException(nameof(axis), $"{op}: axis {axis} is out of range for a tensor of shape {x.Shape} (rank {x.Rank}).");
        return a;
    }

    // ---- recording ----

    /// <summary>Whether an op on these inputs must record itself.</summary>
    public static bool ShouldRecord(Tensor? a, Tensor? b = null, Tensor? c = null) =>
        GradMode.Enabled && ((a?.RequiresGradFlag ?? false) || (b?.RequiresGradFlag ?? false) || (c?.RequiresGradFlag ?? false));

    /// <summary>Makes <paramref name="y"/> a node of kind <paramref name="op"/> when any input requires grad; checks anomalies.</summary>
    public static Tensor Record(Tensor y, OpKind op, Tensor? a, Tensor? b = null, Tensor? c = null, int i0 = 0, int i1 = 0, double p0 = 0, double p1 = 0)
    {
        y.I0 = i0; y.I1 = i1; y.P0 = p0; y.P1 = p1;
        if (ShouldRecord(a, b, c))
        {
            y.Op = op;
            y.In0 = a; y.In1 = b; y.In2 = c;
            y.RequiresGradFlag = true;
        }
        if (Anomaly.Enabled) Anomaly.CheckForward(y, DescribeKind(op, i0), a, b, c);
        return y;
    }

    // ---- gradients and temporaries ----

    /// <summary>The gradient buffer of <paramref name="t"/>, created (zeroed) on first use.</summary>
    public static Tensor GradOf(Tensor t)
    {
        if (t.Grad is null) t.Grad = t.CreateOwnedLike(zero: true);
        return t.Grad;
    }

    /// <summary>A scratch tensor for a backward rule; give it back with <see cref="ReleaseTemp"/>.</summary>
    public static Tensor Temp(in Shape shape, Tensor like) => Tensor.Create(shape, like.DType, like.Device);

    public static void ReleaseTemp(Tensor t) => TensorScope.ReleaseStorage(t);

    /// <summary>grad(input) += src, summing over the dimensions along which input was broadcast to src's shape.</summary>
    public static void AccumulateBroadcast(Tensor src, Tensor input)
    {
        var g = GradOf(input);
        if (input.Shape == src.Shape)
        {
            src.Backend.Copy(src, g, accumulate: true);
            return;
        }
        var outShape = src.Shape;
        Span<int> shape = stackalloc int[outShape.Rank];
        Span<int> strides = stackalloc int[outShape.Rank];
        outShape.CopyTo(shape);
        BroadcastStrides(input.Shape, outShape, strides);
        src.Backend.SumInto(src, shape, g, strides);
    }

    /// <summary>Strides that read <paramref name="input"/> as if broadcast to <paramref name="output"/> (0 on broadcast dimensions).</summary>
    public static void BroadcastStrides(in Shape input, in Shape output, Span<int> strides)
    {
        int lead = output.Rank - input.Rank;
        int stride = 1;
        for (int d = output.Rank - 1; d >= 0; d--)
        {
            int id = d - lead;
            if (id < 0 || input[id] == 1) strides[d] = 0;
            else
            {
                strides[d] = stride;
                stride *= input[id];
            }
        }
    }

    // ---- backward dispatch: one case per op kind ----

    public static void Backward(Tensor node, Tensor grad)
    {
        switch (node.Op)
        {
            case OpKind.Unary: UnaryBackward(node, grad); break;
            case OpKind.Binary: BinaryBackward(node, grad); break;
            case OpKind.Where: WhereBackward(node, grad); break;
            case OpKind.Matmul: MatmulBackward(node, grad); break;
            case OpKind.Linear: LinearBackward(node, grad); break;
            case OpKind.Expand: ExpandBackward(node, grad); break;
            case OpKind.Reshape: ReshapeBackward(node, grad); break;
            case OpKind.Transpose: TransposeBackward(node, grad); break;
            case OpKind.Slice: SliceBackward(node, grad); break;
            case OpKind.Concat: ConcatBackward(node, grad); break;
            case OpKind.GatherRows: GatherRowsBackward(node, grad); break;
            case OpKind.Reduce: ReduceBackward(node, grad); break;
            case OpKind.Normalize: NormalizeBackward(node, grad); break;
            case OpKind.BceWithLogits: BceWithLogitsBackward(node, grad); break;
            case OpKind.GaussianLogDensity: GaussianLogDensityBackward(node, grad); break;
            case OpKind.None: break;
            default: throw new InvalidOperationException($"No backward rule for op kind {node.Op}.");
        }
    }

    public static string Describe(Tensor t) => t.Op == OpKind.None ? "leaf" : DescribeKind(t.Op, t.I0);

    public static string DescribeKind(OpKind op, int i0) => op switch
    {
        OpKind.Unary => ((UnaryOp)i0).ToString().ToLowerInvariant(),
        OpKind.Binary => ((BinaryOp)i0).ToString().ToLowerInvariant(),
        OpKind.Reduce => ((ReduceOp)i0).ToString().ToLowerInvariant(),
        OpKind.Normalize => ((NormalizeOp)i0).ToString().ToLowerInvariant(),
        _ => op.ToString().ToLowerInvariant(),
    };
}
