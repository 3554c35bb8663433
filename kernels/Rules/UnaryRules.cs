using System.Numerics;
using Engine.Kernels.Cpu;

namespace Engine.Kernels.Rules;

/// <summary>
/// The value rule y = f(x) and the backward rule dx + dy f'(x) of every <see cref="UnaryOp"/>, each written once.
/// The scalar reference (<see cref="Reference.ReferenceElementwise.UnaryForward{T}"/>,
/// <see cref="Reference.ReferenceElementwise.UnaryBackwardAccumulate{T}"/>) and the device kernels
/// (<see cref="Gpu.ElementwiseKernels.Unary{T}"/>, <see cref="Gpu.ElementwiseKernels.UnaryBackward{T}"/>) evaluate
/// these methods per element; the one fast twin is <see cref="Unary"/> (a TensorPrimitives call or a
/// <see cref="Simd"/> struct per rule), and the kernel tests hold it against this table on every vector path.
/// </summary>
/// <remarks>
/// <para>Form: ILGPU compiles these methods into the device kernels, so they use only what it translates for every
/// backend: arithmetic, comparisons, <c>T.IsNaN</c>, constants and the runtime's math functions (T.Exp, T.Log, T.Sqrt,
/// T.Tanh, T.Pow); no throw, no generic conversions, no bit casts. An op code outside <see cref="UnaryOp"/> gives NaN;
/// hosts reject it with <see cref="Validate"/> before they run a rule.</para>
/// <para>The rules, with the fast kernel of each (forward; backward). The backward reads the forward input x or the
/// output y = f(x), whichever is cheaper. Comparisons with NaN are false, which fixes every NaN case not named.
/// <list type="bullet">
/// <item><term>Neg</term><description>-x; dx - dy. Fast: TensorPrimitives.Negate; TensorPrimitives.Subtract.</description></item>
/// <item><term>Exp</term><description>e^x; dx + dy y. Fast: <see cref="ExpOp{T}"/>; TensorPrimitives.MultiplyAdd.</description></item>
/// <item><term>Log</term><description>ln x; dx + dy / x. Fast: TensorPrimitives.Log; <see cref="LogBackOp{T}"/>.</description></item>
/// <item><term>Log1p</term><description><see cref="Log1p{T}"/>; dx + dy / (1 + x). Fast: <see cref="Log1pOp{T}"/>; <see cref="Log1pBackOp{T}"/>.</description></item>
/// <item><term>Sqrt</term><description>sqrt x; dx + (dy 1/2) / y. Fast: TensorPrimitives.Sqrt; <see cref="SqrtBackOp{T}"/>.</description></item>
/// <item><term>Square</term><description>x x; dx + (dy 2) x. Fast: TensorPrimitives.Multiply; <see cref="SquareBackOp{T}"/>.</description></item>
/// <item><term>Abs</term><description>|x|; dx + dy sign(x) with sign(0) = sign(NaN) = 0. Fast: TensorPrimitives.Abs; <see cref="AbsBackOp{T}"/>.</description></item>
/// <item><term>Relu</term><description>NaN ? x : x &gt; 0 ? x : +0 (so relu(-inf) = 0); x &gt; 0 ? dx + dy : dx (an inactive
/// unit passes nothing, not even a NaN or infinite dy). Fast: <see cref="ReluOp{T}"/>; <see cref="ReluBackOp{T}"/>.</description></item>
/// <item><term>LeakyRelu</term><description>slope s = p0; s == 0 is relu; else NaN ? x : x &gt; 0 ? x : s x and
/// dx + (x &gt; 0 ? dy : s dy). Fast: <see cref="LeakyReluOp{T}"/>; <see cref="LeakyReluBackOp{T}"/>.</description></item>
/// <item><term>Sigmoid</term><description><see cref="Sigmoid{T}"/>; dx + dy y (1 - y). Fast: <see cref="SigmoidOp{T}"/>; <see cref="SigmoidBackOp{T}"/>.</description></item>
/// <item><term>Tanh</term><description>T.Tanh; dx + dy (1 - y y). Fast: <see cref="TanhOp{T}"/>; <see cref="TanhBackOp{T}"/>.</description></item>
/// <item><term>Softplus</term><description><see cref="Softplus{T}"/>; dx + dy sigmoid(x). Fast: <see cref="SoftplusOp{T}"/>; <see cref="SoftplusBackOp{T}"/>.</description></item>
/// <item><term>LogSigmoid</term><description>-softplus(-x); dx + dy sigmoid(-x). Fast: <see cref="LogSigmoidOp{T}"/>; <see cref="LogSigmoidBackOp{T}"/>.</description></item>
/// <item><term>Pow</term><description>T.Pow(x, p0); dx + (dy p0) T.Pow(x, p0 - 1), dx unchanged when p0 == 0. Fast:
/// TensorPrimitives.Pow; TensorPrimitives.Pow into a chunk, then <see cref="PowBackOp{T}"/>.</description></item>
/// <item><term>Clamp</term><description>x &lt; p0 ? p0 : x &gt; p1 ? p1 : x (NaN passes); p0 &lt;= x &lt;= p1 ? dx + dy : dx
/// (bounds included, as PyTorch). Fast: <see cref="ClampOp{T}"/>; <see cref="ClampBackOp{T}"/>.</description></item>
/// <item><term>Scale</term><description>x p0; dx + dy p0. Fast: TensorPrimitives.Multiply; TensorPrimitives.MultiplyAdd.</description></item>
/// <item><term>AddScalar</term><description>x + p0; dx + dy. Fast: TensorPrimitives.Add; TensorPrimitives.Add.</description></item>
/// </list></para>
/// <para>The public methods are the <c>Tensor</c> methods of the same names in the engine (Exp, Relu, Pow(p), Clamp(lo, hi),
/// Mul(s) for Scale, Add(s) for AddScalar, ...), which record the op for the backward pass.</para>
/// </remarks>
public static class UnaryRules
{
    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> unless <paramref name="op"/> is a member of
    /// <see cref="UnaryOp"/>. Host code only: the rules themselves return NaN for such a code.</summary>
    public static void Validate(UnaryOp op)
    {
        if (!Enum.IsDefined(op)) throw new ArgumentOutOfRangeException(nameof(op), op, "Unknown unary op.");
    }

