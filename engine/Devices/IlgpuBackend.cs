using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using Engine.Kernels;
using Engine.Kernels.Cpu;
using Engine.Kernels.Gpu;

namespace Engine.Devices;

/// <summary>
/// The <see cref="Backend"/> of an <see cref="IlgpuDevice"/>: device memory from an exact-size pool, and one generic
/// class (<see cref="Typed{T}"/>, instantiated for float and double) that maps tensors to device views and enqueues
/// the kernels of Engine.Kernels.Gpu; no loops over elements live here, and nothing is copied to or from the host
/// except where a method's contract moves host data (the copies, the index lists of
/// <see cref="Backend.GatherRows"/>/<see cref="Backend.ScatterAddRows"/>, which the base class validates on the host and
/// are uploaded inside the call, and the scalars <see cref="Backend.SumOfSquares"/> and <see cref="Backend.AllFinite"/>
/// return). Each such copy is counted on the device.
/// </summary>
internal sealed class IlgpuBackend : Backend, IDisposable
{
    private readonly IlgpuDevice _device;
    private readonly Accelerator _acc;
    private readonly ExactSizePool<IlgpuStorage> _pool = new();
    private readonly Typed<float> _f;
    private readonly Typed<double> _d;
    private readonly GpuRandom _random;
    private readonly Lock _scratchGate = new();
    private MemoryBuffer1D<int, Stride1D.Dense>? _indices;
    private MemoryBuffer1D<int, Stride1D.Dense>? _flag;

    public IlgpuBackend(IlgpuDevice device, Accelerator accelerator)
    {
        _device = device;
        _acc = accelerator;
        var geometry = new LaunchGeometry(accelerator);
        _f = new Typed<float>(this, new GpuKernels<float>(accelerator, geometry));
        _d = new Typed<double>(this, new GpuKernels<double>(accelerator, geometry));
        _random = new GpuRandom(accelerator, geometry);
        UseKernels(_f, _d);
    }

    /// <summary>Tile configuration every GEMM uses (Auto: chosen by shape); tests pin each one in turn.</summary>
    internal GemmTile GemmTileOverride { get; set; } = GemmTile.Auto;

    internal int CompiledKernels => _f.Kernels.LoadedCount + _d.Kernels.LoadedCount + (_mixture is { } m ? m.LoadedCount : 0);

    private GpuMixtureKernels? _mixture;

    /// <summary>The Gaussian-mixture EM kernels on this accelerator, sharing the double GEMM (created on first use, then cached).</summary>
    internal GpuMixtureKernels MixtureKernels
    {
        get
        {
            if (_mixture is { } m) return m;
            lock (_scratchGate) return _mixture ??= new GpuMixtureKernels(_acc, _d.Kernels);
        }
    }

    internal void Preload()
    {
        _f.Kernels.Preload();
        if (_acc is not ILGPU.Runtime.OpenCL.CLAccelerator cl || cl.Capabilities.Float64) _d.Kernels.Preload();
        _random.Preload();
    }

    internal void TrimPool() => _pool.Clear(s => s.Buffer.Dispose());

    private protected override unsafe Engine.Mixtures.MixtureEStep CreateMixture(MixtureCovariance type, int components, int dimensions, double* x, int rows, bool scoring) =>
        throw new NotSupportedException("The mixture E-step with host statistics runs on the CPU device.");

    private protected override Engine.Mixtures.MixtureIterations CreateMixtureIterations(MixtureCovariance type, int components, int dimensions, ReadOnlySpan<double> x, int rows, double regCovar) =>
        new Engine.Mixtures.IlgpuMixtureIterations(_device, type, components, dimensions, x, rows, regCovar);

    public void Dispose()
    {
        _pool.Clear(s => s.Buffer.Dispose());
        _indices?.Dispose();
        _flag?.Dispose();
        _f.Dispose();
        _d.Dispose();
    }

    private static IlgpuStorage S(Tensor t) => (IlgpuStorage)t.Storage;

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

    /// <summary>A float GEMM on raw device views (benchmarks time the kernel without tensors around it).</summary>
    internal void GemmFloat(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, GemmArgs<float> p) => _f.Kernels.Gemm(a, b, c, p, GemmTileOverride);

