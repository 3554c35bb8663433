using System.Numerics;
using Engine.Kernels.Cpu;
using Engine.Kernels.Rules;

namespace Engine.Kernels.Reference;

/// <summary>
/// Plain scalar twins of the elementwise CPU kernels (<see cref="Unary"/>, <see cref="Strided"/>, <see cref="Rows"/>,
/// <see cref="LossGradients"/>, <see cref="SgdKernel"/>): the same signatures, one loop per kernel, each formula
/// written once in its most direct stable form. They define the semantics (NaN and infinity handling included) that
/// the vectorised kernels reproduce, serve as the test oracle, and are the fallback on hardware without AVX2.
/// </summary>
/// <remarks>
/// <para>Unary and binary rules are evaluated per element from <see cref="UnaryRules"/> and <see cref="BinaryRules"/>,
/// the tables the device kernels evaluate too.
/// Transcendental functions are the runtime's scalar ones (T.Exp, T.Log, T.Tanh, T.Pow).</para>
/// <para>Strided kernels visit the index space of <c>shape</c> in row-major order and compute each operand's offset
/// as sum_d index[d] stride[d]; outputs are contiguous.</para>
/// </remarks>
public static class ReferenceElementwise
{
    // ---------------------------------------------------------------- Unary

    /// <summary>y[i] = f(x[i]) by <see cref="UnaryRules.Value{T}"/>; y may be x.</summary>
    public static void UnaryForward<T>(UnaryOp op, ReadOnlySpan<T> x, Span<T> y, T p0, T p1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (y.Length != x.Length)
            throw new ArgumentException($"Output length {y.Length} differs from input length {x.Length}.", nameof(y));
        UnaryRules.Validate(op);
        for (int i = 0; i < x.Length; i++) y[i] = UnaryRules.Value(op, x[i], p0, p1);
    }

    /// <summary>dx[i] = dx[i] + dy[i] f'(x[i]) by <see cref="UnaryRules.Backward{T}"/>, f' read from x or from y = f(x).</summary>
    public static void UnaryBackwardAccumulate<T>(UnaryOp op, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, T p0, T p1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = dx.Length;
        if (x.Length != n || y.Length != n || dy.Length != n)
            throw new ArgumentException($"Lengths differ: x {x.Length}, y {y.Length}, dy {dy.Length}, dx {n}.");
        UnaryRules.Validate(op);
        for (int i = 0; i < n; i++) dx[i] = UnaryRules.Backward(op, x[i], y[i], dy[i], dx[i], p0, p1);
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

    /// <summary>y[i] = a[i·aStrides] op b[i·bStrides] by <see cref="BinaryRules.Value{T}"/> for every index i of
    /// <paramref name="shape"/>.</summary>
    public static void Binary<T>(BinaryOp op, ReadOnlySpan<T> a, ReadOnlySpan<int> aStrides, ReadOnlySpan<T> b, ReadOnlySpan<int> bStrides,
        Span<T> y, ReadOnlySpan<int> shape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        BinaryRules.Validate(op);
        int total = Strided.Count(shape);
        for (int i = 0; i < total; i++)
            y[i] = BinaryRules.Value(op, a[Offset(i, shape, aStrides)], b[Offset(i, shape, bStrides)]);
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
                if (!dLogits.IsEmpty) dLogits[i] += g * (UnaryRules.Sigmoid(logits[i]) - targets[i]);
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
