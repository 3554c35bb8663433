using System.Numerics;
using System.Numerics.Tensors;
using Engine.Kernels.Reference;

namespace Engine.Kernels.Cpu;

/// <summary>The elementwise functions of one argument (with up to two scalar parameters); the value and backward
/// rule of each, and the kernels that run it, are in <see cref="Rules.UnaryRules"/>.</summary>
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
/// </summary>
/// <remarks>
/// The semantics (formulas, NaN and infinity handling) are the rule table <see cref="Rules.UnaryRules"/>, which the
/// scalar twins <see cref="ReferenceElementwise.UnaryForward{T}"/> and <see cref="ReferenceElementwise.UnaryBackwardAccumulate{T}"/>
/// evaluate per element; they also run on hardware without AVX2. Single-instruction rules and those TensorPrimitives does fastest run
/// through TensorPrimitives (neg, log, sqrt, square, abs, pow, scale, add); exp, sigmoid, tanh, softplus,
/// log-sigmoid, log1p, relu, leaky relu, clamp and every backward rule are hand-written Vector512/Vector256 loops
/// (<see cref="Simd"/>) on <see cref="VectorMath"/>'s exp and log (&lt;= 1 ulp). Exact operations (+, -, *, /,
/// selects) are evaluated in the twin's order, so those rules agree with it bit for bit; the transcendental ones
/// agree to a few ulps.
/// </remarks>
public static class Unary
{
    /// <summary>y = f(x). <paramref name="y"/> may alias <paramref name="x"/> exactly.</summary>
    public static void Forward<T>(UnaryOp op, ReadOnlySpan<T> x, Span<T> y, T p0, T p1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (y.Length != x.Length)
            throw new ArgumentException($"Output length {y.Length} differs from input length {x.Length}.", nameof(y));
        if (!Simd.Vectorized)
        {
            ReferenceElementwise.UnaryForward(op, x, y, p0, p1);
            return;
        }
        switch (op)
        {
            case UnaryOp.Neg: TensorPrimitives.Negate(x, y); break;
            case UnaryOp.Exp: Simd.Map1(x, y, new ExpOp<T>()); break;
            case UnaryOp.Log: TensorPrimitives.Log(x, y); break;
            case UnaryOp.Log1p: Simd.Map1(x, y, new Log1pOp<T>()); break;
            case UnaryOp.Sqrt: TensorPrimitives.Sqrt(x, y); break;
            case UnaryOp.Square: TensorPrimitives.Multiply(x, x, y); break;
            case UnaryOp.Abs: TensorPrimitives.Abs(x, y); break;
            case UnaryOp.Relu: Simd.Map1(x, y, new ReluOp<T>()); break;
            case UnaryOp.LeakyRelu:
                if (p0 == T.Zero) Simd.Map1(x, y, new ReluOp<T>());
                else Simd.Map1(x, y, new LeakyReluOp<T>(p0));
                break;
            case UnaryOp.Sigmoid: Simd.Map1(x, y, new SigmoidOp<T>()); break;
            case UnaryOp.Tanh: Simd.Map1(x, y, new TanhOp<T>()); break;
            case UnaryOp.Softplus: Simd.Map1(x, y, new SoftplusOp<T>()); break;
            case UnaryOp.LogSigmoid: Simd.Map1(x, y, new LogSigmoidOp<T>()); break;
            case UnaryOp.Pow: TensorPrimitives.Pow(x, p0, y); break;
            case UnaryOp.Clamp: Simd.Map1(x, y, new ClampOp<T>(p0, p1)); break;
            case UnaryOp.Scale: TensorPrimitives.Multiply(x, p0, y); break;
            case UnaryOp.AddScalar: TensorPrimitives.Add(x, p0, y); break;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "Unknown unary op.");
        }
    }

    /// <summary>
    /// dx += dy * f'(x), given the forward input <paramref name="x"/> and output <paramref name="y"/>
    /// (each rule reads whichever is cheaper; see <see cref="Rules.UnaryRules.Backward{T}"/>).
    /// </summary>
    public static void BackwardAccumulate<T>(UnaryOp op, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, T p0, T p1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = dx.Length;
        if (x.Length != n || y.Length != n || dy.Length != n)
            throw new ArgumentException($"Lengths differ: x {x.Length}, y {y.Length}, dy {dy.Length}, dx {n}.");
        if (!Simd.Vectorized)
        {
            ReferenceElementwise.UnaryBackwardAccumulate(op, x, y, dy, dx, p0, p1);
            return;
        }
        switch (op)
        {
            case UnaryOp.Neg: TensorPrimitives.Subtract(dx, dy, dx); break;
            case UnaryOp.Exp: TensorPrimitives.MultiplyAdd(dy, y, dx, dx); break;
            case UnaryOp.Scale: TensorPrimitives.MultiplyAdd(dy, p0, dx, dx); break;
            case UnaryOp.AddScalar: TensorPrimitives.Add(dx, dy, dx); break;
            case UnaryOp.Relu: Simd.Map3(x, dy, dx, dx, new ReluBackOp<T>()); break;
            case UnaryOp.LeakyRelu:
                if (p0 == T.Zero) Simd.Map3(x, dy, dx, dx, new ReluBackOp<T>());
                else Simd.Map3(x, dy, dx, dx, new LeakyReluBackOp<T>(p0));
                break;
            case UnaryOp.Sigmoid: Simd.Map3(y, dy, dx, dx, new SigmoidBackOp<T>()); break;
            case UnaryOp.Tanh: Simd.Map3(y, dy, dx, dx, new TanhBackOp<T>()); break;
            case UnaryOp.Log: Simd.Map3(x, dy, dx, dx, new LogBackOp<T>()); break;
            case UnaryOp.Log1p: Simd.Map3(x, dy, dx, dx, new Log1pBackOp<T>()); break;
            case UnaryOp.Sqrt: Simd.Map3(y, dy, dx, dx, new SqrtBackOp<T>()); break;
            case UnaryOp.Square: Simd.Map3(x, dy, dx, dx, new SquareBackOp<T>()); break;
            case UnaryOp.Abs: Simd.Map3(x, dy, dx, dx, new AbsBackOp<T>()); break;
            case UnaryOp.Softplus: Simd.Map3(x, dy, dx, dx, new SoftplusBackOp<T>()); break;
            case UnaryOp.LogSigmoid: Simd.Map3(x, dy, dx, dx, new LogSigmoidBackOp<T>()); break;
            case UnaryOp.Clamp: Simd.Map3(x, dy, dx, dx, new ClampBackOp<T>(p0, p1)); break;
            case UnaryOp.Pow:
            {
                if (p0 == T.Zero) break;
                // x^(p - 1) through TensorPrimitives.Pow (the runtime's scalar pow) into a stack chunk, then one fused pass.
                const int Chunk = 256;
                Span<T> t = stackalloc T[Chunk];
                T pm1 = p0 - T.One;
                for (int s = 0; s < n; s += Chunk)
                {
                    int len = Math.Min(Chunk, n - s);
                    var ts = t[..len];
                    TensorPrimitives.Pow(x.Slice(s, len), pm1, ts);
                    var d = dx.Slice(s, len);
                    Simd.Map3(ts, dy.Slice(s, len), d, d, new PowBackOp<T>(p0));
                }
                break;
            }
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "Unknown unary op.");
        }
    }
}