    // Copies checked indices into a reused device buffer; the copy is ordered on the stream after earlier kernels
    // that read the buffer, so reusing it is safe.
    private ArrayView<int> UploadIndices(ReadOnlySpan<int> indices)
    {
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

    /// <summary>The kernels on element type <typeparamref name="T"/>: float or double.</summary>
    private sealed class Typed<T>(IlgpuBackend owner, GpuKernels<T> kernels) : DTypeKernels, IDisposable
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        private MemoryBuffer1D<T, Stride1D.Dense>? _scratch;

        public GpuKernels<T> Kernels { get; } = kernels;

        public void Dispose() => _scratch?.Dispose();

        private static ArrayView<T> V(Tensor t) => S(t).View<T>().SubView(t._offset, t.Count);
        private static ArrayView<T> VAll(Tensor t) => S(t).View<T>().SubView(t._offset, S(t).Length - t._offset);
        private static ArrayView<T>? VOrNull(Tensor? t) => t is null ? null : V(t);
        private static T C(double v) => T.CreateTruncating(v);

        public override void Fill(Tensor y, double value) => Kernels.Fill(V(y), C(value));

        public override void CopyFrom(ReadOnlySpan<byte> src, Tensor dst)
        {
            if (dst.Count == 0) return;
            owner._acc.Bind();
            V(dst).CopyFromCPU(MemoryMarshal.Cast<byte, T>(src)[..dst.Count]);
            owner._device.CountToDevice((long)dst.Count * dst.DType.Size());
        }

        public override void CopyTo(Tensor src, Span<byte> dst)
        {
            if (src.Count == 0) return;
            owner._acc.Bind();
            V(src).CopyToCPU(MemoryMarshal.Cast<byte, T>(dst)[..src.Count]);
            owner._device.CountToHost((long)src.Count * src.DType.Size());
        }

        public override void Copy(Tensor src, Tensor dst, bool accumulate) => Kernels.Copy(V(src), V(dst), accumulate);

        public override void StridedCopy(Tensor x, ReadOnlySpan<int> xStrides, Tensor y, ReadOnlySpan<int> shape, bool accumulate) =>
            Kernels.StridedCopy(VAll(x), V(y), StridedIndex.Create(shape, xStrides, default, default), accumulate);

        public override void SumInto(Tensor src, ReadOnlySpan<int> shape, Tensor dst, ReadOnlySpan<int> dstStrides) =>
            Kernels.SumInto(V(src), shape, V(dst), dstStrides);

        public override void Unary(UnaryOp op, Tensor x, Tensor y, double p0, double p1) => Kernels.Unary(op, V(x), V(y), C(p0), C(p1));

        public override void UnaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor dy, Tensor dx, double p0, double p1) =>
            Kernels.UnaryBackward(op, V(x), V(y), V(dy), V(dx), C(p0), C(p1));

        public override void Binary(BinaryOp op, Tensor a, ReadOnlySpan<int> aStrides, Tensor b, ReadOnlySpan<int> bStrides, Tensor y, ReadOnlySpan<int> shape) =>
            Kernels.Binary(op, V(a), V(b), V(y), StridedIndex.Create(shape, aStrides, bStrides, default));

        public override void Where(Tensor mask, ReadOnlySpan<int> mStrides, Tensor a, ReadOnlySpan<int> aStrides, Tensor b, ReadOnlySpan<int> bStrides, Tensor y, ReadOnlySpan<int> shape) =>
            Kernels.Where(V(mask), V(a), V(b), V(y), StridedIndex.Create(shape, mStrides, aStrides, bStrides));

        public override void Reduce(ReduceOp op, Tensor x, int outer, int n, int inner, Tensor y) => Kernels.Reduce(op, V(x), outer, n, inner, V(y));

        public override void ReduceBackward(ReduceOp op, Tensor x, Tensor y, Tensor dy, Tensor dx, int outer, int n, int inner) =>
            Kernels.ReduceBackward(op, V(x), V(y), V(dy), V(dx), outer, n, inner);

        public override void Normalize(NormalizeOp op, Tensor x, int outer, int n, int inner, Tensor y) => Kernels.Normalize(op, V(x), outer, n, inner, V(y));

        public override void NormalizeBackward(NormalizeOp op, Tensor y, Tensor dy, Tensor dx, int outer, int n, int inner) =>
            Kernels.NormalizeBackward(op, V(y), V(dy), V(dx), outer, n, inner);

        public override void CopyBlock(Tensor small, int nSmall, Tensor big, int nBig, int start, int outer, int inner, bool intoBig, bool accumulate) =>
            Kernels.CopyBlock(V(small), nSmall, V(big), nBig, start, outer, inner, intoBig, accumulate);

        public override void GatherRows(Tensor src, int rowLength, ReadOnlySpan<int> indices, Tensor dst) =>
            Kernels.GatherRows(V(src), owner.UploadIndices(indices), V(dst), indices.Length, rowLength);

        public override void ScatterAddRows(Tensor src, int rowLength, ReadOnlySpan<int> indices, Tensor dst) =>
            Kernels.ScatterAddRows(V(src), owner.UploadIndices(indices), V(dst), indices.Length, rowLength);

        public override void Gemm(bool transA, bool transB, int m, int n, int k, double alpha,
            Tensor a, int aOffset, int lda, Tensor b, int bOffset, int ldb, double beta, Tensor c, int cOffset, int ldc)
        {
            var p = new GemmArgs<T>
            {
                M = m, N = n, K = k, Lda = lda, Ldb = ldb, Ldc = ldc, TransA = transA ? 1 : 0, TransB = transB ? 1 : 0,
                AOffset = a._offset + aOffset, BOffset = b._offset + bOffset, COffset = c._offset + cOffset, Alpha = C(alpha), Beta = C(beta),
            };
            Kernels.Gemm(S(a).View<T>(), S(b).View<T>(), S(c).View<T>(), p, owner.GemmTileOverride);
        }

