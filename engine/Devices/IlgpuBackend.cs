using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using Engine.Kernels.Cpu;
using Engine.Kernels.Gpu;

namespace Engine.Devices;

/// <summary>
/// The <see cref="Backend"/> of an <see cref="IlgpuDevice"/>: each method maps its tensors to device views and
/// enqueues the float or double kernel of Engine.Kernels.Gpu; no loops over elements live here, and nothing is copied
/// to or from the host except where a method's contract moves host data (the copies, the index lists of
/// <see cref="GatherRows"/>/<see cref="ScatterAddRows"/>, which are validated on the host and uploaded inside the call,
/// and the scalars <see cref="SumOfSquares"/> and <see cref="AllFinite"/> return). Each such copy is counted on the device.
/// </summary>
internal sealed class IlgpuBackend : Backend, IDisposable
{
    private readonly IlgpuDevice _device;
    private readonly Accelerator _acc;
    private readonly ExactSizePool<IlgpuStorage> _pool = new();
    private readonly GpuKernels<float> _f;
    private readonly GpuKernels<double> _d;
    private readonly GpuRandom _random;
    private readonly Lock _scratchGate = new();
    private MemoryBuffer1D<int, Stride1D.Dense>? _indices;
    private MemoryBuffer1D<int, Stride1D.Dense>? _flag;
    private MemoryBuffer1D<float, Stride1D.Dense>? _scratchF;
    private MemoryBuffer1D<double, Stride1D.Dense>? _scratchD;

    public IlgpuBackend(IlgpuDevice device, Accelerator accelerator)
    {
        _device = device;
        _acc = accelerator;
        var geometry = new LaunchGeometry(accelerator);
        _f = new GpuKernels<float>(accelerator, geometry);
        _d = new GpuKernels<double>(accelerator, geometry);
        _random = new GpuRandom(accelerator, geometry);
    }

    /// <summary>Tile configuration every GEMM uses (Auto: chosen by shape); tests pin each one in turn.</summary>
    internal GemmTile GemmTileOverride { get; set; } = GemmTile.Auto;

    internal int CompiledKernels => _f.LoadedCount + _d.LoadedCount + (_mixture is { } m ? m.LoadedCount : 0);

    private GpuMixtureKernels? _mixture;

    /// <summary>The Gaussian-mixture EM kernels on this accelerator, sharing the double GEMM (created on first use, then cached).</summary>
    internal GpuMixtureKernels Mixture
    {
        get
        {
            if (_mixture is { } m) return m;
            lock (_scratchGate) return _mixture ??= new GpuMixtureKernels(_acc, _d);
        }
    }

    internal void Preload()
    {
        _f.Preload();
        if (_acc is not ILGPU.Runtime.OpenCL.CLAccelerator cl || cl.Capabilities.Float64) _d.Preload();
        _random.Preload();
    }

    internal void TrimPool() => _pool.Clear(s => s.Buffer.Dispose());

    public void Dispose()
    {
        _pool.Clear(s => s.Buffer.Dispose());
        _indices?.Dispose();
        _flag?.Dispose();
        _scratchF?.Dispose();
        _scratchD?.Dispose();
    }

    // ---- views ----

    private static IlgpuStorage S(Tensor t) => (IlgpuStorage)t.Storage;
    private static bool IsF(Tensor t) => t.DType == DType.Float32;
    private static ArrayView<float> F(Tensor t) => S(t).Floats.SubView(t._offset, t.Count);
    private static ArrayView<double> D(Tensor t) => S(t).Doubles.SubView(t._offset, t.Count);
    private static ArrayView<float> FAll(Tensor t) => S(t).Floats.SubView(t._offset, S(t).Length - t._offset);
    private static ArrayView<double> DAll(Tensor t) => S(t).Doubles.SubView(t._offset, S(t).Length - t._offset);

    // ---- memory ----

    public override Storage Allocate(DType dtype, int length, bool pooled)
    {
        if (pooled && _pool.TryRent(dtype, length) is { } s) return s;
        _acc.Bind();
        MemoryBuffer buffer;
        try
        {
            buffer = AllocateBuffer(dtype, length);
        }
        catch (Exception e) when (e is OutOfMemoryException or AcceleratorException)
        {
            // Recycled blocks of other sizes may be what fills the device: give them back and try once more.
            _pool.Clear(s => s.Buffer.Dispose());
            buffer = AllocateBuffer(dtype, length);
        }
        return new IlgpuStorage(_device, dtype, buffer, length, pooled);
    }

