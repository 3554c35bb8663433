using System.Numerics;
using Engine.Kernels.Cpu;

namespace Engine.Kernels.Reference;

/// <summary>
/// Plain scalar twins of the elementwise CPU kernels (<see cref="Unary"/>, <see cref="Strided"/>, <see cref="Rows"/>,
/// <see cref="LossGradients"/>, <see cref="Optimizers"/>): the same signatures, one loop per kernel, each formula
/// written once in its most direct stable form. They define the semantics (NaN and infinity handling included) that
/// the vectorised kernels reproduce, serve as the test oracle, and are the fallback on hardware without AVX2.
/// </summary>
/// <remarks>
/// <para>Transcendental functions are the runtime's scalar ones (T.Exp, T.Log, T.Tanh, T.Pow). ln(1 + x) uses
/// Goldberg's trick, because <c>T.LogP1</c> is computed as Log(x + 1) and returns 0 for |x| below eps / 2.</para>
/// <para>Unary rules (forward y = f(x); backward dx += dy f'(x), the derivative read from x or from y = f(x)):
/// <list type="bullet">
/// <item>relu: NaN ? x : x &gt; 0 ? x : +0 (so relu(-inf) = 0); backward x &gt; 0 ? dx + dy : dx (an inactive unit
/// passes nothing, not even a NaN or infinite dy). Leaky relu with slope s != 0: NaN ? x : x &gt; 0 ? x : s x;
/// backward dx + (x &gt; 0 ? dy : s dy); slope 0 is relu.</item>
/// <item>sigmoid: e = e^-|x|, r = 1 / (1 + e), x &gt;= 0 ? r : e r (no overflow; full relative accuracy for x &lt;&lt; 0);
/// backward dx + dy y (1 - y).</item>
/// <item>tanh: T.Tanh; backward dx + dy (1 - y y).</item>
/// <item>softplus: (x &gt; 0 ? x : 0) + ln(1 + e^-|x|); log sigmoid: -softplus(-x); backward dx + dy sigmoid(x) and
/// dx + dy sigmoid(-x).</item>
/// <item>exp: backward dx + dy y. log: backward dx + dy / x. log1p: backward dx + dy / (1 + x). sqrt: backward
/// dx + (dy 1/2) / y. square: x x, backward dx + (dy 2) x. abs: backward dx + dy sign(x) with sign(0) = sign(NaN) = 0.
/// neg: backward dx - dy.</item>
/// <item>pow: T.Pow(x, p); backward dx + (dy p) T.Pow(x, p - 1), nothing when p == 0.</item>
/// <item>clamp: x &lt; lo ? lo : x &gt; hi ? hi : x (NaN passes); backward lo &lt;= x &lt;= hi ? dx + dy : dx.</item>
/// <item>scale: x p, backward dx + dy p. add scalar: x + p, backward dx + dy.</item>
/// </list></para>
/// <para>Strided kernels visit the index space of <c>shape</c> in row-major order and compute each operand's offset
/// as sum_d index[d] stride[d]; outputs are contiguous.</para>
/// </remarks>
public static class ReferenceElementwise
{
    // ---------------------------------------------------------------- scalar functions

    /// <summary>ln(1 + x), accurate near 0 (Goldberg 1991, Theorem 4): u = 1 + x rounds, but ln(u) / (u - 1) is flat
    /// enough that the rounding cancels; u == 1 gives x (so -0 stays -0); +inf stays +inf; x &lt; -1 is NaN.</summary>
    public static T Log1p<T>(T x) where T : IFloatingPointIeee754<T>
    {
        if (T.IsPositiveInfinity(x)) return x;
        T u = T.One + x;
        T d = u - T.One;
        return d == T.Zero ? x : T.Log(u) * (x / d);
    }

    /// <summary>The logistic sigmoid: e = e^-|x|, r = 1 / (1 + e), x &gt;= 0 ? r : e r; NaN stays NaN.</summary>
    public static T Sigmoid<T>(T x) where T : IFloatingPointIeee754<T>
    {
        T e = T.Exp(-T.Abs(x));
        T r = T.One / (T.One + e);
        return x >= T.Zero ? r : e * r;
    }

    /// <summary>ln(1 + e^x) = (x &gt; 0 ? x : 0) + ln(1 + e^-|x|): finite for finite x, exact limits at +-inf.</summary>
    public static T Softplus<T>(T x) where T : IFloatingPointIeee754<T>
        => (x > T.Zero ? x : T.Zero) + Log1p(T.Exp(-T.Abs(x)));

