using System.Numerics;
using System.Numerics.Tensors;

namespace Engine.Kernels.Cpu;

/// <summary>The elementwise functions of one argument (with up to two scalar parameters).</summary>
public enum UnaryOp
{
    Neg, Exp, Log, Log1p, Sqrt, Square, Abs,
    Relu, LeakyRelu, Sigmoid, Tanh, Softplus, LogSigmoid,
    /// <summary>x^p0.</summary>
    Pow,
    /// <summary>min(max(x, p0), p1).</summary>
    Clamp,
    /// <summary>p0 * x.</summary>
    Scale,
    /// <summary>x + p0.</summary>
    AddScalar,
}

/// <summary>
/// Elementwise unary kernels on contiguous spans: y = f(x) and its backward dx += dy * f'(x).
/// Forward passes use TensorPrimitives (vectorized, Vector512 where the hardware has it).
/// </summary>
public static class Unary
{
    /// <summary>y = f(x). <paramref name="y"/> may alias <paramref name="x"/> exactly.</summary>
    public static void Forward<T>(UnaryOp op, ReadOnlySpan<T> x, Span<T> y, T p0, T p1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (y.Length != x.Length)
            throw new ArgumentException($"Output length {y.Length} differs from input length {x.Length}.", nameof(y));
        switch (op)
        {
            case UnaryOp.Neg: TensorPrimitives.Negate(x, y); break;
            case UnaryOp.Exp: TensorPrimitives.Exp(x, y); break;
            case UnaryOp.Log: TensorPrimitives.Log(x, y); break;
            case UnaryOp.Log1p: TensorPrimitives.LogP1(x, y); break;
            case UnaryOp.Sqrt: TensorPrimitives.Sqrt(x, y); break;
            case UnaryOp.Square: TensorPrimitives.Multiply(x, x, y); break;
            case UnaryOp.Abs: TensorPrimitives.Abs(x, y); break;
            case UnaryOp.Relu: Simd.Relu(x, y); break;
            case UnaryOp.LeakyRelu: Simd.LeakyRelu(x, y, p0); break;
            case UnaryOp.Sigmoid: TensorPrimitives.Sigmoid(x, y); break;
            case UnaryOp.Tanh: TensorPrimitives.Tanh(x, y); break;
            case UnaryOp.Softplus: Softplus(x, y, negate: false); break;
            case UnaryOp.LogSigmoid: Softplus(x, y, negate: true); break;
            case UnaryOp.Pow: TensorPrimitives.Pow(x, p0, y); break;
            case UnaryOp.Clamp: Simd.Clamp(x, y, p0, p1); break;
            case UnaryOp.Scale: TensorPrimitives.Multiply(x, p0, y); break;
            case UnaryOp.AddScalar: TensorPrimitives.Add(x, p0, y); break;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "Unknown unary op.");
        }
    }

    // softplus(x) = max(x, 0) + log1p(exp(-|x|)), stable for |x| large; log sigmoid(x) = -softplus(-x)
    //             = min(x, 0) - log1p(exp(-|x|)).
    private static void Softplus<T>(ReadOnlySpan<T> x, Span<T> y, bool negate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int Chunk = 256;
        Span<T> t = stackalloc T[Chunk];
        for (int s = 0; s < x.Length; s += Chunk)
        {
            int n = Math.Min(Chunk, x.Length - s);
            var xs = x.Slice(s, n);
            var ts = t[..n];
            TensorPrimitives.Abs(xs, ts);
            TensorPrimitives.Negate(ts, ts);
            TensorPrimitives.Exp(ts, ts);
            TensorPrimitives.LogP1(ts, ts);
            var ys = y.Slice(s, n);
            if (negate)
            {
                TensorPrimitives.Min(xs, T.Zero, ys);
                TensorPrimitives.Subtract(ys, ts, ys);
            }
            else
            {
                TensorPrimitives.Max(xs, T.Zero, ys);
                TensorPrimitives.Add(ys, ts, ys);
            }
        }
    }

    /// <summary>
    /// dx += dy * f'(x), given the forward input <paramref name="x"/> and output <paramref name="y"/>
    /// (each rule reads whichever is cheaper).
    /// </summary>
    public static void BackwardAccumulate<T>(UnaryOp op, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, T p0, T p1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = dx.Length;
        if (x.Length != n || y.Length != n || dy.Length != n)
            throw new ArgumentException($"Lengths differ: x {x.Length}, y {y.Length}, dy {dy.Length}, dx {n}.");
        T one = T.One, two = T.One + T.One, half = T.One / two;
        switch (op)
        {
            case UnaryOp.Neg: TensorPrimitives.Subtract(dx, dy, dx); break;
            case UnaryOp.Exp: TensorPrimitives.MultiplyAdd(dy, y, dx, dx); break;
            case UnaryOp.Scale: TensorPrimitives.MultiplyAdd(dy, p0, dx, dx); break;
            case UnaryOp.AddScalar: TensorPrimitives.Add(dx, dy, dx); break;
            case UnaryOp.Relu: Simd.ReluBackward(x, dy, dx, T.Zero); break;
            case UnaryOp.LeakyRelu: Simd.ReluBackward(x, dy, dx, p0); break;
            case UnaryOp.Sigmoid: Simd.SigmoidBackward(y, dy, dx); break;
            case UnaryOp.Tanh: Simd.TanhBackward(y, dy, dx); break;
            case UnaryOp.Log: for (int i = 0; i < n; i++) dx[i] += dy[i] / x[i]; break;
            case UnaryOp.Log1p: for (int i = 0; i < n; i++) dx[i] += dy[i] / (one + x[i]); break;
            case UnaryOp.Sqrt: for (int i = 0; i < n; i++) dx[i] += dy[i] * half / y[i]; break;
            case UnaryOp.Square: for (int i = 0; i < n; i++) dx[i] += dy[i] * two * x[i]; break;
            case UnaryOp.Abs: for (int i = 0; i < n; i++) dx[i] += dy[i] * (x[i] > T.Zero ? one : x[i] < T.Zero ? -one : T.Zero); break;
            case UnaryOp.Softplus: for (int i = 0; i < n; i++) dx[i] += dy[i] * Sigmoid(x[i]); break;
            case UnaryOp.LogSigmoid: for (int i = 0; i < n; i++) dx[i] += dy[i] * Sigmoid(-x[i]); break;
            case UnaryOp.Pow:
                if (p0 == T.Zero) break;
                for (int i = 0; i < n; i++) dx[i] += dy[i] * p0 * T.Pow(x[i], p0 - one);
                break;
            case UnaryOp.Clamp:
                // The gradient passes where the input lies inside [min, max], bounds included (as PyTorch).
                for (int i = 0; i < n; i++) if (x[i] >= p0 && x[i] <= p1) dx[i] += dy[i];
                break;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "Unknown unary op.");
        }
    }

    /// <summary>A numerically stable logistic sigmoid of one value.</summary>
    public static T Sigmoid<T>(T x) where T : IFloatingPointIeee754<T>
    {
        if (x >= T.Zero) return T.One / (T.One + T.Exp(-x));
        T e = T.Exp(x);
        return e / (T.One + e);
    }
}