    // ILGPU buffers cannot be empty: a zero-length tensor holds one unused element.
    private MemoryBuffer AllocateBuffer(DType dtype, int length) =>
        dtype == DType.Float32 ? _acc.Allocate1D<float>(Math.Max(length, 1)) : _acc.Allocate1D<double>(Math.Max(length, 1));

    public override void Release(Storage storage)
    {
        if (storage is IlgpuStorage { Pooled: true } s) _pool.Return(s);
    }

    public override long PooledBytes => _pool.Bytes;

    // ---- copies ----

    public override void Fill(Tensor y, double value)
    {
        if (IsF(y)) _f.Fill(F(y), (float)value); else _d.Fill(D(y), value);
    }

    public override void CopyFrom<T>(ReadOnlySpan<T> src, Tensor dst)
    {
        if (dst.Count == 0) return;
        _acc.Bind();
        if (typeof(T) == typeof(float)) F(dst).CopyFromCPU(MemoryMarshal.Cast<T, float>(src)[..dst.Count]);
        else D(dst).CopyFromCPU(MemoryMarshal.Cast<T, double>(src)[..dst.Count]);
        _device.CountToDevice((long)dst.Count * dst.DType.Size());
    }

    public override void CopyTo<T>(Tensor src, Span<T> dst)
    {
        if (src.Count == 0) return;
        _acc.Bind();
        if (typeof(T) == typeof(float)) F(src).CopyToCPU(MemoryMarshal.Cast<T, float>(dst)[..src.Count]);
        else D(src).CopyToCPU(MemoryMarshal.Cast<T, double>(dst)[..src.Count]);
        _device.CountToHost((long)src.Count * src.DType.Size());
    }

    public override void Copy(Tensor src, Tensor dst, bool accumulate)
    {
        if (IsF(src)) _f.Copy(F(src), F(dst), accumulate); else _d.Copy(D(src), D(dst), accumulate);
    }

    public override void StridedCopy(Tensor x, ReadOnlySpan<int> xStrides, Tensor y, ReadOnlySpan<int> shape, bool accumulate)
    {
        var s = StridedIndex.Create(shape, xStrides, default, default);
        if (IsF(x)) _f.StridedCopy(FAll(x), F(y), s, accumulate); else _d.StridedCopy(DAll(x), D(y), s, accumulate);
    }

    public override void SumInto(Tensor src, ReadOnlySpan<int> shape, Tensor dst, ReadOnlySpan<int> dstStrides)
    {
        if (IsF(src)) _f.SumInto(F(src), shape, F(dst), dstStrides); else _d.SumInto(D(src), shape, D(dst), dstStrides);
    }

    // ---- elementwise ----

    public override void Unary(UnaryOp op, Tensor x, Tensor y, double p0, double p1)
    {
        if (IsF(x)) _f.Unary(op, F(x), F(y), (float)p0, (float)p1); else _d.Unary(op, D(x), D(y), p0, p1);
    }