    /// <summary>f(x) for one element (see the class remarks).</summary>
    public static T UnaryValue<T>(UnaryOp op, T x, T p0, T p1) where T : IFloatingPointIeee754<T>
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
            case UnaryOp.LeakyRelu:
                if (p0 == T.Zero) goto case UnaryOp.Relu;
                return T.IsNaN(x) ? x : x > T.Zero ? x : x * p0;
            case UnaryOp.Sigmoid: return Sigmoid(x);
            case UnaryOp.Tanh: return T.Tanh(x);
            case UnaryOp.Softplus: return Softplus(x);
            case UnaryOp.LogSigmoid: return -Softplus(-x);
            case UnaryOp.Pow: return T.Pow(x, p0);
            case UnaryOp.Clamp: return x < p0 ? p0 : x > p1 ? p1 : x;
            case UnaryOp.Scale: return x * p0;
            case UnaryOp.AddScalar: return x + p0;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "Unknown unary op.");
        }
    }

    /// <summary>The new dx of one element: dx + dy f'(x) (see the class remarks).</summary>
    public static T UnaryBackwardValue<T>(UnaryOp op, T x, T y, T dy, T dx, T p0, T p1) where T : IFloatingPointIeee754<T>
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
            case UnaryOp.LeakyRelu:
                if (p0 == T.Zero) goto case UnaryOp.Relu;
                return dx + (x > T.Zero ? dy : dy * p0);
            case UnaryOp.Sigmoid: return dx + dy * y * (one - y);
            case UnaryOp.Tanh: return dx + dy * (one - y * y);
            case UnaryOp.Softplus: return dx + dy * Sigmoid(x);
            case UnaryOp.LogSigmoid: return dx + dy * Sigmoid(-x);
            case UnaryOp.Pow: return p0 == T.Zero ? dx : dx + dy * p0 * T.Pow(x, p0 - one);
            case UnaryOp.Clamp: return x >= p0 && x <= p1 ? dx + dy : dx;
            case UnaryOp.Scale: return dx + dy * p0;
            case UnaryOp.AddScalar: return dx + dy;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "Unknown unary op.");
        }
    }

    // ---------------------------------------------------------------- Unary

    /// <summary>y[i] = f(x[i]); y may be x.</summary>
    public static void UnaryForward<T>(UnaryOp op, ReadOnlySpan<T> x, Span<T> y, T p0, T p1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (y.Length != x.Length)
            throw new ArgumentException($"Output length {y.Length} differs from input length {x.Length}.", nameof(y));
        for (int i = 0; i < x.Length; i++) y[i] = UnaryValue(op, x[i], p0, p1);
    }

    /// <summary>dx[i] = dx[i] + dy[i] f'(x[i]), f' read from x or from y = f(x).</summary>
    public static void UnaryBackwardAccumulate<T>(UnaryOp op, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, T p0, T p1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = dx.Length;
        if (x.Length != n || y.Length != n || dy.Length != n)
            throw new ArgumentException($"Lengths differ: x {x.Length}, y {y.Length}, dy {dy.Length}, dx {n}.");
        for (int i = 0; i < n; i++) dx[i] = UnaryBackwardValue(op, x[i], y[i], dy[i], dx[i], p0, p1);
    }

    // ---------------------------------------------------------------- Strided

    // The offset of flat (row-major) index `flat` of `shape` in an operand with `strides`.
    private static int Offset(int flat, ReadOnlySpan<int> shape, ReadOnlySpan<int> strides)
    {
        int off = 0;
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            int k = flat % shape[d];
            flat /= shape[d];
            off += k * strides[d];
        }
        return off;
    }

    /// <summary>y[i] = a[i·aStrides] op b[i·bStrides] for every index i of <paramref name="shape"/>.</summary>
    public static void Binary<T>(BinaryOp op, ReadOnlySpan<T> a, ReadOnlySpan<int> aStrides, ReadOnlySpan<T> b, ReadOnlySpan<int> bStrides,
        Span<T> y, ReadOnlySpan<int> shape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int total = Strided.Count(shape);
        for (int i = 0; i < total; i++)
            y[i] = Strided.Apply(op, a[Offset(i, shape, aStrides)], b[Offset(i, shape, bStrides)]);
    }

    /// <summary>dst[i·dstStrides] += src[i], i in row-major order.</summary>
    public static void SumInto<T>(ReadOnlySpan<T> src, ReadOnlySpan<int> shape, Span<T> dst, ReadOnlySpan<int> dstStrides)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int total = Strided.Count(shape);
        for (int i = 0; i < total; i++) dst[Offset(i, shape, dstStrides)] += src[i];
    }

    /// <summary>y[i] = x[i·xStrides], or y[i] += x[i·xStrides] when <paramref name="accumulate"/>.</summary>
    public static void Copy<T>(ReadOnlySpan<T> x, ReadOnlySpan<int> xStrides, Span<T> y, ReadOnlySpan<int> shape, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int total = Strided.Count(shape);
        for (int i = 0; i < total; i++)
        {
            T v = x[Offset(i, shape, xStrides)];
            y[i] = accumulate ? y[i] + v : v;
        }
    }

    /// <summary>y[i] = mask[i·mStrides] != 0 ? a[i·aStrides] : b[i·bStrides] (a NaN mask selects a).</summary>
    public static void Where<T>(ReadOnlySpan<T> mask, ReadOnlySpan<int> mStrides, ReadOnlySpan<T> a, ReadOnlySpan<int> aStrides,
        ReadOnlySpan<T> b, ReadOnlySpan<int> bStrides, Span<T> y, ReadOnlySpan<int> shape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int total = Strided.Count(shape);
        for (int i = 0; i < total; i++)
            y[i] = mask[Offset(i, shape, mStrides)] != T.Zero ? a[Offset(i, shape, aStrides)] : b[Offset(i, shape, bStrides)];
    }

    // ---------------------------------------------------------------- Rows

    /// <summary>dst[i, c] = src[indices[i], c]; an index outside [0, rows) throws (unless rows are empty).</summary>
    public static void Gather<T>(ReadOnlySpan<T> src, int rowLength, ReadOnlySpan<int> indices, Span<T> dst) where T : unmanaged
    {
        int rows = rowLength == 0 ? 0 : src.Length / rowLength;
        for (int i = 0; i < indices.Length; i++)
        {
            int r = indices[i];
            if ((uint)r >= (uint)rows && rowLength != 0)
                throw new ArgumentOutOfRangeException(nameof(indices), $"Index {r} at position {i} is out of range for {rows} rows.");
            for (int c = 0; c < rowLength; c++) dst[i * rowLength + c] = src[r * rowLength + c];
        }
    }

    /// <summary>dst[indices[i], c] += src[i, c], i in order (repeated indices accumulate); an index outside the rows of dst throws.</summary>
    public static void ScatterAdd<T>(ReadOnlySpan<T> src, int rowLength, ReadOnlySpan<int> indices, Span<T> dst) where T : unmanaged, INumber<T>
    {
        int rows = rowLength == 0 ? 0 : dst.Length / rowLength;
        for (int i = 0; i < indices.Length; i++)
        {
            int r = indices[i];
            if ((uint)r >= (uint)rows && rowLength != 0)
                throw new ArgumentOutOfRangeException(nameof(indices), $"Index {r} at position {i} is out of range for {rows} rows.");
            for (int c = 0; c < rowLength; c++) dst[r * rowLength + c] += src[i * rowLength + c];
        }
    }

    // ---------------------------------------------------------------- LossGradients

    /// <summary>dLogits += dy[r] (sigmoid(l) - t); dTargets -= dy[r] l (either may be empty).</summary>
    public static void BceWithLogitsRows<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, ReadOnlySpan<T> dyRows,
        Span<T> dLogits, Span<T> dTargets, int rows, int cols) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = 0; r < rows; r++)
        {
            T g = dyRows[r];
            for (int c = 0; c < cols; c++)
            {
                int i = r * cols + c;
                if (!dLogits.IsEmpty) dLogits[i] += g * (Sigmoid(logits[i]) - targets[i]);
                if (!dTargets.IsEmpty) dTargets[i] -= g * logits[i];
            }
        }
    }

    /// <summary>With d = (x - mu) e^-logvar: dx -= dy d; dMu += dy d; dLogvar += dy (1/2 d (x - mu) - 1/2) (each may be empty).</summary>
    public static void GaussianLogDensityRows<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> mu, ReadOnlySpan<T> logvar, ReadOnlySpan<T> dyRows,
        Span<T> dx, Span<T> dMu, Span<T> dLogvar, int rows, int cols) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T half = T.One / (T.One + T.One);
        for (int r = 0; r < rows; r++)
        {
            T g = dyRows[r];
            for (int c = 0; c < cols; c++)
            {
                int i = r * cols + c;
                T diff = x[i] - mu[i];
                T d = diff * T.Exp(-logvar[i]);
                if (!dx.IsEmpty) dx[i] -= g * d;
                if (!dMu.IsEmpty) dMu[i] += g * d;
                if (!dLogvar.IsEmpty) dLogvar[i] += g * (half * d * diff - half);
            }
        }
    }

    // ---------------------------------------------------------------- Optimizers

    /// <summary>
    /// SGD (PyTorch's formulation): d = g + wd p; with a momentum buffer b = first ? d : momentum b + (1 - dampening) d,
    /// d = nesterov ? d + momentum b : b; then p -= lr d.
    /// </summary>
    public static void Sgd<T>(Span<T> p, ReadOnlySpan<T> g, Span<T> buf, T lr, T momentum, T dampening, T weightDecay, bool nesterov, bool firstStep)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (g.Length != p.Length) throw new ArgumentException($"Gradient length {g.Length} differs from parameter length {p.Length}.", nameof(g));
        bool useMomentum = !buf.IsEmpty;
        for (int i = 0; i < p.Length; i++)
        {
            T d = g[i] + weightDecay * p[i];
            if (useMomentum)
            {
                T b = firstStep ? d : momentum * buf[i] + (T.One - dampening) * d;
                buf[i] = b;
                d = nesterov ? d + momentum * b : b;
            }
            p[i] -= lr * d;
        }
    }
}
