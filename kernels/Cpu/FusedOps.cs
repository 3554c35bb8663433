using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Engine.Kernels.Cpu;

// The per-element rules of the fused kernels, one struct per rule, each at both vector widths. Every rule is the
// same expression as its scalar twin in ReferenceFused, written with FusedMath's vector exp/log; the two methods of
// a struct are the same text with the width changed.

// ---- forward activations applied to x + bias (IVecOp2: a = x, b = bias) ----

internal readonly struct BiasIdentityOp<T> : IVecOp2<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<T> Invoke(Vector512<T> a, Vector512<T> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<T> Invoke(Vector256<T> a, Vector256<T> b) => a + b;
}

/// <summary>v &lt; 0 ? 0 : v (NaN stays NaN, -0 stays -0).</summary>
internal readonly struct BiasReluOp<T> : IVecOp2<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<T> Invoke(Vector512<T> a, Vector512<T> b)
    {
        var v = a + b;
        return Vector512.ConditionalSelect(Vector512.LessThan(v, Vector512<T>.Zero), Vector512<T>.Zero, v);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<T> Invoke(Vector256<T> a, Vector256<T> b)
    {
        var v = a + b;
        return Vector256.ConditionalSelect(Vector256.LessThan(v, Vector256<T>.Zero), Vector256<T>.Zero, v);
    }
}

/// <summary>v &lt; 0 ? slope * v : v.</summary>
internal readonly struct BiasLeakyReluOp<T>(T slope) : IVecOp2<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T _slope = slope;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<T> Invoke(Vector512<T> a, Vector512<T> b)
    {
        var v = a + b;
        return Vector512.ConditionalSelect(Vector512.LessThan(v, Vector512<T>.Zero), v * Vector512.Create(_slope), v);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<T> Invoke(Vector256<T> a, Vector256<T> b)
    {
        var v = a + b;
        return Vector256.ConditionalSelect(Vector256.LessThan(v, Vector256<T>.Zero), v * Vector256.Create(_slope), v);
    }
}

internal readonly struct BiasSigmoidOp<T> : IVecOp2<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<T> Invoke(Vector512<T> a, Vector512<T> b) => FusedMath.Sigmoid(a + b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<T> Invoke(Vector256<T> a, Vector256<T> b) => FusedMath.Sigmoid(a + b);
}

internal readonly struct BiasTanhOp<T> : IVecOp2<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<T> Invoke(Vector512<T> a, Vector512<T> b) => FusedMath.Tanh(a + b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<T> Invoke(Vector256<T> a, Vector256<T> b) => FusedMath.Tanh(a + b);
}

internal readonly struct BiasSoftplusOp<T> : IVecOp2<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<T> Invoke(Vector512<T> a, Vector512<T> b) => FusedMath.Softplus(a + b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<T> Invoke(Vector256<T> a, Vector256<T> b) => FusedMath.Softplus(a + b);
}

// ---- activation derivatives expressed through the forward output y (IVecOp1) ----

internal readonly struct GradIdentityOp<T> : IVecOp1<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<T> Invoke(Vector512<T> y) => Vector512<T>.One;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<T> Invoke(Vector256<T> y) => Vector256<T>.One;
}

/// <summary>y &gt; 0 ? 1 : negSlope (ReLU: negSlope = 0; leaky ReLU: its slope, which must be &gt;= 0 so that the
/// sign of y tells the side of the kink).</summary>
internal readonly struct GradReluOp<T>(T negSlope) : IVecOp1<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T _negSlope = negSlope;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<T> Invoke(Vector512<T> y)
        => Vector512.ConditionalSelect(Vector512.GreaterThan(y, Vector512<T>.Zero), Vector512<T>.One, Vector512.Create(_negSlope));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<T> Invoke(Vector256<T> y)
        => Vector256.ConditionalSelect(Vector256.GreaterThan(y, Vector256<T>.Zero), Vector256<T>.One, Vector256.Create(_negSlope));
}

/// <summary>sigma' = y (1 - y).</summary>
internal readonly struct GradSigmoidOp<T> : IVecOp1<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<T> Invoke(Vector512<T> y) => y * (Vector512<T>.One - y);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<T> Invoke(Vector256<T> y) => y * (Vector256<T>.One - y);
}

