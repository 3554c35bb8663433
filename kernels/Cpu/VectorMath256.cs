// GENERATED from VectorMath512.cs by: sed 's/Vector512/Vector256/g' VectorMath512.cs (plus these two lines);
// VectorMathSourceTests regenerates it the same way and fails when the two drift: edit VectorMath512.cs only.
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Engine.Kernels.Cpu;

// The Vector256 half of VectorMath (see VectorMath.cs for the algorithms' error bounds). VectorMath256.cs is
// generated from this file: sed 's/Vector256/Vector256/g' VectorMath512.cs, plus a two-line header.
internal static partial class VectorMath
{
    /// <summary>e^x, float, &lt;= 1 ulp. NaN in, same NaN out; exp(0) == 1 exactly.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        // Clamp first so that n stays in range; MaxNative/MinNative map NaN to a bound, which the final select undoes.
        var xc = Vector256.MinNative(Vector256.MaxNative(x, Vector256.Create(ExpMinF)), Vector256.Create(ExpMaxF));
        var magic = Vector256.Create(RoundMagicF);
        // x = n ln2 + r with n = round(x / ln2), |r| <= ln2 / 2 (Cody-Waite: r exact up to the Ln2LoF term).
        var t = Vector256.FusedMultiplyAdd(xc, Vector256.Create(Log2EF), magic);
        var n = t - magic;
        var ni = t.AsInt32() - magic.AsInt32();
        var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2HiF), xc);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2LoF), r);
        // e^r by its Taylor polynomial to degree 7: the remainder r^8/8! < 5.3e-9 (0.09 ulp) for |r| <= 0.347.
        var p = Vector256.Create(1f / 5040f);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f / 720f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f / 120f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f / 24f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f / 6f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(0.5f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256<float>.One);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256<float>.One);
        // 2^n in two halves, each a normal float even for n in [-150, 128]: the first product is exact, the
        // second rounds once, to a subnormal, zero or infinity where that is the answer.
        var n1 = Vector256.ShiftRightArithmetic(ni, 1);
        var n2 = ni - n1;
        var bias = Vector256.Create(127);
        var s1 = Vector256.ShiftLeft(n1 + bias, 23).AsSingle();
        var s2 = Vector256.ShiftLeft(n2 + bias, 23).AsSingle();
        var result = p * s1 * s2;
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), result, x);
    }

    /// <summary>e^x, double, &lt;= 1 ulp. NaN in, same NaN out; exp(0) == 1 exactly.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Exp(Vector256<double> x)
    {
        var xc = Vector256.MinNative(Vector256.MaxNative(x, Vector256.Create(ExpMinD)), Vector256.Create(ExpMaxD));
        var magic = Vector256.Create(RoundMagicD);
        var t = Vector256.FusedMultiplyAdd(xc, Vector256.Create(Log2ED), magic);
        var n = t - magic;
        var ni = t.AsInt64() - magic.AsInt64();
        var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2HiD), xc);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2LoD), r);
        // Taylor to degree 13: the remainder r^14/14! < 4.2e-18 (0.04 ulp) for |r| <= 0.347.
        var p = Vector256.Create(1.0 / 6227020800.0);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.0 / 479001600.0));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.0 / 39916800.0));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.0 / 3628800.0));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.0 / 362880.0));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.0 / 40320.0));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.0 / 5040.0));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.0 / 720.0));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.0 / 120.0));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.0 / 24.0));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.0 / 6.0));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(0.5));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256<double>.One);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256<double>.One);
        // n in [-1076, 1024]; halve it with a logical shift of n + 2048 (no 64-bit arithmetic shift before AVX-512).
        var n1 = Vector256.ShiftRightLogical(ni + Vector256.Create(2048L), 1) - Vector256.Create(1024L);
        var n2 = ni - n1;
        var bias = Vector256.Create(1023L);
        var s1 = Vector256.ShiftLeft(n1 + bias, 52).AsDouble();
        var s2 = Vector256.ShiftLeft(n2 + bias, 52).AsDouble();
        var result = p * s1 * s2;
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), result, x);
    }

    /// <summary>ln x, float, &lt;= 1 ulp. ln(+-0) = -Inf, ln(+Inf) = +Inf, ln(x &lt; 0) = NaN, NaN stays NaN; subnormals exact-range.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Log(Vector256<float> x)
    {
        // Subnormals: scale by 2^23 into the normal range and remember it in the exponent.
        var sub = Vector256.LessThan(x, Vector256.Create(MinNormalF));
        var xs = Vector256.ConditionalSelect(sub, x * Vector256.Create(Two23F), x);
        var eAdj = Vector256.ConditionalSelect(sub.AsInt32(), Vector256.Create(-23), Vector256<int>.Zero);
        // x = 2^e m with m in [sqrt(1/2), sqrt(2)): adding (1 - sqrt(1/2))'s bit distance carries into the exponent
        // exactly when the mantissa is >= sqrt(2)'s, so one integer add does the split without a compare.
        var bits = xs.AsInt32() + Vector256.Create(0x3F800000 - SqrtHalfBitsF);
        var e = Vector256.ShiftRightLogical(bits, 23) - Vector256.Create(127) + eAdj;
        var m = ((bits & Vector256.Create(0x007FFFFF)) + Vector256.Create(SqrtHalfBitsF)).AsSingle();
        var f = m - Vector256<float>.One;  // exact (Sterbenz)
        // ln(1 + f) = 2 atanh(s), s = f / (2 + f), |s| <= 0.1716. With 2s = f - s f this is f - s (f - R),
        // R = 2s^2/3 + 2s^4/5 + ...: the large part f is exact and only the small correction s (f - R) rounds.
        var s = f / (Vector256.Create(2f) + f);
        var z = s * s;
        var R = Vector256.Create(2f / 9f);
        R = Vector256.FusedMultiplyAdd(R, z, Vector256.Create(2f / 7f));
        R = Vector256.FusedMultiplyAdd(R, z, Vector256.Create(2f / 5f));
        R = Vector256.FusedMultiplyAdd(R, z, Vector256.Create(2f / 3f));
        R *= z;  // truncation 2 s^10 / 11 < 4e-9 relative to 2 s
        var logm = f - s * (f - R);
        var ef = Vector256.ConvertToSingle(e);
        var result = Vector256.FusedMultiplyAdd(ef, Vector256.Create(Ln2HiF), Vector256.FusedMultiplyAdd(ef, Vector256.Create(Ln2LoF), logm));
        result = Vector256.ConditionalSelect(Vector256.Equals(x, Vector256.Create(float.PositiveInfinity)), x, result);
        result = Vector256.ConditionalSelect(Vector256.Equals(x, Vector256<float>.Zero), Vector256.Create(float.NegativeInfinity), result);
        result = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<float>.Zero), Vector256.Create(float.NaN), result);
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), result, x);
    }

    /// <summary>ln x, double, &lt;= 1 ulp; the same scheme and special cases as the float version.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Log(Vector256<double> x)
    {
        var sub = Vector256.LessThan(x, Vector256.Create(MinNormalD));
        var xs = Vector256.ConditionalSelect(sub, x * Vector256.Create(Two52D), x);
        var eAdj = Vector256.ConditionalSelect(sub.AsInt64(), Vector256.Create(-52L), Vector256<long>.Zero);
        var bits = xs.AsInt64() + Vector256.Create(0x3FF0000000000000L - SqrtHalfBitsD);
        var e = Vector256.ShiftRightLogical(bits, 52) - Vector256.Create(1023L) + eAdj;
        var m = ((bits & Vector256.Create(0x000FFFFFFFFFFFFFL)) + Vector256.Create(SqrtHalfBitsD)).AsDouble();
        var f = m - Vector256<double>.One;
        var s = f / (Vector256.Create(2.0) + f);
        var z = s * s;
        // 2/3 .. 2/21: truncation 2 s^22 / 23 < 1e-18 relative to 2 s.
        var R = Vector256.Create(2.0 / 21.0);
        R = Vector256.FusedMultiplyAdd(R, z, Vector256.Create(2.0 / 19.0));
        R = Vector256.FusedMultiplyAdd(R, z, Vector256.Create(2.0 / 17.0));
        R = Vector256.FusedMultiplyAdd(R, z, Vector256.Create(2.0 / 15.0));
        R = Vector256.FusedMultiplyAdd(R, z, Vector256.Create(2.0 / 13.0));
        R = Vector256.FusedMultiplyAdd(R, z, Vector256.Create(2.0 / 11.0));
        R = Vector256.FusedMultiplyAdd(R, z, Vector256.Create(2.0 / 9.0));
        R = Vector256.FusedMultiplyAdd(R, z, Vector256.Create(2.0 / 7.0));
        R = Vector256.FusedMultiplyAdd(R, z, Vector256.Create(2.0 / 5.0));
        R = Vector256.FusedMultiplyAdd(R, z, Vector256.Create(2.0 / 3.0));
        R *= z;
        var logm = f - s * (f - R);
        // e is a small integer: convert through the bits of 1.5 * 2^52 (exact, and needs no AVX512DQ).
        var ef = (e + Vector256.Create(RoundMagicD).AsInt64()).AsDouble() - Vector256.Create(RoundMagicD);
        var result = Vector256.FusedMultiplyAdd(ef, Vector256.Create(Ln2HiD), Vector256.FusedMultiplyAdd(ef, Vector256.Create(Ln2LoD), logm));
        result = Vector256.ConditionalSelect(Vector256.Equals(x, Vector256.Create(double.PositiveInfinity)), x, result);
        result = Vector256.ConditionalSelect(Vector256.Equals(x, Vector256<double>.Zero), Vector256.Create(double.NegativeInfinity), result);
        result = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<double>.Zero), Vector256.Create(double.NaN), result);
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), result, x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Exp<T>(Vector256<T> x) where T : unmanaged, IFloatingPointIeee754<T>
        => typeof(T) == typeof(float) ? Exp(x.AsSingle()).As<float, T>() : Exp(x.AsDouble()).As<double, T>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Log<T>(Vector256<T> x) where T : unmanaged, IFloatingPointIeee754<T>
        => typeof(T) == typeof(float) ? Log(x.AsSingle()).As<float, T>() : Log(x.AsDouble()).As<double, T>();

    /// <summary>
    /// ln(1 + y) for y &gt;= 0 finite (the kernels call it on exp(-|v|) in [0, 1]), accurate to a few ulps even when
    /// y is far below the precision of 1 + y. Goldberg's trick ("What every computer scientist should know about
    /// floating-point arithmetic", 1991, Theorem 4): with u = fl(1 + y), ln(1 + y) = ln(u) * y / (u - 1), because the
    /// rounding error of u cancels between ln(u) and u - 1; when u == 1, ln(1 + y) = y to working precision.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Log1pNonNegative<T>(Vector256<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var u = Vector256<T>.One + y;
        var d = u - Vector256<T>.One;
        var r = Log(u) * (y / d);
        return Vector256.ConditionalSelect(Vector256.Equals(d, Vector256<T>.Zero), y, r);
    }

    /// <summary>
    /// e^x - 1, accurate to a few ulps near 0, by Kahan's trick (the companion of the one above): with u = fl(e^x),
    /// e^x - 1 = (u - 1) * x / ln(u). Edge cases: u == 1 gives x; u - 1 == -1 (x below about -17 or -37) gives -1;
    /// u == +Inf gives +Inf; NaN stays NaN.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Expm1<T>(Vector256<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var u = Exp(x);
        var um1 = u - Vector256<T>.One;
        var r = um1 * (x / Log(u));
        var minusOne = -Vector256<T>.One;
        r = Vector256.ConditionalSelect(Vector256.Equals(u, Vector256.Create(T.PositiveInfinity)), u, r);
        r = Vector256.ConditionalSelect(Vector256.Equals(um1, minusOne), minusOne, r);
        return Vector256.ConditionalSelect(Vector256.Equals(u, Vector256<T>.One), x, r);
    }

    /// <summary>1 / (1 + e^-v) in the form that never overflows and keeps relative accuracy for v &lt;&lt; 0:
    /// e = e^-|v|, sigma = 1 / (1 + e) for v &gt;= 0 and e / (1 + e) otherwise.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Sigmoid<T>(Vector256<T> v) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var e = Exp(-Vector256.Abs(v));
        var r = Vector256<T>.One / (Vector256<T>.One + e);
        return Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(v, Vector256<T>.Zero), r, e * r);
    }

    /// <summary>tanh v = sign(v) * (-m) / (2 + m) with m = e^(-2|v|) - 1: no cancellation for small |v| (m is
    /// computed by <see cref="Expm1{T}(Vector256{T})"/>) and no overflow for large |v| (m tends to -1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Tanh<T>(Vector256<T> v) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var a = Vector256.Abs(v);
        var m = Expm1(-(a + a));
        var t = -m / (Vector256.Create(T.One + T.One) + m);
        return Vector256.CopySign(t, v);
    }

    /// <summary>ln(1 + e^v) = max(v, 0) + ln(1 + e^-|v|): finite for every finite v, exact limits at +-Inf.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Softplus<T>(Vector256<T> v) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var pos = Vector256.ConditionalSelect(Vector256.GreaterThan(v, Vector256<T>.Zero), v, Vector256<T>.Zero);
        return pos + Log1pNonNegative(Exp(-Vector256.Abs(v)));
    }
}