        // One launch per block of target rows, reading the targets in place.
        public override void BceWithLogitsRows(Tensor logits, Tensor targets, Tensor outRows, int row0, int rows, int cols) =>
            Kernels.BceWithLogitsRows(V(logits).SubView(row0 * cols, rows * cols), V(targets), V(outRows).SubView(row0, rows), rows, cols);

        public override void BceWithLogitsRowsBackward(Tensor logits, Tensor targets, Tensor dyRows, Tensor? dLogits, Tensor? dTargets, int row0, int rows, int cols)
        {
            int e0 = row0 * cols, len = rows * cols;
            Kernels.BceWithLogitsRowsBackward(V(logits).SubView(e0, len), V(targets), V(dyRows).SubView(row0, rows),
                dLogits is null ? null : V(dLogits).SubView(e0, len), VOrNull(dTargets), rows, cols);
        }

        public override void GaussianLogDensityRows(Tensor x, Tensor mu, Tensor logvar, Tensor outRows, int rows, int cols) =>
            Kernels.GaussianLogDensityRows(V(x), V(mu), V(logvar), V(outRows), rows, cols);

        public override void GaussianLogDensityRowsBackward(Tensor x, Tensor mu, Tensor logvar, Tensor dyRows, Tensor? dx, Tensor? dMu, Tensor? dLogvar, int rows, int cols) =>
            Kernels.GaussianLogDensityRowsBackward(V(x), V(mu), V(logvar), V(dyRows), VOrNull(dx), VOrNull(dMu), VOrNull(dLogvar), rows, cols);

        // GpuRandom has separate float and double overloads: the type test is a constant of each instantiation.
        public override void RandomUniform(Tensor y, ulong seed, ulong offset, double low, double high)
        {
            if (typeof(T) == typeof(float)) owner._random.Uniform(S(y).View<float>().SubView(y._offset, y.Count), seed, offset, (float)low, (float)high);
            else owner._random.Uniform(S(y).View<double>().SubView(y._offset, y.Count), seed, offset, low, high);
        }

        public override void RandomNormal(Tensor y, ulong seed, ulong offset, double mean, double std)
        {
            if (typeof(T) == typeof(float)) owner._random.Normal(S(y).View<float>().SubView(y._offset, y.Count), seed, offset, (float)mean, (float)std);
            else owner._random.Normal(S(y).View<double>().SubView(y._offset, y.Count), seed, offset, mean, std);
        }

        public override void AdamUpdate(Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2, double eps, double weightDecay, bool decoupled, int step) =>
            Kernels.Adam(V(param), V(grad), V(m), V(v), C(lr), C(beta1), C(beta2), C(eps), C(weightDecay), decoupled, step);

        public override void SgdUpdate(Tensor param, Tensor grad, Tensor? momentumBuffer, double lr, double momentum, double dampening, double weightDecay, bool nesterov, bool firstStep)
        {
            var args = new SgdArgs<T>
            {
                LearningRate = C(lr), Momentum = C(momentum), OneMinusDampening = T.One - C(dampening), WeightDecay = C(weightDecay),
                UseMomentum = momentumBuffer is null ? 0 : 1, Nesterov = nesterov ? 1 : 0, FirstStep = firstStep ? 1 : 0,
            };
            Kernels.Sgd(V(param), V(grad), momentumBuffer is null ? V(param) : V(momentumBuffer), args);
        }

        /// <summary>Reduces on the device, then reads the one resulting scalar back (a counted transfer).</summary>
        public override double SumOfSquares(Tensor x)
        {
            int groups = Kernels.Geometry.MaxGroups;
            owner._acc.Bind();
            lock (owner._scratchGate)
            {
                _scratch ??= owner._acc.Allocate1D<T>(groups + 1);
                var all = _scratch.View.BaseView;
                Kernels.SumOfSquares(V(x), all.SubView(0, groups), all.SubView(groups, 1));
                Span<T> r = stackalloc T[1];
                all.SubView(groups, 1).CopyToCPU(r);
                owner._device.CountToHost(Unsafe.SizeOf<T>());
                return double.CreateTruncating(r[0]);
            }
        }

        /// <summary>Checks on the device, then reads one flag back (a counted transfer).</summary>
        public override bool AllFinite(Tensor x)
        {
            if (x.Count == 0) return true;
            owner._acc.Bind();
            lock (owner._scratchGate)
            {
                owner._flag ??= owner._acc.Allocate1D<int>(1);
                var flag = owner._flag.View.BaseView;
                flag.MemSetToZero();
                Kernels.AnyNonFinite(V(x), flag);
                Span<int> r = stackalloc int[1];
                flag.CopyToCPU(r);
                owner._device.CountToHost(sizeof(int));
                return r[0] == 0;
            }
        }
    }
}
