using Engine.Autograd;
using Engine.Kernels.Cpu;

namespace Engine;

// Elementwise ops. Forward rules run the kernels in Engine.Kernels.Cpu.Unary/Strided; each backward rule sits
// below its forward. Unary derivatives (dx += dy f'(x)) are tabulated in Unary.BackwardAccumulate.
public sealed partial class Tensor
{
    /// <summary>-x.</summary>
    public Tensor Neg() => Ops.Unary(this, UnaryOp.Neg);
    /// <summary>e^x.</summary>
    public Tensor Exp() => Ops.Unary(this, UnaryOp.Exp);
    /// <summary>Natural logarithm.</summary>
    public Tensor Log() => Ops.Unary(this, UnaryOp.Log);
    /// <summary>log(1 + x), accurate near 0.</summary>
    public Tensor Log1p() => Ops.Unary(this, UnaryOp.Log1p);
    /// <summary>Square root.</summary>
    public Tensor Sqrt() => Ops.Unary(this, UnaryOp.Sqrt);
    /// <summary>x^2.</summary>
    public Tensor Square() => Ops.Unary(this, UnaryOp.Square);
    /// <summary>|x| (gradient 0 at 0).</summary>
    public Tensor Abs() => Ops.Unary(this, UnaryOp.Abs);
    /// <summary>x^p for a scalar exponent.</summary>
    public Tensor Pow(double exponent) => Ops.Unary(this, UnaryOp.Pow, exponent);
    /// <summary>min(max(x, min), max); the gradient passes where min &lt;= x &lt;= max.</summary>
    public Tensor Clamp(double min, double max)
    {
        if (!(min <= max)) throw new ArgumentException($"Clamp: min ({min}) must not exceed max ({max}) (tensor {Shape}).", nameof(min));
        return Ops.Unary(this, UnaryOp.Clamp, min, max);
    }
    /// <summary>max(x, 0).</summary>
    public Tensor Relu() => Ops.Unary(this, UnaryOp.Relu);
    /// <summary>x for x &gt; 0, slope·x otherwise.</summary>
    public Tensor LeakyRelu(double slope = 0.01) => Ops.Unary(this, UnaryOp.LeakyRelu, slope);
    /// <summary>1 / (1 + e^-x).</summary>
    public Tensor Sigmoid() => Ops.Unary(this, UnaryOp.Sigmoid);
    /// <summary>Hyperbolic tangent.</summary>
    public Tensor Tanh() => Ops.Unary(this, UnaryOp.Tanh);
    /// <summary>log(1 + e^x), stable for large |x|.</summary>
    public Tensor Softplus() => Ops.Unary(this, UnaryOp.Softplus);
    /// <summary>log sigmoid(x) = -softplus(-x), stable for large |x|.</summary>
    public Tensor LogSigmoid() => Ops.Unary(this, UnaryOp.LogSigmoid);
    /// <summary>s·x.</summary>
    public Tensor Mul(double s) => Ops.Unary(this, UnaryOp.Scale, s);
    /// <summary>x + s.</summary>
    public Tensor Add(double s) => Ops.Unary(this, UnaryOp.AddScalar, s);

    /// <summary>a + b with NumPy broadcasting.</summary>
    public Tensor Add(Tensor other) => Ops.Binary(this, other, BinaryOp.Add);
    /// <summary>a - b with NumPy broadcasting.</summary>
    public Tensor Sub(Tensor other) => Ops.Binary(this, other, BinaryOp.Sub);
    /// <summary>a · b (elementwise) with NumPy broadcasting.</summary>
    public Tensor Mul(Tensor other) => Ops.Binary(this, other, BinaryOp.Mul);
    /// <summary>a / b with NumPy broadcasting.</summary>
    public Tensor Div(Tensor other) => Ops.Binary(this, other, BinaryOp.Div);

