using System.Numerics;
using ILGPU;
using ILGPU.Runtime;
using Engine.Kernels.Cpu;
using Engine.Kernels.Rules;

namespace Engine.Kernels.Gpu;

/// <summary>
/// Every device kernel of one element type on one accelerator, as typed launch delegates. Each kernel is compiled and
/// loaded the first time it is used and kept for the accelerator's lifetime (ILGPU compiles a kernel in tens to
/// hundreds of milliseconds; a launch through the cached delegate costs microseconds); <see cref="Preload"/> compiles
/// them all up front. Methods take views and sizes, choose the launch geometry and enqueue on the accelerator's
/// default stream, so they return before the work is done; reading results on the host synchronizes.
/// </summary>
/// <remarks>Not thread-safe for concurrent launches (one stream); loading is guarded so the first uses may race.</remarks>
public sealed class GpuKernels<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly KernelCache _cache;

    public GpuKernels(Accelerator accelerator, LaunchGeometry geometry)
    {
        _cache = new KernelCache(accelerator);
        Geometry = geometry ?? throw new ArgumentNullException(nameof(geometry));
    }

    /// <summary>The launch layout in use.</summary>
    public LaunchGeometry Geometry { get; }

    /// <summary>Number of kernels compiled and loaded so far (each at most once).</summary>
    public int LoadedCount => _cache.LoadedCount;

    // Every launch passes here (see KernelCache.Get: compiled once, accelerator bound to the calling thread).
    private TDel L<TDel>(ref TDel? field, Func<Accelerator, TDel> load) where TDel : class => _cache.Get(ref field, load);

    // ---------------------------------------------------------------- elementwise

    private Action<KernelConfig, ArrayView<T>, T, int>? _fill;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, int, int>? _copy;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, int, int, T, T>? _unary;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, int, int, T, T>? _unaryBack;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, int, SgdArgs<T>>? _sgd;

    /// <summary>y[i] = value.</summary>
    public void Fill(ArrayView<T> y, T value)
    {
        int n = checked((int)y.Length);
        if (n == 0) return;
        L(ref _fill, static a => a.LoadStreamKernel<ArrayView<T>, T, int>(ElementwiseKernels.Fill))(Geometry.Elementwise(n), y, value, n);
    }

    /// <summary>y = x, or y += x.</summary>
    public void Copy(ArrayView<T> x, ArrayView<T> y, bool accumulate)
    {
        int n = checked((int)y.Length);
        if (n == 0) return;
        L(ref _copy, static a => a.LoadStreamKernel<ArrayView<T>, ArrayView<T>, int, int>(ElementwiseKernels.Copy))(Geometry.Elementwise(n), x, y, n, accumulate ? 1 : 0);
    }

    /// <summary>y = f(x) for <paramref name="op"/>; an op outside <see cref="UnaryOp"/> throws before any launch.</summary>
    public void Unary(UnaryOp op, ArrayView<T> x, ArrayView<T> y, T p0, T p1)
    {
        UnaryRules.Validate(op);
        int n = checked((int)y.Length);
        if (n == 0) return;
        L(ref _unary, static a => a.LoadStreamKernel<ArrayView<T>, ArrayView<T>, int, int, T, T>(ElementwiseKernels.Unary))(Geometry.Elementwise(n), x, y, n, (int)op, p0, p1);
    }

    /// <summary>dx += dy f'(x); an op outside <see cref="UnaryOp"/> throws before any launch.</summary>
    public void UnaryBackward(UnaryOp op, ArrayView<T> x, ArrayView<T> y, ArrayView<T> dy, ArrayView<T> dx, T p0, T p1)
    {
        UnaryRules.Validate(op);
        int n = checked((int)dx.Length);
        if (n == 0) return;
        L(ref _unaryBack, static a => a.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, int, int, T, T>(ElementwiseKernels.UnaryBackward))(
            Geometry.Elementwise(n), x, y, dy, dx, n, (int)op, p0, p1);
    }

    /// <summary>One SGD step; <paramref name="buffer"/> is ignored unless <c>UseMomentum</c> is set.</summary>
    public void Sgd(ArrayView<T> param, ArrayView<T> grad, ArrayView<T> buffer, SgdArgs<T> args)
    {
        int n = checked((int)param.Length);
        if (n == 0) return;
        L(ref _sgd, static a => a.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, int, SgdArgs<T>>(ElementwiseKernels.Sgd))(Geometry.Elementwise(n), param, grad, buffer, n, args);
    }

    // ---------------------------------------------------------------- strided

    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, StridedIndex, int>? _binary;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, int, int>? _binaryContiguous;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, StridedIndex>? _where;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, StridedIndex, int>? _stridedCopy;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, StridedIndex, StridedIndex>? _sumIntoThread, _sumIntoGroup;

    /// <summary>y[i] = a[i·A] op b[i·B] over the index space <paramref name="s"/> (operands A and B); an op outside
    /// <see cref="BinaryOp"/> throws before any launch.</summary>
    public void Binary(BinaryOp op, ArrayView<T> a, ArrayView<T> b, ArrayView<T> y, in StridedIndex s)
    {
        BinaryRules.Validate(op);
        if (s.Count == 0) return;
        if (s.Rank == 1 && s.A5 == 1 && s.B5 == 1)
        {
            L(ref _binaryContiguous, static a => a.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, int, int>(StridedKernels.BinaryContiguous))(
                Geometry.Elementwise(s.Count), a, b, y, s.Count, (int)op);
            return;
        }
        L(ref _binary, static a => a.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, StridedIndex, int>(StridedKernels.Binary))(Geometry.Elementwise(s.Count), a, b, y, s, (int)op);
    }

    /// <summary>y[i] = mask[i·A] != 0 ? a[i·B] : b[i·C].</summary>
    public void Where(ArrayView<T> mask, ArrayView<T> a, ArrayView<T> b, ArrayView<T> y, in StridedIndex s)
    {
        if (s.Count == 0) return;
        L(ref _where, static a => a.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, StridedIndex>(StridedKernels.Where))(Geometry.Elementwise(s.Count), mask, a, b, y, s);
    }

    /// <summary>y[i] = x[i·A] (or +=).</summary>
    public void StridedCopy(ArrayView<T> x, ArrayView<T> y, in StridedIndex s, bool accumulate)
    {
        if (s.Count == 0) return;
        L(ref _stridedCopy, static a => a.LoadStreamKernel<ArrayView<T>, ArrayView<T>, StridedIndex, int>(StridedKernels.Copy))(Geometry.Elementwise(s.Count), x, y, s, accumulate ? 1 : 0);
    }

    /// <summary>
    /// dst[i·dstStrides] += src[i] over <paramref name="shape"/> (src contiguous): each output element owned by one
    /// thread (terms added in order) or, for a few outputs each summing many terms, by one group.
    /// </summary>
    public void SumInto(ArrayView<T> src, ReadOnlySpan<int> shape, ArrayView<T> dst, ReadOnlySpan<int> dstStrides)
    {
        int rank = shape.Length;
        Span<int> keptShape = stackalloc int[rank], keptSrc = stackalloc int[rank], keptDst = stackalloc int[rank];
        Span<int> redShape = stackalloc int[rank], redSrc = stackalloc int[rank];
        int nk = 0, nr = 0, stride = 1, total = 1;
        for (int d = rank - 1; d >= 0; d--) total *= shape[d];
        if (total == 0) return;
        // Contiguous strides of src, then split the dimensions into kept (dst stride != 0) and reduced ones, outer first.
        Span<int> srcStrides = stackalloc int[rank];
        for (int d = rank - 1; d >= 0; d--) { srcStrides[d] = stride; stride *= shape[d]; }
        for (int d = 0; d < rank; d++)
        {
            if (dstStrides[d] != 0 || shape[d] == 1) { keptShape[nk] = shape[d]; keptSrc[nk] = srcStrides[d]; keptDst[nk] = dstStrides[d]; nk++; }
            else { redShape[nr] = shape[d]; redSrc[nr] = srcStrides[d]; nr++; }
        }
        var kept = StridedIndex.Create(keptShape[..nk], keptSrc[..nk], keptDst[..nk], default);
        var reduced = StridedIndex.Create(redShape[..nr], redSrc[..nr], default, default);
        if (kept.Count < 2048 && reduced.Count >= 64)
            L(ref _sumIntoGroup, static a => a.LoadStreamKernel<ArrayView<T>, ArrayView<T>, StridedIndex, StridedIndex>(StridedKernels.SumIntoByGroup))(
                Geometry.Rows<T>(kept.Count, reduced.Count), src, dst, kept, reduced);
        else
            L(ref _sumIntoThread, static a => a.LoadStreamKernel<ArrayView<T>, ArrayView<T>, StridedIndex, StridedIndex>(StridedKernels.SumIntoByThread))(
                Geometry.Elementwise(kept.Count), src, dst, kept, reduced);
    }

    // ---------------------------------------------------------------- along an axis

    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, int, int, int, T>? _reduceRows;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, int, int, int, int, T>? _reduceColumns;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, int, int, int, int, T>? _reduceBack;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, int, int, int>? _maxBack;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, int, int, int>? _normRows;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, int, int, int, int>? _normColumns;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, int, int, int>? _normBackRows;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, int, int, int, int>? _normBackColumns;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, int, int, int, int, int, int, int>? _copyBlock;
    private Action<KernelConfig, ArrayView<T>, ArrayView<int>, ArrayView<T>, int, int>? _gather, _scatterAdd;

    /// <summary>y[o, i] = reduce_j x[o, j, i].</summary>
    public void Reduce(ReduceOp op, ArrayView<T> x, int outer, int n, int inner, ArrayView<T> y)
    {
        if (outer * inner == 0) return;
        T count = T.CreateTruncating(n);
        if (inner == 1)
            L(ref _reduceRows, static a => a.LoadStreamKernel<ArrayView<T>, ArrayView<T>, int, int, int, T>(AxisKernels.ReduceRows))(Geometry.Rows<T>(outer, n), x, y, outer, n, (int)op, count);
        else
            L(ref _reduceColumns, static a => a.LoadStreamKernel<ArrayView<T>, ArrayView<T>, int, int, int, int, T>(AxisKernels.ReduceColumns))(
                Geometry.Elementwise(outer * inner), x, y, outer, n, inner, (int)op, count);
    }

    /// <summary>dx += the backward of a reduction.</summary>
    public void ReduceBackward(ReduceOp op, ArrayView<T> x, ArrayView<T> y, ArrayView<T> dy, ArrayView<T> dx, int outer, int n, int inner)
    {
        if (outer * n * inner == 0) return;
        if (op == ReduceOp.Max)
        {
            L(ref _maxBack, static a => a.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, int, int, int>(AxisKernels.MaxBackward))(
                Geometry.Elementwise(outer * inner), x, y, dy, dx, outer, n, inner);
            return;
        }
        T invN = T.One / T.CreateTruncating(Math.Max(n, 1));
        L(ref _reduceBack, static a => a.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, int, int, int, int, T>(AxisKernels.ReduceBackward))(
            Geometry.Elementwise(outer * n * inner), x, y, dy, dx, outer, n, inner, (int)op, invN);
    }

    /// <summary>y = softmax or log-softmax along the middle axis.</summary>
    public void Normalize(NormalizeOp op, ArrayView<T> x, int outer, int n, int inner, ArrayView<T> y)
    {
        if (outer * n * inner == 0) return;
        if (inner == 1)
            L(ref _normRows, static a => a.LoadStreamKernel<ArrayView<T>, ArrayView<T>, int, int, int>(AxisKernels.NormalizeRows))(Geometry.Rows<T>(outer, n), x, y, outer, n, (int)op);
        else
            L(ref _normColumns, static a => a.LoadStreamKernel<ArrayView<T>, ArrayView<T>, int, int, int, int>(AxisKernels.NormalizeColumns))(
                Geometry.Elementwise(outer * inner), x, y, outer, n, inner, (int)op);
    }

    /// <summary>dx += the backward of softmax or log-softmax, from the output y.</summary>
    public void NormalizeBackward(NormalizeOp op, ArrayView<T> y, ArrayView<T> dy, ArrayView<T> dx, int outer, int n, int inner)
    {
        if (outer * n * inner == 0) return;
        if (inner == 1)
            L(ref _normBackRows, static a => a.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, int, int, int>(AxisKernels.NormalizeBackwardRows))(
                Geometry.Rows<T>(outer, n), y, dy, dx, outer, n, (int)op);
        else
            L(ref _normBackColumns, static a => a.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, int, int, int, int>(AxisKernels.NormalizeBackwardColumns))(
                Geometry.Elementwise(outer * inner), y, dy, dx, outer, n, inner, (int)op);
    }

    /// <summary>Copies small [outer, nSmall, inner] into (or out of) big [outer, nBig, inner] at <paramref name="start"/>.</summary>
    public void CopyBlock(ArrayView<T> small, int nSmall, ArrayView<T> big, int nBig, int start, int outer, int inner, bool intoBig, bool accumulate)
    {
        int total = outer * nSmall * inner;
        if (total == 0) return;
        L(ref _copyBlock, static a => a.LoadStreamKernel<ArrayView<T>, ArrayView<T>, int, int, int, int, int, int, int>(AxisKernels.CopyBlock))(
            Geometry.Elementwise(total), small, big, outer, nSmall, nBig, start, inner, intoBig ? 1 : 0, accumulate ? 1 : 0);
    }

    /// <summary>dst[i, :] = src[indices[i], :] with the indices already on the device (validated by the caller).</summary>
    public void GatherRows(ArrayView<T> src, ArrayView<int> indices, ArrayView<T> dst, int count, int rowLength)
    {
        if (count * rowLength == 0) return;
        L(ref _gather, static a => a.LoadStreamKernel<ArrayView<T>, ArrayView<int>, ArrayView<T>, int, int>(AxisKernels.GatherRows))(
            Geometry.Elementwise(count * rowLength), src, indices, dst, count, rowLength);
    }

    /// <summary>dst[indices[i], :] += src[i, :] in order, indices on the device (validated by the caller).</summary>
    public void ScatterAddRows(ArrayView<T> src, ArrayView<int> indices, ArrayView<T> dst, int count, int rowLength)
    {
        if (count * rowLength == 0) return;
        L(ref _scatterAdd, static a => a.LoadStreamKernel<ArrayView<T>, ArrayView<int>, ArrayView<T>, int, int>(AxisKernels.ScatterAddRows))(
            Geometry.Elementwise(rowLength), src, indices, dst, count, rowLength);
    }

    // ---------------------------------------------------------------- fused losses, optimizer, diagnostics

    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, int, int>? _bce;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, int, int, T, T>? _gauss;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, int, int, int, int>? _bceBack;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, int, int, int>? _gaussBack;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, int, AdamArgs<T>>? _adam;
    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, int>? _partialSq, _sumAll;
    private Action<KernelConfig, ArrayView<T>, ArrayView<int>, int>? _nonFinite;

    /// <summary>outRows[r] = the BCE-with-logits of row r, summed over its columns.</summary>
    public void BceWithLogitsRows(ArrayView<T> logits, ArrayView<T> targets, ArrayView<T> outRows, int rows, int cols)
    {
        if (rows == 0) return;
        L(ref _bce, static a => a.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, int, int>(FusedKernels.BceWithLogitsRows))(
            Geometry.Rows<T>(rows, cols), logits, targets, outRows, rows, cols);
    }

    /// <summary>outRows[r] = sum_c log N(x | mu, e^logvar) over row r.</summary>
    public void GaussianLogDensityRows(ArrayView<T> x, ArrayView<T> mu, ArrayView<T> logvar, ArrayView<T> outRows, int rows, int cols)
    {
        if (rows == 0) return;
        L(ref _gauss, static a => a.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, int, int, T, T>(FusedKernels.GaussianLogDensityRows))(
            Geometry.Rows<T>(rows, cols), x, mu, logvar, outRows, rows, cols, T.CreateTruncating(Reference.ReferenceFused.Log2Pi), T.CreateTruncating(-0.5));
    }

    /// <summary>The gradients of <see cref="BceWithLogitsRows"/>; a null view's output is skipped.</summary>
    public void BceWithLogitsRowsBackward(ArrayView<T> logits, ArrayView<T> targets, ArrayView<T> dyRows, ArrayView<T>? dLogits, ArrayView<T>? dTargets, int rows, int cols)
    {
        if (rows * cols == 0 || (dLogits is null && dTargets is null)) return;
        L(ref _bceBack, static a => a.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, int, int, int, int>(FusedKernels.BceWithLogitsRowsBackward))(
            Geometry.Elementwise(rows * cols), logits, targets, dyRows, dLogits ?? logits, dTargets ?? logits, rows, cols, dLogits is null ? 0 : 1, dTargets is null ? 0 : 1);
    }

    /// <summary>The gradients of <see cref="GaussianLogDensityRows"/>; a null view's output is skipped.</summary>
    public void GaussianLogDensityRowsBackward(ArrayView<T> x, ArrayView<T> mu, ArrayView<T> logvar, ArrayView<T> dyRows,
        ArrayView<T>? dx, ArrayView<T>? dMu, ArrayView<T>? dLogvar, int rows, int cols)
    {
        int outputs = (dx is null ? 0 : 1) | (dMu is null ? 0 : 2) | (dLogvar is null ? 0 : 4);
        if (rows * cols == 0 || outputs == 0) return;
        L(ref _gaussBack, static a => a.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, int, int, int>(
            FusedKernels.GaussianLogDensityRowsBackward))(Geometry.Elementwise(rows * cols), x, mu, logvar, dyRows, dx ?? x, dMu ?? x, dLogvar ?? x, rows, cols, outputs);
    }

    /// <summary>One Adam/AdamW step (constants computed here in T, as the CPU kernel computes them).</summary>
    public void Adam(ArrayView<T> param, ArrayView<T> grad, ArrayView<T> m, ArrayView<T> v, T lr, T beta1, T beta2, T eps, T weightDecay, bool decoupled, int step)
    {
        int n = checked((int)param.Length);
        if (n == 0) return;
        T t = T.CreateTruncating(step);
        var args = new AdamArgs<T>
        {
            Beta1 = beta1, Beta2 = beta2, OneMinusBeta1 = T.One - beta1, OneMinusBeta2 = T.One - beta2, Eps = eps, WeightDecay = weightDecay,
            StepSize = lr / (T.One - T.Pow(beta1, t)),
            InvSqrtBias2 = T.One / T.Sqrt(T.One - T.Pow(beta2, t)),
            Decay = decoupled ? T.One - lr * weightDecay : T.One,
            Decoupled = decoupled ? 1 : 0,
        };
        L(ref _adam, static a => a.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, int, AdamArgs<T>>(FusedKernels.Adam))(
            Geometry.Elementwise(n), param, grad, m, v, n, args);
    }

    /// <summary>Enqueues result[0] = sum of x^2, using <paramref name="scratch"/> (at least <see cref="LaunchGeometry.MaxGroups"/> elements) for partial sums.</summary>
    public void SumOfSquares(ArrayView<T> x, ArrayView<T> scratch, ArrayView<T> result)
    {
        int n = checked((int)x.Length);
        var cfg = Geometry.ElementwiseWithShared<T>(Math.Max(n, 1));
        int groups = cfg.GridDim.X;
        L(ref _partialSq, static a => a.LoadStreamKernel<ArrayView<T>, ArrayView<T>, int>(FusedKernels.PartialSumOfSquares))(cfg, x, scratch, n);
        L(ref _sumAll, static a => a.LoadStreamKernel<ArrayView<T>, ArrayView<T>, int>(FusedKernels.SumAll))(Geometry.SingleGroup<T>(), scratch, result, groups);
    }

    /// <summary>Enqueues flag[0] = 1 when some element of x is NaN or infinite (the caller zeroes the flag first).</summary>
    public void AnyNonFinite(ArrayView<T> x, ArrayView<int> flag)
    {
        int n = checked((int)x.Length);
        if (n == 0) return;
        L(ref _nonFinite, static a => a.LoadStreamKernel<ArrayView<T>, ArrayView<int>, int>(FusedKernels.AnyNonFinite))(Geometry.Elementwise(n), x, flag, n);
    }

    // ---------------------------------------------------------------- GEMM

    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, GemmArgs<T>>? _g128, _g64, _g32, _g32m8, _g16;
    private Action<KernelConfig, ArrayView<T>, GemmArgs<T>>? _gemmScale;

    /// <summary>The tile <see cref="GemmTile.Auto"/> picks for an m x n product on this accelerator.</summary>
    public GemmTile ChooseTile(int m, int n)
    {
        long area = (long)m * n;
        if (Geometry.MaxThreadsPerGroup < 256) return GemmTile.Tile16x16; // simulators and small devices: the cheapest groups
        if (area >= 512L * 512 && m >= 128 && n >= 128) return GemmTile.Tile128x128;
        if (area >= 128L * 128) return GemmTile.Tile64x64;
        return area >= 32L * 32 ? GemmTile.Tile32x32 : GemmTile.Tile16x16;
    }

    /// <summary>Threads per group of a tile configuration.</summary>
    public static int ThreadsOf(GemmTile tile) => tile switch
    {
        GemmTile.Tile128x128 or GemmTile.Tile64x64 => 256,
        GemmTile.Tile32x32 => 64,
        _ => 16,
    };

    /// <summary>C = alpha op(A) op(B) + beta C (see <see cref="GemmKernel"/>), with the given tile or one chosen by shape.</summary>
    public void Gemm(ArrayView<T> a, ArrayView<T> b, ArrayView<T> c, GemmArgs<T> p, GemmTile tile = GemmTile.Auto)
    {
        if (p.M == 0 || p.N == 0) return;
        if (p.K == 0 || p.Alpha == T.Zero)
        {
            L(ref _gemmScale, static a => a.LoadStreamKernel<ArrayView<T>, GemmArgs<T>>(GemmScaleKernel.Scale))(Geometry.Elementwise(p.M * p.N), c, p);
            return;
        }
        if (tile == GemmTile.Auto) tile = ChooseTile(p.M, p.N);
        if (ThreadsOf(tile) > Geometry.MaxThreadsPerGroup)
            throw new ArgumentException($"GEMM tile {tile} needs {ThreadsOf(tile)} threads per group; this accelerator runs at most {Geometry.MaxThreadsPerGroup}.", nameof(tile));
        var kernel = tile switch
        {
            GemmTile.Tile128x128 => L(ref _g128, static a => a.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, GemmArgs<T>>(GemmKernel.Gemm<T, Tile128x128>)),
            GemmTile.Tile64x64 => L(ref _g64, static a => a.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, GemmArgs<T>>(GemmKernel.Gemm<T, Tile64x64>)),
            GemmTile.Tile32x32 => L(ref _g32, static a => a.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, GemmArgs<T>>(GemmKernel.Gemm<T, Tile32x32>)),
            GemmTile.Tile32x32Micro8 => L(ref _g32m8, static a => a.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, GemmArgs<T>>(GemmKernel.Gemm<T, Tile32x32Micro8>)),
            _ => L(ref _g16, static a => a.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, GemmArgs<T>>(GemmKernel.Gemm<T, Tile16x16>)),
        };
        var (bm, bn) = tile switch
        {
            GemmTile.Tile128x128 => (128, 128),
            GemmTile.Tile64x64 => (64, 64),
            GemmTile.Tile32x32 or GemmTile.Tile32x32Micro8 => (32, 32),
            _ => (16, 16),
        };
        int threads = ThreadsOf(tile);
        int gx = (p.N + bn - 1) / bn;
        // Grid y is limited to 65535 blocks: very tall products go in slabs of rows.
        int rowsPerLaunch = 65535 * bm;
        for (int m0 = 0; m0 < p.M; m0 += rowsPerLaunch)
        {
            var q = p;
            q.M = Math.Min(rowsPerLaunch, p.M - m0);
            q.AOffset = p.AOffset + (p.TransA != 0 ? m0 : m0 * p.Lda);
            q.COffset = p.COffset + m0 * p.Ldc;
            int gy = (q.M + bm - 1) / bm;
            kernel(new KernelConfig(new Index3D(gx, gy, 1), new Index3D(threads, 1, 1)), a, b, c, q);
        }
    }

    /// <summary>Compiles and loads every kernel of this element type now (GEMM: the tiles this accelerator can run).</summary>
    public void Preload()
    {
        var one = _cache.Accelerator.Allocate1D<T>(64);
        var idx = _cache.Accelerator.Allocate1D<int>(1);
        try
        {
            var v = one.View.BaseView;
            Fill(v, T.Zero);
            Copy(v, v, false);
            Unary(UnaryOp.Neg, v, v, T.Zero, T.Zero);
            UnaryBackward(UnaryOp.Neg, v, v, v, v, T.Zero, T.Zero);
            Sgd(v, v, v, default);
            var s1 = StridedIndex.Create([1], [1], [1], [1]);
            Binary(BinaryOp.Add, v, v, v, s1);
            Binary(BinaryOp.Add, v, v, v, StridedIndex.Create([2], [1], [1], default));
            Where(v, v, v, v, s1);
            StridedCopy(v, v, s1, false);
            SumInto(v, [1], v, [1]);
            SumInto(v, [64, 1], v, [0, 1]);
            foreach (var (outer, inner) in new[] { (1, 1), (1, 2) })
            {
                Reduce(ReduceOp.Sum, v, outer, 1, inner, v);
                Normalize(NormalizeOp.Softmax, v, outer, 1, inner, v);
                NormalizeBackward(NormalizeOp.Softmax, v, v, v, outer, 1, inner);
            }
            ReduceBackward(ReduceOp.Sum, v, v, v, v, 1, 1, 1);
            ReduceBackward(ReduceOp.Max, v, v, v, v, 1, 1, 1);
            CopyBlock(v, 1, v, 1, 0, 1, 1, true, false);
            var iv = idx.View.BaseView;
            iv.MemSetToZero();
            GatherRows(v, iv, v, 1, 1);
            ScatterAddRows(v, iv, v, 1, 1);
            BceWithLogitsRows(v, v, v, 1, 1);
            GaussianLogDensityRows(v, v, v, v, 1, 1);
            BceWithLogitsRowsBackward(v, v, v, v, null, 1, 1);
            GaussianLogDensityRowsBackward(v, v, v, v, v, null, null, 1, 1);
            Adam(v, v, v, v, T.Zero, T.Zero, T.Zero, T.One, T.Zero, false, 1);
            AnyNonFinite(v, iv);
            SumOfSquares(v.SubView(0, 1), v.SubView(1, 32), v.SubView(0, 1));
            var p = new GemmArgs<T> { M = 1, N = 1, K = 1, Lda = 1, Ldb = 1, Ldc = 1, Alpha = T.One };
            foreach (var tile in Enum.GetValues<GemmTile>())
                if (tile != GemmTile.Auto && ThreadsOf(tile) <= Geometry.MaxThreadsPerGroup) Gemm(v, v, v, p, tile);
            Gemm(v, v, v, p with { K = 0 });
            _cache.Accelerator.Synchronize();
        }
        finally
        {
            one.Dispose();
            idx.Dispose();
        }
    }
}
