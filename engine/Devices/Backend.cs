using System.Runtime.InteropServices;
using Engine.Kernels;
using Engine.Kernels.Cpu;
using Engine.Mixtures;

namespace Engine.Devices;

/// <summary>
/// The contract a device implements: memory, copies, and every kernel the ops and optimizers call. Arguments
/// are tensors whose shapes the engine has already checked; element types match. Gradients accumulate
/// (dx +=) so several consumers of one tensor add their contributions without temporaries.
/// </summary>
/// <remarks>
/// The kernel entry points are not virtual: each checks what no backend may skip (the same checks and messages on
/// every device), then hands its tensors to the backend's <see cref="DTypeKernels"/> of their element type, picked in
/// one place (<see cref="Of"/>). A backend implements memory and one generic kernel class for float and double.
/// </remarks>
public abstract class Backend
{
    private DTypeKernels _float32 = null!, _float64 = null!;

    private protected Backend() { }

    /// <summary>Sets the kernels for each element type (once, from the backend's constructor).</summary>
    private protected void UseKernels(DTypeKernels float32, DTypeKernels float64)
    {
        _float32 = float32;
        _float64 = float64;
    }

    /// <summary>The kernels of <paramref name="t"/>'s element type: the one float/double dispatch of every backend.</summary>
    private DTypeKernels Of(Tensor t) => t.DType == DType.Float32 ? _float32 : _float64;

    /// <summary>Rows of a row-loss target: rows itself, or a divisor of rows when the target is broadcast over sample axes.</summary>
    private static int TargetRows(Tensor targets, int rows, int cols)
    {
        if (rows == 0) return 1;
        int tRows = cols == 0 ? rows : targets.Count / cols;
        if (tRows <= 0 || rows % tRows != 0 || (long)tRows * cols != targets.Count)
            throw new ArgumentException($"Row loss: targets of {targets.Count} elements do not tile {rows} rows of {cols}.", nameof(targets));
        return tRows;
    }

    private static void CheckIndices(ReadOnlySpan<int> indices, int rows)
    {
        for (int i = 0; i < indices.Length; i++)
            if ((uint)indices[i] >= (uint)rows)
                throw new ArgumentOutOfRangeException(nameof(indices), $"Index {indices[i]} at position {i} is out of range for {rows} rows.");
    }

    // ---- memory ----
    /// <summary>A block of at least <paramref name="length"/> elements, from the pool when <paramref name="pooled"/>; contents undefined.</summary>
    public abstract Storage Allocate(DType dtype, int length, bool pooled);
    /// <summary>Returns a pooled block to the pool.</summary>
    public abstract void Release(Storage storage);
    /// <summary>Bytes currently held by the pool (diagnostics).</summary>
    public abstract long PooledBytes { get; }

    // ---- copies ----
    public void Fill(Tensor y, double value) => Of(y).Fill(y, value);
    /// <summary>Copies host elements (of <paramref name="dst"/>'s element type) into <paramref name="dst"/>.</summary>
    public void CopyFrom<T>(ReadOnlySpan<T> src, Tensor dst) where T : unmanaged => Of(dst).CopyFrom(MemoryMarshal.AsBytes(src), dst);
    /// <summary>Copies the elements of <paramref name="src"/> to host memory of its element type.</summary>
    public void CopyTo<T>(Tensor src, Span<T> dst) where T : unmanaged => Of(src).CopyTo(src, MemoryMarshal.AsBytes(dst));
    /// <summary>dst = src (same count), or dst += src when accumulating.</summary>
    public void Copy(Tensor src, Tensor dst, bool accumulate) => Of(src).Copy(src, dst, accumulate);
    /// <summary>y[i] = x[i·xStrides] (or +=) over <paramref name="shape"/>: expand and permute.</summary>
    public void StridedCopy(Tensor x, ReadOnlySpan<int> xStrides, Tensor y, ReadOnlySpan<int> shape, bool accumulate) =>
        Of(x).StridedCopy(x, xStrides, y, shape, accumulate);
    /// <summary>dst[i·dstStrides] += src[i] over <paramref name="shape"/>: a broadcast gradient summed back.</summary>
    public void SumInto(Tensor src, ReadOnlySpan<int> shape, Tensor dst, ReadOnlySpan<int> dstStrides) => Of(src).SumInto(src, shape, dst, dstStrides);

