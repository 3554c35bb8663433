using System.Numerics;
using System.Runtime.Intrinsics;

namespace Engine.Kernels.Cpu;

// The vector rules of Unary, run by the Simd drivers at both widths; each is the same expression as its row of
// Rules/UnaryRules.cs (the scalar twin), written with VectorMath's exp and log.

// ---------------------------------------------------------------- forward rules of Unary (scalar twins in Rules/UnaryRules.cs)

/// <summary>NaN ? x : x &gt; 0 ? x : +0.</summary>
internal readonly struct ReluOp<T> : IMap1<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x)
        => Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<T>.Zero) | ~Vector512.Equals(x, x), x, Vector512<T>.Zero);
    public Vector256<T> Invoke(Vector256<T> x)
        => Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<T>.Zero) | ~Vector256.Equals(x, x), x, Vector256<T>.Zero);
}

/// <summary>NaN ? x : x &gt; 0 ? x : slope x (slope != 0; a zero slope is <see cref="ReluOp{T}"/>).</summary>
internal readonly struct LeakyReluOp<T>(T slope) : IMap1<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x)
        => Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<T>.Zero) | ~Vector512.Equals(x, x), x, x * Vector512.Create(slope));
    public Vector256<T> Invoke(Vector256<T> x)
        => Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<T>.Zero) | ~Vector256.Equals(x, x), x, x * Vector256.Create(slope));
}

/// <summary>x &lt; lo ? lo : x &gt; hi ? hi : x (NaN passes through: both comparisons are false).</summary>
internal readonly struct ClampOp<T>(T lo, T hi) : IMap1<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x)
    {
        var l = Vector512.Create(lo); var h = Vector512.Create(hi);
        return Vector512.ConditionalSelect(Vector512.LessThan(x, l), l, Vector512.ConditionalSelect(Vector512.GreaterThan(x, h), h, x));
    }
    public Vector256<T> Invoke(Vector256<T> x)
    {
        var l = Vector256.Create(lo); var h = Vector256.Create(hi);
        return Vector256.ConditionalSelect(Vector256.LessThan(x, l), l, Vector256.ConditionalSelect(Vector256.GreaterThan(x, h), h, x));
    }
}

internal readonly struct ExpOp<T> : IMap1<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x) => VectorMath.Exp(x);
    public Vector256<T> Invoke(Vector256<T> x) => VectorMath.Exp(x);
}

internal readonly struct SigmoidOp<T> : IMap1<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x) => VectorMath.Sigmoid(x);
    public Vector256<T> Invoke(Vector256<T> x) => VectorMath.Sigmoid(x);
}

/// <summary>tanh through expm1 (no cancellation near 0: TensorPrimitives.Tanh loses most digits of a float
/// there, e.g. tanh(-3.45e-6f) comes out 0.7% low).</summary>
internal readonly struct TanhOp<T> : IMap1<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x) => VectorMath.Tanh(x);
    public Vector256<T> Invoke(Vector256<T> x) => VectorMath.Tanh(x);
}

/// <summary>softplus(x) = max(x, 0) + log1p(e^-|x|).</summary>
internal readonly struct SoftplusOp<T> : IMap1<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x) => VectorMath.Softplus(x);
    public Vector256<T> Invoke(Vector256<T> x) => VectorMath.Softplus(x);
}

/// <summary>log sigmoid(x) = -softplus(-x).</summary>
internal readonly struct LogSigmoidOp<T> : IMap1<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x) => -VectorMath.Softplus(-x);
    public Vector256<T> Invoke(Vector256<T> x) => -VectorMath.Softplus(-x);
}

/// <summary>ln(1 + x) by Goldberg's trick: u = 1 + x, d = u - 1; d == 0 ? x : ln(u) x / d; +inf stays +inf.</summary>
internal readonly struct Log1pOp<T> : IMap1<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x)
    {
        var u = Vector512<T>.One + x;
        var d = u - Vector512<T>.One;
        var r = VectorMath.Log(u) * (x / d);
        r = Vector512.ConditionalSelect(Vector512.Equals(d, Vector512<T>.Zero), x, r);
        return Vector512.ConditionalSelect(Vector512.Equals(x, Vector512.Create(T.PositiveInfinity)), x, r);
    }
    public Vector256<T> Invoke(Vector256<T> x)
    {
        var u = Vector256<T>.One + x;
        var d = u - Vector256<T>.One;
        var r = VectorMath.Log(u) * (x / d);
        r = Vector256.ConditionalSelect(Vector256.Equals(d, Vector256<T>.Zero), x, r);
        return Vector256.ConditionalSelect(Vector256.Equals(x, Vector256.Create(T.PositiveInfinity)), x, r);
    }
}

// ---------------------------------------------------------------- backward rules of Unary: (v, dy, dx) -> new dx

/// <summary>dx + dy / x.</summary>
internal readonly struct LogBackOp<T> : IMap3<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x, Vector512<T> g, Vector512<T> d) => d + g / x;
    public Vector256<T> Invoke(Vector256<T> x, Vector256<T> g, Vector256<T> d) => d + g / x;
}

