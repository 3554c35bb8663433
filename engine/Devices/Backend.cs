using Engine.Kernels.Cpu;

namespace Engine.Devices;

/// <summary>
/// The contract a device implements: memory, copies, and every kernel the ops and optimizers call. Arguments
/// are tensors whose shapes the engine has already checked; element types match. Gradients accumulate
/// (dx +=) so several consumers of one tensor add their contributions without temporaries.
/// </summary>
public abstract class Backend
{
    /// <summary>Rows of a row-loss target: rows itself, or a divisor of rows when the target is broadcast over sample axes.</summary>
    protected static int TargetRows(Tensor targets, int rows, int cols)
    {
        if (rows == 0) return 1;
        int tRows = cols == 0 ? rows : targets.Count / cols;
        if (tRows <= 0 || rows % tRows != 0 || (long)tRows * cols != targets.Count)
            throw new ArgumentException($"Row loss: targets of {targets.Count} elements do not tile {rows} rows of {cols}.", nameof(targets));
        return tRows;
    }

    // ---- memory ----
    /// <summary>A block of at least <paramref name="length"/> elements, from the pool when <paramref name="pooled"/>; contents undefined.</summary>
    public abstract Storage Allocate(DType dtype, int length, bool pooled);
    /// <summary>Returns a pooled block to the pool.</summary>
    public abstract void Release(Storage storage);
    /// <summary>Bytes currently held by the pool (diagnostics).</summary>
    public abstract long PooledBytes { get; }

    // ---- copies ----
    public abstract void Fill(Tensor y, double value);
    public abstract void CopyFrom<T>(ReadOnlySpan<T> src, Tensor dst) where T : unmanaged;
    public abstract void CopyTo<T>(Tensor src, Span<T> dst) where T : unmanaged;
    /// <summary>dst = src (same count), or dst += src when accumulating.</summary>
    public abstract void Copy(Tensor src, Tensor dst, bool accumulate);
    /// <summary>y[i] = x[i·xStrides] (or +=) over <paramref name="shape"/>: expand and permute.</summary>
    public abstract void StridedCopy(Tensor x, ReadOnlySpan<int> xStrides, Tensor y, ReadOnlySpan<int> shape, bool accumulate);
    /// <summary>dst[i·dstStrides] += src[i] over <paramref name="shape"/>: a broadcast gradient summed back.</summary>
    public abstract void SumInto(Tensor src, ReadOnlySpan<int> shape, Tensor dst, ReadOnlySpan<int> dstStrides);

    // ---- elementwise ----
    public abstract void Unary(UnaryOp op, Tensor x, Tensor y, double p0, double p1);
    public abstract void UnaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor dy, Tensor dx, double p0, double p1);
    public abstract void Binary(BinaryOp op, Tensor a, ReadOnlySpan<int> aStrides, Tensor b, ReadOnlySpan<int> bStrides, Tensor y, ReadOnlySpan<int> shape);
    public abstract void Where(Tensor mask, ReadOnlySpan<int> mStrides, Tensor a, ReadOnlySpan<int> aStrides, Tensor b, ReadOnlySpan<int> bStrides, Tensor y, ReadOnlySpan<int> shape);

    // ---- along an axis, viewed as [outer, n, inner] ----
    public abstract void Reduce(ReduceOp op, Tensor x, int outer, int n, int inner, Tensor y);
    public abstract void ReduceBackward(ReduceOp op, Tensor x, Tensor y, Tensor dy, Tensor dx, int outer, int n, int inner);
    public abstract void Normalize(NormalizeOp op, Tensor x, int outer, int n, int inner, Tensor y);
    public abstract void NormalizeBackward(NormalizeOp op, Tensor y, Tensor dy, Tensor dx, int outer, int n, int inner);
    /// <summary>Copies <paramref name="small"/> into (or out of) a block of <paramref name="big"/> along the middle axis.</summary>
    public abstract void CopyBlock(Tensor small, int nSmall, Tensor big, int nBig, int start, int outer, int inner, bool intoBig, bool accumulate);
    public abstract void GatherRows(Tensor src, int rowLength, ReadOnlySpan<int> indices, Tensor dst);
    public abstract void ScatterAddRows(Tensor src, int rowLength, ReadOnlySpan<int> indices, Tensor dst);

    // ---- matrix products ----
    /// <summary>C = alpha op(A) op(B) + beta C on element ranges starting at the given offsets (row-major, leading dimensions).</summary>
    public abstract void Gemm(bool transA, bool transB, int m, int n, int k, double alpha,
        Tensor a, int aOffset, int lda, Tensor b, int bOffset, int ldb, double beta, Tensor c, int cOffset, int ldc);

    // ---- fused losses (rows over the last axis) ----
    /// <summary>
    /// Row sums of BCE with logits over [rows, cols]. <paramref name="targets"/> holds rows or a divisor of rows rows
    /// (broadcast over the leading sample axes: row r reads target row r mod targetRows).
    /// </summary>
    public abstract void BceWithLogitsRows(Tensor logits, Tensor targets, Tensor outRows, int rows, int cols);
    /// <summary>Backward of <see cref="BceWithLogitsRows"/>; broadcast targets take no gradient (dTargets null).</summary>
    public abstract void BceWithLogitsRowsBackward(Tensor logits, Tensor targets, Tensor dyRows, Tensor? dLogits, Tensor? dTargets, int rows, int cols);
    public abstract void GaussianLogDensityRows(Tensor x, Tensor mu, Tensor logvar, Tensor outRows, int rows, int cols);
    public abstract void GaussianLogDensityRowsBackward(Tensor x, Tensor mu, Tensor logvar, Tensor dyRows, Tensor? dx, Tensor? dMu, Tensor? dLogvar, int rows, int cols);

    // ---- random numbers: a pure function of (seed, offset) ----
    public abstract void RandomUniform(Tensor y, ulong seed, ulong offset, double low, double high);
    public abstract void RandomNormal(Tensor y, ulong seed, ulong offset, double mean, double std);
    /// <summary>How many Philox blocks a fill of <paramref name="count"/> elements consumes.</summary>
    public abstract ulong RandomBlocks(DType dtype, int count, bool normal);

    // ---- optimizers and diagnostics ----
    public abstract void AdamUpdate(Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2, double eps, double weightDecay, bool decoupled, int step);
    /// <summary>buf = momentum buf + g (+ wd p); p -= lr (nesterov ? g + momentum buf : buf).</summary>
    public abstract void SgdUpdate(Tensor param, Tensor grad, Tensor? momentumBuffer, double lr, double momentum, double dampening, double weightDecay, bool nesterov, bool firstStep);
    public abstract double SumOfSquares(Tensor x);
    public abstract bool AllFinite(Tensor x);
}