    // ---- elementwise ----
    public void Unary(UnaryOp op, Tensor x, Tensor y, double p0, double p1) => Of(x).Unary(op, x, y, p0, p1);
    public void UnaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor dy, Tensor dx, double p0, double p1) => Of(x).UnaryBackward(op, x, y, dy, dx, p0, p1);
    public void Binary(BinaryOp op, Tensor a, ReadOnlySpan<int> aStrides, Tensor b, ReadOnlySpan<int> bStrides, Tensor y, ReadOnlySpan<int> shape) =>
        Of(a).Binary(op, a, aStrides, b, bStrides, y, shape);
    public void Where(Tensor mask, ReadOnlySpan<int> mStrides, Tensor a, ReadOnlySpan<int> aStrides, Tensor b, ReadOnlySpan<int> bStrides, Tensor y, ReadOnlySpan<int> shape) =>
        Of(a).Where(mask, mStrides, a, aStrides, b, bStrides, y, shape);

    // ---- along an axis, viewed as [outer, n, inner] ----
    public void Reduce(ReduceOp op, Tensor x, int outer, int n, int inner, Tensor y) => Of(x).Reduce(op, x, outer, n, inner, y);
    public void ReduceBackward(ReduceOp op, Tensor x, Tensor y, Tensor dy, Tensor dx, int outer, int n, int inner) =>
        Of(x).ReduceBackward(op, x, y, dy, dx, outer, n, inner);
    public void Normalize(NormalizeOp op, Tensor x, int outer, int n, int inner, Tensor y) => Of(x).Normalize(op, x, outer, n, inner, y);
    public void NormalizeBackward(NormalizeOp op, Tensor y, Tensor dy, Tensor dx, int outer, int n, int inner) =>
        Of(y).NormalizeBackward(op, y, dy, dx, outer, n, inner);

    /// <summary>Copies <paramref name="small"/> into (or out of) a block of <paramref name="big"/> along the middle axis.</summary>
    public void CopyBlock(Tensor small, int nSmall, Tensor big, int nBig, int start, int outer, int inner, bool intoBig, bool accumulate)
    {
        if (start < 0 || start + nSmall > nBig)
            throw new ArgumentOutOfRangeException(nameof(start), $"Block [{start}, {start + nSmall}) does not fit an axis of {nBig}.");
        Of(small).CopyBlock(small, nSmall, big, nBig, start, outer, inner, intoBig, accumulate);
    }

    /// <summary>dst[i, :] = src[indices[i], :] over rows of <paramref name="rowLength"/> elements; every index is checked first.</summary>
    public void GatherRows(Tensor src, int rowLength, ReadOnlySpan<int> indices, Tensor dst)
    {
        if (rowLength == 0 || indices.IsEmpty) return;
        CheckIndices(indices, src.Count / rowLength);
        Of(src).GatherRows(src, rowLength, indices, dst);
    }

    /// <summary>dst[indices[i], :] += src[i, :] (repeated indices accumulate); every index is checked first.</summary>
    public void ScatterAddRows(Tensor src, int rowLength, ReadOnlySpan<int> indices, Tensor dst)
    {
        if (rowLength == 0 || indices.IsEmpty) return;
        CheckIndices(indices, dst.Count / rowLength);
        Of(src).ScatterAddRows(src, rowLength, indices, dst);
    }

    // ---- matrix products ----
    /// <summary>C = alpha op(A) op(B) + beta C on element ranges starting at the given offsets (row-major, leading dimensions).</summary>
    public void Gemm(bool transA, bool transB, int m, int n, int k, double alpha,
        Tensor a, int aOffset, int lda, Tensor b, int bOffset, int ldb, double beta, Tensor c, int cOffset, int ldc) =>
        Of(a).Gemm(transA, transB, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc);

    // ---- fused losses (rows over the last axis) ----
    /// <summary>
    /// Row sums of BCE with logits over [rows, cols]. <paramref name="targets"/> holds rows or a divisor of rows rows
    /// (broadcast over the leading sample axes: row r reads target row r mod targetRows).
    /// </summary>
    public void BceWithLogitsRows(Tensor logits, Tensor targets, Tensor outRows, int rows, int cols)
    {
        // Targets broadcast over leading sample axes are read in place, one block of targetRows rows at a time.
        int tRows = TargetRows(targets, rows, cols);
        var kernels = Of(logits);
        for (int r0 = 0; r0 < rows; r0 += tRows) kernels.BceWithLogitsRows(logits, targets, outRows, r0, tRows, cols);
    }

    /// <summary>Backward of <see cref="BceWithLogitsRows"/>; broadcast targets take no gradient (dTargets null).</summary>
    public void BceWithLogitsRowsBackward(Tensor logits, Tensor targets, Tensor dyRows, Tensor? dLogits, Tensor? dTargets, int rows, int cols)
    {
        int tRows = TargetRows(targets, rows, cols);
        if (tRows != rows && dTargets is not null)
            throw new ArgumentException("bce_with_logits backward: broadcast targets take no gradient.", nameof(dTargets));
        var kernels = Of(logits);
        for (int r0 = 0; r0 < rows; r0 += tRows) kernels.BceWithLogitsRowsBackward(logits, targets, dyRows, dLogits, dTargets, r0, tRows, cols);
    }

    public void GaussianLogDensityRows(Tensor x, Tensor mu, Tensor logvar, Tensor outRows, int rows, int cols) =>
        Of(x).GaussianLogDensityRows(x, mu, logvar, outRows, rows, cols);
    public void GaussianLogDensityRowsBackward(Tensor x, Tensor mu, Tensor logvar, Tensor dyRows, Tensor? dx, Tensor? dMu, Tensor? dLogvar, int rows, int cols) =>
        Of(x).GaussianLogDensityRowsBackward(x, mu, logvar, dyRows, dx, dMu, dLogvar, rows, cols);

    // ---- random numbers: a pure function of (seed, offset) ----
    public void RandomUniform(Tensor y, ulong seed, ulong offset, double low, double high) => Of(y).RandomUniform(y, seed, offset, low, high);
    public void RandomNormal(Tensor y, ulong seed, ulong offset, double mean, double std) => Of(y).RandomNormal(y, seed, offset, mean, std);
    /// <summary>How many Philox blocks a fill of <paramref name="count"/> elements consumes (the same on every device).</summary>
    public ulong RandomBlocks(DType dtype, int count, bool normal) => RandomFill.BlocksUsed(count, dtype == DType.Float64, normal);

    // ---- optimizers and diagnostics ----
    public void AdamUpdate(Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2, double eps, double weightDecay, bool decoupled, int step)
    {
        if (step < 1) throw new ArgumentOutOfRangeException(nameof(step), step, "step counts from 1 (the bias corrections divide by 1 - beta^step).");
        Of(param).AdamUpdate(param, grad, m, v, lr, beta1, beta2, eps, weightDecay, decoupled, step);
    }

    /// <summary>buf = momentum buf + g (+ wd p); p -= lr (nesterov ? g + momentum buf : buf).</summary>
    public void SgdUpdate(Tensor param, Tensor grad, Tensor? momentumBuffer, double lr, double momentum, double dampening, double weightDecay, bool nesterov, bool firstStep) =>
        Of(param).SgdUpdate(param, grad, momentumBuffer, lr, momentum, dampening, weightDecay, nesterov, firstStep);
    public double SumOfSquares(Tensor x) => Of(x).SumOfSquares(x);
    public bool AllFinite(Tensor x) => Of(x).AllFinite(x);

    // ---- Gaussian mixtures ----
    /// <summary>
    /// The E-step of a Gaussian mixture with <paramref name="components"/> components over the rows of
    /// <paramref name="x"/> (<paramref name="rows"/> x <paramref name="dimensions"/> float64, row-major) on this device,
    /// yielding the sufficient statistics of the M-step. The CPU reads <paramref name="x"/> in every call, so it must
    /// stay pinned while the E-step is used; a device copies it once, here. <paramref name="scoring"/> keeps log p(x_i)
    /// per row (for prediction and scoring) and leaves out what only fitting needs.
    /// </summary>
    public unsafe MixtureEStep Mixture(MixtureCovariance type, int components, int dimensions, double* x, int rows, bool scoring = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(components, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(dimensions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        if (!Enum.IsDefined(type)) throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown covariance type.");
        if (x == null) throw new ArgumentNullException(nameof(x));
        return CreateMixture(type, components, dimensions, x, rows, scoring);
    }

    /// <summary>
    /// Whole EM iterations of a Gaussian mixture kept on this device (E-step, statistics and M-step, with
    /// <paramref name="regCovar"/> added to every covariance diagonal), with the rows of <paramref name="x"/> copied to
    /// it once; null on a device that has none (the CPU, whose iterations are <see cref="Mixture"/> and the model's M-step).
    /// </summary>
    public MixtureIterations? MixtureIterations(MixtureCovariance type, int components, int dimensions, ReadOnlySpan<double> x, int rows, double regCovar)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(components, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(dimensions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        if (!Enum.IsDefined(type)) throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown covariance type.");
        if (x.Length < (long)rows * dimensions)
            throw new ArgumentException($"x holds {x.Length} values, fewer than {rows} rows of {dimensions}.", nameof(x));
        return CreateMixtureIterations(type, components, dimensions, x, rows, regCovar);
    }

    /// <summary>The backend's mixture iterations, after the argument checks (default: none).</summary>
    private protected virtual MixtureIterations? CreateMixtureIterations(MixtureCovariance type, int components, int dimensions, ReadOnlySpan<double> x, int rows, double regCovar) => null;

    /// <summary>The backend's <see cref="Mixture"/>, after the argument checks.</summary>
    private protected abstract unsafe MixtureEStep CreateMixture(MixtureCovariance type, int components, int dimensions, double* x, int rows, bool scoring);
}

/// <summary>
/// One backend's kernels for one element type, called by <see cref="Backend"/>'s entry points after their checks.
/// Backends implement it once, generically (float and double instances); scalars arrive as double and each
/// implementation rounds them to its element type. The row-loss members take a block of rows starting at
/// <c>row0</c> with the whole target tensor (<see cref="Backend.BceWithLogitsRows"/> walks the blocks).
/// </summary>
internal abstract class DTypeKernels
{
    public abstract void Fill(Tensor y, double value);
    /// <summary>Host bytes of the element type into <paramref name="dst"/>.</summary>
    public abstract void CopyFrom(ReadOnlySpan<byte> src, Tensor dst);
    /// <summary><paramref name="src"/>'s elements into host bytes of the element type.</summary>
    public abstract void CopyTo(Tensor src, Span<byte> dst);
    public abstract void Copy(Tensor src, Tensor dst, bool accumulate);
    public abstract void StridedCopy(Tensor x, ReadOnlySpan<int> xStrides, Tensor y, ReadOnlySpan<int> shape, bool accumulate);
    public abstract void SumInto(Tensor src, ReadOnlySpan<int> shape, Tensor dst, ReadOnlySpan<int> dstStrides);

    public abstract void Unary(UnaryOp op, Tensor x, Tensor y, double p0, double p1);
    public abstract void UnaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor dy, Tensor dx, double p0, double p1);
    public abstract void Binary(BinaryOp op, Tensor a, ReadOnlySpan<int> aStrides, Tensor b, ReadOnlySpan<int> bStrides, Tensor y, ReadOnlySpan<int> shape);
    public abstract void Where(Tensor mask, ReadOnlySpan<int> mStrides, Tensor a, ReadOnlySpan<int> aStrides, Tensor b, ReadOnlySpan<int> bStrides, Tensor y, ReadOnlySpan<int> shape);

    public abstract void Reduce(ReduceOp op, Tensor x, int outer, int n, int inner, Tensor y);
    public abstract void ReduceBackward(ReduceOp op, Tensor x, Tensor y, Tensor dy, Tensor dx, int outer, int n, int inner);
    public abstract void Normalize(NormalizeOp op, Tensor x, int outer, int n, int inner, Tensor y);
    public abstract void NormalizeBackward(NormalizeOp op, Tensor y, Tensor dy, Tensor dx, int outer, int n, int inner);
    public abstract void CopyBlock(Tensor small, int nSmall, Tensor big, int nBig, int start, int outer, int inner, bool intoBig, bool accumulate);
    /// <summary>Indices are already checked and non-empty; rowLength is positive.</summary>
    public abstract void GatherRows(Tensor src, int rowLength, ReadOnlySpan<int> indices, Tensor dst);
    /// <summary>Indices are already checked and non-empty; rowLength is positive.</summary>
    public abstract void ScatterAddRows(Tensor src, int rowLength, ReadOnlySpan<int> indices, Tensor dst);

    public abstract void Gemm(bool transA, bool transB, int m, int n, int k, double alpha,
        Tensor a, int aOffset, int lda, Tensor b, int bOffset, int ldb, double beta, Tensor c, int cOffset, int ldc);

    /// <summary>Rows row0 .. row0 + rows of the logits and outputs against all of <paramref name="targets"/> (rows rows).</summary>
    public abstract void BceWithLogitsRows(Tensor logits, Tensor targets, Tensor outRows, int row0, int rows, int cols);
    /// <summary>Rows row0 .. row0 + rows of the logits, upstream gradients and dLogits against all of <paramref name="targets"/>.</summary>
    public abstract void BceWithLogitsRowsBackward(Tensor logits, Tensor targets, Tensor dyRows, Tensor? dLogits, Tensor? dTargets, int row0, int rows, int cols);
    public abstract void GaussianLogDensityRows(Tensor x, Tensor mu, Tensor logvar, Tensor outRows, int rows, int cols);
    public abstract void GaussianLogDensityRowsBackward(Tensor x, Tensor mu, Tensor logvar, Tensor dyRows, Tensor? dx, Tensor? dMu, Tensor? dLogvar, int rows, int cols);

    public abstract void RandomUniform(Tensor y, ulong seed, ulong offset, double low, double high);
    public abstract void RandomNormal(Tensor y, ulong seed, ulong offset, double mean, double std);

    public abstract void AdamUpdate(Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2, double eps, double weightDecay, bool decoupled, int step);
    public abstract void SgdUpdate(Tensor param, Tensor grad, Tensor? momentumBuffer, double lr, double momentum, double dampening, double weightDecay, bool nesterov, bool firstStep);
    public abstract double SumOfSquares(Tensor x);
    public abstract bool AllFinite(Tensor x);
}