    public override void UnaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor dy, Tensor dx, double p0, double p1)
    {
        if (IsF(x)) _f.UnaryBackward(op, F(x), F(y), F(dy), F(dx), (float)p0, (float)p1);
        else _d.UnaryBackward(op, D(x), D(y), D(dy), D(dx), p0, p1);
    }

    public override void Binary(BinaryOp op, Tensor a, ReadOnlySpan<int> aStrides, Tensor b, ReadOnlySpan<int> bStrides, Tensor y, ReadOnlySpan<int> shape)
    {
        var s = StridedIndex.Create(shape, aStrides, bStrides, default);
        if (IsF(a)) _f.Binary(op, F(a), F(b), F(y), s); else _d.Binary(op, D(a), D(b), D(y), s);
    }

    public override void Where(Tensor mask, ReadOnlySpan<int> mStrides, Tensor a, ReadOnlySpan<int> aStrides, Tensor b, ReadOnlySpan<int> bStrides, Tensor y, ReadOnlySpan<int> shape)
    {
        var s = StridedIndex.Create(shape, mStrides, aStrides, bStrides);
        if (IsF(a)) _f.Where(F(mask), F(a), F(b), F(y), s); else _d.Where(D(mask), D(a), D(b), D(y), s);
    }

    // ---- along an axis ----

    public override void Reduce(ReduceOp op, Tensor x, int outer, int n, int inner, Tensor y)
    {
        if (IsF(x)) _f.Reduce(op, F(x), outer, n, inner, F(y)); else _d.Reduce(op, D(x), outer, n, inner, D(y));
    }

    public override void ReduceBackward(ReduceOp op, Tensor x, Tensor y, Tensor dy, Tensor dx, int outer, int n, int inner)
    {
        if (IsF(x)) _f.ReduceBackward(op, F(x), F(y), F(dy), F(dx), outer, n, inner);
        else _d.ReduceBackward(op, D(x), D(y), D(dy), D(dx), outer, n, inner);
    }

    public override void Normalize(NormalizeOp op, Tensor x, int outer, int n, int inner, Tensor y)
    {
        if (IsF(x)) _f.Normalize(op, F(x), outer, n, inner, F(y)); else _d.Normalize(op, D(x), outer, n, inner, D(y));
    }

    public override void NormalizeBackward(NormalizeOp op, Tensor y, Tensor dy, Tensor dx, int outer, int n, int inner)
    {
        if (IsF(y)) _f.NormalizeBackward(op, F(y), F(dy), F(dx), outer, n, inner);
        else _d.NormalizeBackward(op, D(y), D(dy), D(dx), outer, n, inner);
    }

    public override void CopyBlock(Tensor small, int nSmall, Tensor big, int nBig, int start, int outer, int inner, bool intoBig, bool accumulate)
    {
        if (start < 0 || start + nSmall > nBig)
            throw new ArgumentOutOfRangeException(nameof(start), $"Block [{start}, {start + nSmall}) does not fit an axis of {nBig}.");
        if (IsF(small)) _f.CopyBlock(F(small), nSmall, F(big), nBig, start, outer, inner, intoBig, accumulate);
        else _d.CopyBlock(D(small), nSmall, D(big), nBig, start, outer, inner, intoBig, accumulate);
    }

    public override void GatherRows(Tensor src, int rowLength, ReadOnlySpan<int> indices, Tensor dst)
    {
        int rows = rowLength == 0 ? 0 : src.Count / rowLength;
        if (rowLength == 0 || indices.IsEmpty) return;
        var idx = UploadIndices(indices, rows);
        if (IsF(src)) _f.GatherRows(F(src), idx, F(dst), indices.Length, rowLength);
        else _d.GatherRows(D(src), idx, D(dst), indices.Length, rowLength);
    }

    public override void ScatterAddRows(Tensor src, int rowLength, ReadOnlySpan<int> indices, Tensor dst)
    {
        int rows = rowLength == 0 ? 0 : dst.Count / rowLength;
        if (rowLength == 0 || indices.IsEmpty) return;
        var idx = UploadIndices(indices, rows);
        if (IsF(src)) _f.ScatterAddRows(F(src), idx, F(dst), indices.Length, rowLength);
        else _d.ScatterAddRows(D(src), idx, D(dst), indices.Length, rowLength);
    }

    // Checks the indices on the host (with the CPU kernel's message) and copies them into a reused device buffer; the
    // copy is ordered on the stream after earlier kernels that read the buffer, so reusing it is safe.
    private ArrayView<int> UploadIndices(ReadOnlySpan<int> indices, int rows)
    {
        for (int i = 0; i < indices.Length; i++)
            if ((uint)indices[i] >= (uint)rows)
                throw new ArgumentOutOfRangeException(nameof(indices), $"Index {indices[i]} at position {i} is out of range for {rows} rows.");
        _acc.Bind();
        lock (_scratchGate)
        {
            if (_indices is null || _indices.Length < indices.Length)
            {
                _indices?.Dispose();
                _indices = _acc.Allocate1D<int>(Math.Max(indices.Length, 256));
            }
            var view = _indices.View.BaseView.SubView(0, indices.Length);
            view.CopyFromCPU(indices);
            _device.CountToDevice((long)indices.Length * sizeof(int));
            return view;
        }
    }

    // ---- matrix products ----

    public override void Gemm(bool transA, bool transB, int m, int n, int k, double alpha,
        Tensor a, int aOffset, int lda, Tensor b, int bOffset, int ldb, double beta, Tensor c, int cOffset, int ldc)
    {
        if (IsF(a))
        {
            var p = new GemmArgs<float>
            {
                M = m, N = n, K = k, Lda = lda, Ldb = ldb, Ldc = ldc, TransA = transA ? 1 : 0, TransB = transB ? 1 : 0,
                AOffset = a._offset + aOffset, BOffset = b._offset + bOffset, COffset = c._offset + cOffset, Alpha = (float)alpha, Beta = (float)beta,
            };
            _f.Gemm(S(a).Floats, S(b).Floats, S(c).Floats, p, GemmTileOverride);
        }
        else
        {
            var p = new GemmArgs<double>
            {
                M = m, N = n, K = k, Lda = lda, Ldb = ldb, Ldc = ldc, TransA = transA ? 1 : 0, TransB = transB ? 1 : 0,
                AOffset = a._offset + aOffset, BOffset = b._offset + bOffset, COffset = c._offset + cOffset, Alpha = alpha, Beta = beta,
            };
            _d.Gemm(S(a).Doubles, S(b).Doubles, S(c).Doubles, p, GemmTileOverride);
        }
    }

    /// <summary>A float GEMM on raw device views (benchmarks time the kernel without tensors around it).</summary>
    internal void GemmFloat(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, GemmArgs<float> p) => _f.Gemm(a, b, c, p, GemmTileOverride);

    // ---- fused losses ----

    public override void BceWithLogitsRows(Tensor logits, Tensor targets, Tensor outRows, int rows, int cols)
    {
        // Targets broadcast over leading sample axes: one launch per block of targetRows rows, reading them in place.
        int tRows = TargetRows(targets, rows, cols);
        for (int r0 = 0; r0 < rows; r0 += tRows)
        {
            if (IsF(logits)) _f.BceWithLogitsRows(F(logits).SubView(r0 * cols, tRows * cols), F(targets), F(outRows).SubView(r0, tRows), tRows, cols);
            else _d.BceWithLogitsRows(D(logits).SubView(r0 * cols, tRows * cols), D(targets), D(outRows).SubView(r0, tRows), tRows, cols);
        }
    }

    public override void BceWithLogitsRowsBackward(Tensor logits, Tensor targets, Tensor dyRows, Tensor? dLogits, Tensor? dTargets, int rows, int cols)
    {
        int tRows = TargetRows(targets, rows, cols);
        if (tRows != rows && dTargets is not null)
            throw new ArgumentException("bce_with_logits backward: broadcast targets take no gradient.", nameof(dTargets));
        for (int r0 = 0; r0 < rows; r0 += tRows)
        {
            int e0 = r0 * cols, len = tRows * cols;
            if (IsF(logits))
                _f.BceWithLogitsRowsBackward(F(logits).SubView(e0, len), F(targets), F(dyRows).SubView(r0, tRows),
                    dLogits is null ? null : F(dLogits).SubView(e0, len), dTargets is null ? null : F(dTargets), tRows, cols);
            else
                _d.BceWithLogitsRowsBackward(D(logits).SubView(e0, len), D(targets), D(dyRows).SubView(r0, tRows),
                    dLogits is null ? null : D(dLogits).SubView(e0, len), dTargets is null ? null : D(dTargets), tRows, cols);
        }
    }

    public override void GaussianLogDensityRows(Tensor x, Tensor mu, Tensor logvar, Tensor outRows, int rows, int cols)
    {
        if (IsF(x)) _f.GaussianLogDensityRows(F(x), F(mu), F(logvar), F(outRows), rows, cols);
        else _d.GaussianLogDensityRows(D(x), D(mu), D(logvar), D(outRows), rows, cols);
    }

    public override void GaussianLogDensityRowsBackward(Tensor x, Tensor mu, Tensor logvar, Tensor dyRows, Tensor? dx, Tensor? dMu, Tensor? dLogvar, int rows, int cols)
    {
        if (IsF(x))
            _f.GaussianLogDensityRowsBackward(F(x), F(mu), F(logvar), F(dyRows), dx is null ? null : F(dx), dMu is null ? null : F(dMu), dLogvar is null ? null : F(dLogvar), rows, cols);
        else
            _d.GaussianLogDensityRowsBackward(D(x), D(mu), D(logvar), D(dyRows), dx is null ? null : D(dx), dMu is null ? null : D(dMu), dLogvar is null ? null : D(dLogvar), rows, cols);
    }

    // ---- random numbers ----

    public override void RandomUniform(Tensor y, ulong seed, ulong offset, double low, double high)
    {
        if (IsF(y)) _random.Uniform(F(y), seed, offset, (float)low, (float)high); else _random.Uniform(D(y), seed, offset, low, high);
    }

    public override void RandomNormal(Tensor y, ulong seed, ulong offset, double mean, double std)
    {
        if (IsF(y)) _random.Normal(F(y), seed, offset, (float)mean, (float)std); else _random.Normal(D(y), seed, offset, mean, std);
    }

    public override ulong RandomBlocks(DType dtype, int count, bool normal) => RandomFill.BlocksUsed(count, dtype == DType.Float64, normal);

    // ---- optimizers and diagnostics ----

    public override void AdamUpdate(Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2, double eps, double weightDecay, bool decoupled, int step)
    {
        if (step < 1) throw new ArgumentOutOfRangeException(nameof(step), step, "The Adam step count starts at 1.");
        if (IsF(param))
            _f.Adam(F(param), F(grad), F(m), F(v), (float)lr, (float)beta1, (float)beta2, (float)eps, (float)weightDecay, decoupled, step);
        else
            _d.Adam(D(param), D(grad), D(m), D(v), lr, beta1, beta2, eps, weightDecay, decoupled, step);
    }

    public override void SgdUpdate(Tensor param, Tensor grad, Tensor? momentumBuffer, double lr, double momentum, double dampening, double weightDecay, bool nesterov, bool firstStep)
    {
        int useMomentum = momentumBuffer is null ? 0 : 1;
        if (IsF(param))
        {
            var args = new SgdArgs<float>
            {
                LearningRate = (float)lr, Momentum = (float)momentum, OneMinusDampening = 1f - (float)dampening, WeightDecay = (float)weightDecay,
                UseMomentum = useMomentum, Nesterov = nesterov ? 1 : 0, FirstStep = firstStep ? 1 : 0,
            };
            _f.Sgd(F(param), F(grad), momentumBuffer is null ? F(param) : F(momentumBuffer), args);
        }
        else
        {
            var args = new SgdArgs<double>
            {
                LearningRate = lr, Momentum = momentum, OneMinusDampening = 1 - dampening, WeightDecay = weightDecay,
                UseMomentum = useMomentum, Nesterov = nesterov ? 1 : 0, FirstStep = firstStep ? 1 : 0,
            };
            _d.Sgd(D(param), D(grad), momentumBuffer is null ? D(param) : D(momentumBuffer), args);
        }
    }

    /// <summary>Reduces on the device, then reads the one resulting scalar back (a counted transfer).</summary>
    public override double SumOfSquares(Tensor x)
    {
        int groups = _f.Geometry.MaxGroups;
        _acc.Bind();
        lock (_scratchGate)
        {
            if (IsF(x))
            {
                _scratchF ??= _acc.Allocate1D<float>(groups + 1);
                var all = _scratchF.View.BaseView;
                _f.SumOfSquares(F(x), all.SubView(0, groups), all.SubView(groups, 1));
                Span<float> r = stackalloc float[1];
                all.SubView(groups, 1).CopyToCPU(r);
                _device.CountToHost(sizeof(float));
                return r[0];
            }
            _scratchD ??= _acc.Allocate1D<double>(groups + 1);
            var allD = _scratchD.View.BaseView;
            _d.SumOfSquares(D(x), allD.SubView(0, groups), allD.SubView(groups, 1));
            Span<double> rd = stackalloc double[1];
            allD.SubView(groups, 1).CopyToCPU(rd);
            _device.CountToHost(sizeof(double));
            return rd[0];
        }
    }

    /// <summary>Checks on the device, then reads one flag back (a counted transfer).</summary>
    public override bool AllFinite(Tensor x)
    {
        if (x.Count == 0) return true;
        _acc.Bind();
        lock (_scratchGate)
        {
            _flag ??= _acc.Allocate1D<int>(1);
            var flag = _flag.View.BaseView;
            flag.MemSetToZero();
            if (IsF(x)) _f.AnyNonFinite(F(x), flag); else _d.AnyNonFinite(D(x), flag);
            Span<int> r = stackalloc int[1];
            flag.CopyToCPU(r);
            _device.CountToHost(sizeof(int));
            return r[0] == 0;
        }
    }
}
