using System.Numerics;
using System.Runtime.CompilerServices;
using Engine.Kernels.Cpu;

namespace Engine.Kernels.Gpu;

/// <summary>
/// Scalar functions the device kernels share, each written once in the form of its scalar twin in
/// <see cref="Reference.ReferenceElementwise"/> and <see cref="Reference.ReferenceFused"/>, so the GPU follows the same
/// NaN and infinity rules as the CPU. Only what ILGPU compiles for every backend is used: arithmetic, comparisons
/// and the runtime's math functions (which ILGPU maps to PTX/OpenCL instructions, libdevice or ILGPU.Algorithms' XMath);
/// no generic conversions, no bit casts.
/// </summary>
public static class DeviceMath
{
    /// <summary>max(a, b) propagating NaN as <c>T.Max</c> does (PTX's max.f32 would drop it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Max<T>(T a, T b) where T : IFloatingPointIeee754<T> => T.IsNaN(a) ? a : T.IsNaN(b) ? b : a > b ? a : b;

    /// <summary>x is neither infinite nor NaN (x - x is 0 exactly then, NaN otherwise).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsFinite<T>(T x) where T : IFloatingPointIeee754<T> => x - x == T.Zero;

    /// <summary>ln(1 + x) by Goldberg's trick (see <see cref="Reference.ReferenceElementwise.Log1p{T}"/>).</summary>
    public static T Log1p<T>(T x) where T : IFloatingPointIeee754<T>
    {
        if (x == T.PositiveInfinity) return x;
        T u = T.One + x;
        T d = u - T.One;
        return d == T.Zero ? x : T.Log(u) * (x / d);
    }

    /// <summary>The logistic sigmoid: e = e^-|x|, r = 1 / (1 + e), x &gt;= 0 ? r : e r.</summary>
    public static T Sigmoid<T>(T x) where T : IFloatingPointIeee754<T>
    {
        T e = T.Exp(-T.Abs(x));
        T r = T.One / (T.One + e);
        return x >= T.Zero ? r : e * r;
    }

    /// <summary>ln(1 + e^x) = (x &gt; 0 ? x : 0) + ln(1 + e^-|x|).</summary>
    public static T Softplus<T>(T x) where T : IFloatingPointIeee754<T>
        => (x > T.Zero ? x : T.Zero) + Log1p(T.Exp(-T.Abs(x)));

    /// <summary>The BCE-with-logits term of one element (see <see cref="Reference.ReferenceFused.BceTerm{T}"/>).</summary>
    public static T BceTerm<T>(T l, T t) where T : IFloatingPointIeee754<T>
    {
        T a = T.Abs(l);
        T w = l > T.Zero ? T.One - t : t;
        T lin = w == T.Zero ? T.Zero : a * w;
        return lin + Log1p(T.Exp(-a));
    }

    /// <summary>f(x) of a <see cref="UnaryOp"/> (given as its integer value).</summary>
    public static T UnaryValue<T>(int op, T x, T p0, T p1) where T : IFloatingPointIeee754<T>
    {
        switch (op)
        {
            case (int)UnaryOp.Neg: return -x;
            case (int)UnaryOp.Exp: return T.Exp(x);
            case (int)UnaryOp.Log: return T.Log(x);
            case (int)UnaryOp.Log1p: return Log1p(x);
            case (int)UnaryOp.Sqrt: return T.Sqrt(x);
            case (int)UnaryOp.Square: return x * x;
            case (int)UnaryOp.Abs: return T.Abs(x);
            case (int)UnaryOp.Relu: return T.IsNaN(x) ? x : x > T.Zero ? x : T.Zero;
            case (int)UnaryOp.LeakyRelu:
                if (p0 == T.Zero) return T.IsNaN(x) ? x : x > T.Zero ? x : T.Zero;
                return T.IsNaN(x) ? x : x > T.Zero ? x : x * p0;
            case (int)UnaryOp.Sigmoid: return Sigmoid(x);
            case (int)UnaryOp.Tanh: return T.Tanh(x);
            case (int)UnaryOp.Softplus: return Softplus(x);
            case (int)UnaryOp.LogSigmoid: return -Softplus(-x);
            case (int)UnaryOp.Pow: return T.Pow(x, p0);
            case (int)UnaryOp.Clamp: return x < p0 ? p0 : x > p1 ? p1 : x;
            case (int)UnaryOp.Scale: return x * p0;
            default: return x + p0; // AddScalar
        }
    }

    /// <summary>The new dx of one element, dx + dy f'(x), as <see cref="Reference.ReferenceElementwise.UnaryBackwardValue{T}"/>.</summary>
    public static T UnaryBackwardValue<T>(int op, T x, T y, T dy, T dx, T p0, T p1) where T : IFloatingPointIeee754<T>
    {
        T one = T.One, two = T.One + T.One, half = T.One / two;
        switch (op)
        {
            case (int)UnaryOp.Neg: return dx - dy;
            case (int)UnaryOp.Exp: return dx + dy * y;
            case (int)UnaryOp.Log: return dx + dy / x;
            case (int)UnaryOp.Log1p: return dx + dy / (one + x);
            case (int)UnaryOp.Sqrt: return dx + dy * half / y;
            case (int)UnaryOp.Square: return dx + dy * two * x;
            case (int)UnaryOp.Abs: return dx + dy * (x > T.Zero ? one : x < T.Zero ? -one : T.Zero);
            case (int)UnaryOp.Relu: return x > T.Zero ? dx + dy : dx;
            case (int)UnaryOp.LeakyRelu:
                if (p0 == T.Zero) return x > T.Zero ? dx + dy : dx;
                return dx + (x > T.Zero ? dy : dy * p0);
            case (int)UnaryOp.Sigmoid: return dx + dy * y * (one - y);
            case (int)UnaryOp.Tanh: return dx + dy * (one - y * y);
            case (int)UnaryOp.Softplus: return dx + dy * Sigmoid(x);
            case (int)UnaryOp.LogSigmoid: return dx + dy * Sigmoid(-x);
            case (int)UnaryOp.Pow: return p0 == T.Zero ? dx : dx + dy * p0 * T.Pow(x, p0 - one);
            case (int)UnaryOp.Clamp: return x >= p0 && x <= p1 ? dx + dy : dx;
            case (int)UnaryOp.Scale: return dx + dy * p0;
            default: return dx + dy; // AddScalar
        }
    }

    /// <summary>x op y for a <see cref="BinaryOp"/> given as its integer value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T BinaryValue<T>(int op, T x, T y) where T : IFloatingPointIeee754<T> => op switch
    {
        (int)BinaryOp.Add => x + y,
        (int)BinaryOp.Sub => x - y,
        (int)BinaryOp.Mul => x * y,
        _ => x / y,
    };
}