/// <summary>dx + dy / (1 + x).</summary>
internal readonly struct Log1pBackOp<T> : IMap3<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x, Vector512<T> g, Vector512<T> d) => d + g / (Vector512<T>.One + x);
    public Vector256<T> Invoke(Vector256<T> x, Vector256<T> g, Vector256<T> d) => d + g / (Vector256<T>.One + x);
}

/// <summary>dx + (dy * 1/2) / y.</summary>
internal readonly struct SqrtBackOp<T> : IMap3<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> y, Vector512<T> g, Vector512<T> d) => d + g * Vector512.Create(T.One / (T.One + T.One)) / y;
    public Vector256<T> Invoke(Vector256<T> y, Vector256<T> g, Vector256<T> d) => d + g * Vector256.Create(T.One / (T.One + T.One)) / y;
}

/// <summary>dx + (dy * 2) * x.</summary>
internal readonly struct SquareBackOp<T> : IMap3<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x, Vector512<T> g, Vector512<T> d) => d + (g + g) * x;
    public Vector256<T> Invoke(Vector256<T> x, Vector256<T> g, Vector256<T> d) => d + (g + g) * x;
}

/// <summary>dx + dy * sign(x), sign(0) = sign(NaN) = 0.</summary>
internal readonly struct AbsBackOp<T> : IMap3<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x, Vector512<T> g, Vector512<T> d)
    {
        var s = Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<T>.Zero), Vector512<T>.One,
            Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<T>.Zero), -Vector512<T>.One, Vector512<T>.Zero));
        return d + g * s;
    }
    public Vector256<T> Invoke(Vector256<T> x, Vector256<T> g, Vector256<T> d)
    {
        var s = Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<T>.Zero), Vector256<T>.One,
            Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<T>.Zero), -Vector256<T>.One, Vector256<T>.Zero));
        return d + g * s;
    }
}

/// <summary>dx + dy * sigmoid(x) (softplus).</summary>
internal readonly struct SoftplusBackOp<T> : IMap3<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x, Vector512<T> g, Vector512<T> d) => d + g * VectorMath.Sigmoid(x);
    public Vector256<T> Invoke(Vector256<T> x, Vector256<T> g, Vector256<T> d) => d + g * VectorMath.Sigmoid(x);
}

/// <summary>dx + dy * sigmoid(-x) (log sigmoid).</summary>
internal readonly struct LogSigmoidBackOp<T> : IMap3<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x, Vector512<T> g, Vector512<T> d) => d + g * VectorMath.Sigmoid(-x);
    public Vector256<T> Invoke(Vector256<T> x, Vector256<T> g, Vector256<T> d) => d + g * VectorMath.Sigmoid(-x);
}

/// <summary>lo &lt;= x &lt;= hi ? dx + dy : dx (bounds included, as PyTorch).</summary>
internal readonly struct ClampBackOp<T>(T lo, T hi) : IMap3<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x, Vector512<T> g, Vector512<T> d)
        => Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(x, Vector512.Create(lo)) & Vector512.LessThanOrEqual(x, Vector512.Create(hi)), d + g, d);
    public Vector256<T> Invoke(Vector256<T> x, Vector256<T> g, Vector256<T> d)
        => Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(x, Vector256.Create(lo)) & Vector256.LessThanOrEqual(x, Vector256.Create(hi)), d + g, d);
}

/// <summary>x &gt; 0 ? dx + dy : dx.</summary>
internal readonly struct ReluBackOp<T> : IMap3<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x, Vector512<T> g, Vector512<T> d) => Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<T>.Zero), d + g, d);
    public Vector256<T> Invoke(Vector256<T> x, Vector256<T> g, Vector256<T> d) => Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<T>.Zero), d + g, d);
}

/// <summary>dx + (x &gt; 0 ? dy : slope dy).</summary>
internal readonly struct LeakyReluBackOp<T>(T slope) : IMap3<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x, Vector512<T> g, Vector512<T> d)
        => d + Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<T>.Zero), g, g * Vector512.Create(slope));
    public Vector256<T> Invoke(Vector256<T> x, Vector256<T> g, Vector256<T> d)
        => d + Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<T>.Zero), g, g * Vector256.Create(slope));
}

/// <summary>dx + dy * y * (1 - y).</summary>
internal readonly struct SigmoidBackOp<T> : IMap3<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> y, Vector512<T> g, Vector512<T> d) => d + g * y * (Vector512<T>.One - y);
    public Vector256<T> Invoke(Vector256<T> y, Vector256<T> g, Vector256<T> d) => d + g * y * (Vector256<T>.One - y);
}

/// <summary>dx + dy * (1 - y * y).</summary>
internal readonly struct TanhBackOp<T> : IMap3<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> y, Vector512<T> g, Vector512<T> d) => d + g * (Vector512<T>.One - y * y);
    public Vector256<T> Invoke(Vector256<T> y, Vector256<T> g, Vector256<T> d) => d + g * (Vector256<T>.One - y * y);
}

/// <summary>dx + (dy * p) * t, t = x^(p - 1) precomputed.</summary>
internal readonly struct PowBackOp<T>(T p) : IMap3<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> t, Vector512<T> g, Vector512<T> d) => d + g * Vector512.Create(p) * t;
    public Vector256<T> Invoke(Vector256<T> t, Vector256<T> g, Vector256<T> d) => d + g * Vector256.Create(p) * t;
}