    /// <summary>f(x) of one element (see the class remarks); NaN for an op code outside <see cref="UnaryOp"/>.</summary>
    public static T Value<T>(UnaryOp op, T x, T p0, T p1) where T : IFloatingPointIeee754<T>
    {
        switch (op)
        {
            case UnaryOp.Neg: return -x;
            case UnaryOp.Exp: return T.Exp(x);
            case UnaryOp.Log: return T.Log(x);
            case UnaryOp.Log1p: return Log1p(x);
            case UnaryOp.Sqrt: return T.Sqrt(x);
            case UnaryOp.Square: return x * x;
            case UnaryOp.Abs: return T.Abs(x);
            case UnaryOp.Relu: return T.IsNaN(x) ? x : x > T.Zero ? x : T.Zero;
            case UnaryOp.LeakyRelu: return T.IsNaN(x) ? x : x > T.Zero ? x : p0 == T.Zero ? T.Zero : x * p0;
            case UnaryOp.Sigmoid: return Sigmoid(x);
            case UnaryOp.Tanh: return T.Tanh(x);
            case UnaryOp.Softplus: return Softplus(x);
            case UnaryOp.LogSigmoid: return -Softplus(-x);
            case UnaryOp.Pow: return T.Pow(x, p0);
            case UnaryOp.Clamp: return x < p0 ? p0 : x > p1 ? p1 : x;
            case UnaryOp.Scale: return x * p0;
            case UnaryOp.AddScalar: return x + p0;
            default: return T.NaN;
        }
    }

    /// <summary>The new dx of one element, dx + dy f'(x), given the forward input x and output y (see the class
    /// remarks); NaN for an op code outside <see cref="UnaryOp"/>.</summary>
    public static T Backward<T>(UnaryOp op, T x, T y, T dy, T dx, T p0, T p1) where T : IFloatingPointIeee754<T>
    {
        T one = T.One, two = T.One + T.One, half = T.One / two;
        switch (op)
        {
            case UnaryOp.Neg: return dx - dy;
            case UnaryOp.Exp: return dx + dy * y;
            case UnaryOp.Log: return dx + dy / x;
            case UnaryOp.Log1p: return dx + dy / (one + x);
            case UnaryOp.Sqrt: return dx + dy * half / y;
            case UnaryOp.Square: return dx + dy * two * x;
            case UnaryOp.Abs: return dx + dy * (x > T.Zero ? one : x < T.Zero ? -one : T.Zero);
            case UnaryOp.Relu: return x > T.Zero ? dx + dy : dx;
            case UnaryOp.LeakyRelu: return x > T.Zero ? dx + dy : p0 == T.Zero ? dx : dx + dy * p0;
            case UnaryOp.Sigmoid: return dx + dy * y * (one - y);
            case UnaryOp.Tanh: return dx + dy * (one - y * y);
            case UnaryOp.Softplus: return dx + dy * Sigmoid(x);
            case UnaryOp.LogSigmoid: return dx + dy * Sigmoid(-x);
            case UnaryOp.Pow: return p0 == T.Zero ? dx : dx + dy * p0 * T.Pow(x, p0 - one);
            case UnaryOp.Clamp: return x >= p0 && x <= p1 ? dx + dy : dx;
            case UnaryOp.Scale: return dx + dy * p0;
            case UnaryOp.AddScalar: return dx + dy;
            default: return T.NaN;
        }
    }

    /// <summary>ln(1 + x), accurate near 0 (Goldberg 1991, Theorem 4): u = 1 + x rounds, but ln(u) / (u - 1) is flat
    /// enough that the rounding cancels; u == 1 gives x (so -0 stays -0); +inf stays +inf; x &lt; -1 is NaN.
    /// <c>T.LogP1</c> is not used: it computes Log(x + 1) and returns 0 for |x| below eps / 2.</summary>
    public static T Log1p<T>(T x) where T : IFloatingPointIeee754<T>
    {
        if (x == T.PositiveInfinity) return x;
        T u = T.One + x;
        T d = u - T.One;
        return d == T.Zero ? x : T.Log(u) * (x / d);
    }

    /// <summary>The logistic sigmoid: e = e^-|x|, r = 1 / (1 + e), x &gt;= 0 ? r : e r (no overflow; full relative
    /// accuracy for x &lt;&lt; 0); NaN stays NaN.</summary>
    public static T Sigmoid<T>(T x) where T : IFloatingPointIeee754<T>
    {
        T e = T.Exp(-T.Abs(x));
        T r = T.One / (T.One + e);
        return x >= T.Zero ? r : e * r;
    }

    /// <summary>ln(1 + e^x) = (x &gt; 0 ? x : 0) + ln(1 + e^-|x|): finite for finite x, exact limits at +-inf.</summary>
    public static T Softplus<T>(T x) where T : IFloatingPointIeee754<T>
        => (x > T.Zero ? x : T.Zero) + Log1p(T.Exp(-T.Abs(x)));
}