    public static Tensor operator +(Tensor a, Tensor b) => a.Add(b);
    public static Tensor operator -(Tensor a, Tensor b) => a.Sub(b);
    public static Tensor operator *(Tensor a, Tensor b) => a.Mul(b);
    public static Tensor operator /(Tensor a, Tensor b) => a.Div(b);
    public static Tensor operator -(Tensor a) => a.Neg();
    public static Tensor operator +(Tensor a, double s) => a.Add(s);
    public static Tensor operator +(double s, Tensor a) => a.Add(s);
    public static Tensor operator -(Tensor a, double s) => a.Add(-s);
    public static Tensor operator -(double s, Tensor a) => a.Neg().Add(s);
    public static Tensor operator *(Tensor a, double s) => a.Mul(s);
    public static Tensor operator *(double s, Tensor a) => a.Mul(s);
    public static Tensor operator /(Tensor a, double s) => a.Mul(1.0 / s);
    public static Tensor operator /(double s, Tensor a) => a.Pow(-1).Mul(s);

    /// <summary>
    /// mask != 0 ? a : b elementwise, all three broadcast together. The mask (same element type) gets no gradient.
    /// </summary>
    public static Tensor Where(Tensor mask, Tensor a, Tensor b) => Ops.Where(mask, a, b);
}

internal static partial class Ops
{
    public static Tensor Unary(Tensor x, UnaryOp op, double p0 = 0, double p1 = 0)
    {
        var y = Tensor.Create(x.Shape, x.DType, x.Device);
        x.Backend.Unary(op, x, y, p0, p1);
        return Record(y, OpKind.Unary, x, i0: (int)op, p0: p0, p1: p1);
    }

    // dx += dy f'(x): the table in Unary.BackwardAccumulate.
    private static void UnaryBackward(Tensor y, Tensor g)
    {
        var x = y.In0!;
        if (!x.RequiresGradFlag) return;
        y.Backend.UnaryBackward((UnaryOp)y.I0, x, y, g, GradOf(x), y.P0, y.P1);
    }

    public static Tensor Binary(Tensor a, Tensor b, BinaryOp op)
    {
        // A literal, not op.ToString().ToLowerInvariant(): that boxed and allocated a string on every call.
        string name = op switch { BinaryOp.Add => "add", BinaryOp.Sub => "sub", BinaryOp.Mul => "mul", BinaryOp.Div => "div", _ => op.ToString().ToLowerInvariant() };
        CheckNotNull(a, name, "a");
        CheckNotNull(b, name, "b");
        CheckCompatible(name, a, b);
        var shape = Shape.Broadcast(a.Shape, b.Shape, name);
        var y = Tensor.Create(shape, a.DType, a.Device);
        int r = shape.Rank;
        Span<int> dims = stackalloc int[r], sa = stackalloc int[r], sb = stackalloc int[r];
        shape.CopyTo(dims);
        BroadcastStrides(a.Shape, shape, sa);
        BroadcastStrides(b.Shape, shape, sb);
        a.Backend.Binary(op, a, sa, b, sb, y, dims);
        return Record(y, OpKind.Binary, a, b, i0: (int)op);
    }