/// <summary>tanh' = 1 - y^2, as (1 - y)(1 + y): 1 - y is exact near |y| = 1, where 1 - y*y would cancel.</summary>
internal readonly struct GradTanhOp<T> : IVecOp1<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<T> Invoke(Vector512<T> y) => (Vector512<T>.One - y) * (Vector512<T>.One + y);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<T> Invoke(Vector256<T> y) => (Vector256<T>.One - y) * (Vector256<T>.One + y);
}

/// <summary>softplus'(v) = sigma(v) = 1 - e^-y with y = softplus(v); computed as -expm1(-y), which keeps its
/// relative accuracy when y (and the derivative) is tiny.</summary>
internal readonly struct GradSoftplusOp<T> : IVecOp1<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<T> Invoke(Vector512<T> y) => -FusedMath.Expm1(-y);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<T> Invoke(Vector256<T> y) => -FusedMath.Expm1(-y);
}

// ---- per-element terms of the row losses ----

/// <summary>
/// max(l, 0) - l t + ln(1 + e^-|l|), with the first two terms as |l| * (l &gt; 0 ? 1 - t : t): the same number for
/// finite l, but defined (as its limit) when |l| = Inf and the weight is 0 (l = +Inf, t = 1 or l = -Inf, t = 0 give
/// a loss of 0, not Inf - Inf = NaN). ln(1 + e^-|l|) is evaluated with the log1p trick so that it stays accurate
/// for large |l| and is exactly 0 at |l| = Inf.
/// </summary>
internal readonly struct BceTermOp<T> : IVecOp2<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<T> Invoke(Vector512<T> l, Vector512<T> t)
    {
        var a = Vector512.Abs(l);
        var w = Vector512.ConditionalSelect(Vector512.GreaterThan(l, Vector512<T>.Zero), Vector512<T>.One - t, t);
        var lin = Vector512.ConditionalSelect(Vector512.Equals(w, Vector512<T>.Zero), Vector512<T>.Zero, a * w);
        return lin + FusedMath.Log1pNonNegative(FusedMath.Exp(-a));
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<T> Invoke(Vector256<T> l, Vector256<T> t)
    {
        var a = Vector256.Abs(l);
        var w = Vector256.ConditionalSelect(Vector256.GreaterThan(l, Vector256<T>.Zero), Vector256<T>.One - t, t);
        var lin = Vector256.ConditionalSelect(Vector256.Equals(w, Vector256<T>.Zero), Vector256<T>.Zero, a * w);
        return lin + FusedMath.Log1pNonNegative(FusedMath.Exp(-a));
    }
}

/// <summary>e^lv + mu^2 - 1 - lv (twice the KL term of one latent dimension), evaluated left to right.</summary>
internal readonly struct KlTermOp<T> : IVecOp2<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<T> Invoke(Vector512<T> mu, Vector512<T> lv) => FusedMath.Exp(lv) + mu * mu - Vector512<T>.One - lv;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<T> Invoke(Vector256<T> mu, Vector256<T> lv) => FusedMath.Exp(lv) + mu * mu - Vector256<T>.One - lv;
}

/// <summary>(ln 2pi + lv) + (x - mu)^2 e^-lv (minus twice the log density of one dimension).</summary>
internal readonly struct GaussTermOp<T>(T log2Pi) : IVecOp3<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T _log2Pi = log2Pi;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<T> Invoke(Vector512<T> x, Vector512<T> mu, Vector512<T> lv)
    {
        var d = x - mu;
        return (Vector512.Create(_log2Pi) + lv) + d * d * FusedMath.Exp(-lv);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<T> Invoke(Vector256<T> x, Vector256<T> mu, Vector256<T> lv)
    {
        var d = x - mu;
        return (Vector256.Create(_log2Pi) + lv) + d * d * FusedMath.Exp(-lv);
    }
}

/// <summary>mu + e^(lv / 2) * eps (the reparameterisation trick of Kingma and Welling 2014).</summary>
internal readonly struct ReparamOp<T> : IVecOp3<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<T> Invoke(Vector512<T> mu, Vector512<T> lv, Vector512<T> eps)
        => mu + FusedMath.Exp(lv * Vector512.Create(T.CreateTruncating(0.5))) * eps;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<T> Invoke(Vector256<T> mu, Vector256<T> lv, Vector256<T> eps)
        => mu + FusedMath.Exp(lv * Vector256.Create(T.CreateTruncating(0.5))) * eps;
}