    // add: da += g, db += g; sub: db -= g; mul: da += g b, db += g a; div: da += g / b, db -= g y / b.
    // Each contribution is summed back over the dimensions along which its input was broadcast.
    private static void BinaryBackward(Tensor y, Tensor g)
    {
        Tensor a = y.In0!, b = y.In1!;
        var op = (BinaryOp)y.I0;
        var be = y.Backend;
        if (op == BinaryOp.Add || op == BinaryOp.Sub)
        {
            if (a.RequiresGradFlag) AccumulateBroadcast(g, a);
            if (b.RequiresGradFlag)
            {
                if (op == BinaryOp.Add) AccumulateBroadcast(g, b);
                else
                {
                    var t = Temp(g.Shape, g);
                    be.Unary(UnaryOp.Neg, g, t, 0, 0);
                    AccumulateBroadcast(t, b);
                    ReleaseTemp(t);
                }
            }
            return;
        }
        var shape = y.Shape;
        int r = shape.Rank;
        Span<int> dims = stackalloc int[r], contiguous = stackalloc int[r], sOther = stackalloc int[r];
        shape.CopyTo(dims);
        BroadcastStrides(shape, shape, contiguous);
        if (a.RequiresGradFlag)
        {
            // da += g * b (mul) or g / b (div)
            var t = Temp(shape, g);
            BroadcastStrides(b.Shape, shape, sOther);
            be.Binary(op == BinaryOp.Mul ? BinaryOp.Mul : BinaryOp.Div, g, contiguous, b, sOther, t, dims);
            AccumulateBroadcast(t, a);
            ReleaseTemp(t);
        }
        if (b.RequiresGradFlag)
        {
            var t = Temp(shape, g);
            if (op == BinaryOp.Mul)
            {
                BroadcastStrides(a.Shape, shape, sOther);
                be.Binary(BinaryOp.Mul, g, contiguous, a, sOther, t, dims);
            }
            else
            {
                // db -= g * y / b
                be.Binary(BinaryOp.Mul, g, contiguous, y, contiguous, t, dims);
                BroadcastStrides(b.Shape, shape, sOther);
                be.Binary(BinaryOp.Div, t, contiguous, b, sOther, t, dims);
                be.Unary(UnaryOp.Neg, t, t, 0, 0);
            }
            AccumulateBroadcast(t, b);
            ReleaseTemp(t);
        }
    }

    public static Tensor Where(Tensor mask, Tensor a, Tensor b)
    {
        CheckNotNull(mask, "where", "mask");
        CheckNotNull(a, "where", "a");
        CheckNotNull(b, "where", "b");
        CheckCompatible("where", a, b);
        CheckCompatible("where", mask, a);
        var shape = Shape.Broadcast(Shape.Broadcast(mask.Shape, a.Shape, "where"), b.Shape, "where");
        var y = Tensor.Create(shape, a.DType, a.Device);
        int r = shape.Rank;
        Span<int> dims = stackalloc int[r], sm = stackalloc int[r], sa = stackalloc int[r], sb = stackalloc int[r];
        shape.CopyTo(dims);
        BroadcastStrides(mask.Shape, shape, sm);
        BroadcastStrides(a.Shape, shape, sa);
        BroadcastStrides(b.Shape, shape, sb);
        a.Backend.Where(mask, sm, a, sa, b, sb, y, dims);
        return Record(y, OpKind.Where, mask, a, b); // the mask itself receives no gradient
    }

    // da += where(mask, g, 0), db += where(mask, 0, g), each summed back to its input's shape.
    private static void WhereBackward(Tensor y, Tensor g)
    {
        Tensor mask = y.In0!, a = y.In1!, b = y.In2!;
        var shape = y.Shape;
        int r = shape.Rank;
        Span<int> dims = stackalloc int[r], sm = stackalloc int[r], sg = stackalloc int[r], s0 = stackalloc int[r];
        shape.CopyTo(dims);
        BroadcastStrides(mask.Shape, shape, sm);
        BroadcastStrides(shape, shape, sg);
        var zero = Temp(Shape.Scalar, g);
        y.Backend.Fill(zero, 0);
        s0.Clear();
        if (a.RequiresGradFlag)
        {
            var t = Temp(shape, g);
            y.Backend.Where(mask, sm, g, sg, zero, s0, t, dims);
            AccumulateBroadcast(t, a);
            ReleaseTemp(t);
        }
        if (b.RequiresGradFlag)
        {
            var t = Temp(shape, g);
            y.Backend.Where(mask, sm, zero, s0, g, sg, t, dims);
            AccumulateBroadcast(t, b);
            ReleaseTemp(t);
        }
        ReleaseTemp(zero);
    }
}
