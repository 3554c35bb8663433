using ILGPU;
using ILGPU.Runtime;

namespace Engine.Kernels.Gpu;

/// <summary>
/// The Gaussian-mixture EM kernels (<see cref="MixtureKernels"/>) on one accelerator as typed launch delegates, each
/// compiled on first use and cached, in the pattern of <see cref="GpuKernels{T}"/>, whose GEMM and fills they share.
/// Every method enqueues on the accelerator's default stream and returns; nothing here copies to or from the host.
/// </summary>
public sealed class GpuMixtureKernels
{
    private readonly KernelCache _cache;

    public GpuMixtureKernels(Accelerator accelerator, GpuKernels<double> dense)
    {
        _cache = new KernelCache(accelerator);
        Dense = dense ?? throw new ArgumentNullException(nameof(dense));
    }

    /// <summary>The double-precision dense kernels (GEMM, fills) on the same accelerator.</summary>
    public GpuKernels<double> Dense { get; }

    /// <summary>The launch layout in use.</summary>
    public LaunchGeometry Geometry => Dense.Geometry;

    /// <summary>Number of mixture kernels compiled and loaded so far (each at most once).</summary>
    public int LoadedCount => _cache.LoadedCount;

    private TDel L<TDel>(ref TDel? field, Func<Accelerator, TDel> load) where TDel : class => _cache.Get(ref field, load);

    private Action<KernelConfig, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, MixtureDims>? _prepare;
    private Action<KernelConfig, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, int, int, int, MixtureDims>? _mahalanobis;
    private Action<KernelConfig, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, MixtureDims>? _constants;
    private Action<KernelConfig, ArrayView<double>, ArrayView<double>, ArrayView<double>, MixtureDims>? _lse;
    private Action<KernelConfig, ArrayView<double>, ArrayView<double>, int, MixtureDims>? _mean;
    private Action<KernelConfig, ArrayView<double>, ArrayView<double>, MixtureDims>? _norms;
    private Action<KernelConfig, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, int, int, MixtureDims>? _moments;
    private Action<KernelConfig, ArrayView<double>, ArrayView<double>, int, int>? _sumChunks;
    private Action<KernelConfig, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, int, MixtureDims>? _meansWeights;
    private Action<KernelConfig, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, int, int, MixtureDims>? _deviations;
    private Action<KernelConfig, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, MixtureDims>? _full;
    private Action<KernelConfig, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, MixtureDims>? _tied;
    private Action<KernelConfig, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<int>, MixtureDims>? _cholesky;
    private Action<KernelConfig, ArrayView<double>, ArrayView<double>, ArrayView<int>, int>? _variances;
    private Action<KernelConfig, ArrayView<int>, ArrayView<double>, ArrayView<double>, int, MixtureDims>? _status;

    /// <summary>Groups <see cref="LogSumExpResponsibilities"/> uses for <paramref name="n"/> rows (the length its partial sums need).</summary>
    public int LogSumExpGroups(int n) => Geometry.ElementwiseWithShared<double>(Math.Max(n, 1)).GridDim.X;

    /// <summary>Rows per group of <see cref="Moments"/> and the number of groups, for <paramref name="n"/> rows.</summary>
    public (int ChunkRows, int Chunks) MomentChunks(int n)
    {
        int chunkRows = Math.Max(64, (int)(((long)n + Geometry.MaxGroups - 1) / Geometry.MaxGroups));
        return (chunkRows, Math.Max(1, (n + chunkRows - 1) / chunkRows));
    }

    /// <inheritdoc cref="MixtureKernels.Prepare"/>
    public void Prepare(ArrayView<double> weights, ArrayView<double> means, ArrayView<double> precChol, ArrayView<double> coef,
        ArrayView<double> whitened, ArrayView<double> constK, MixtureDims p)
    {
        int work = Math.Max(p.K * p.D, p.Matrices * p.D * p.D);
        L(ref _prepare, static a => a.LoadStreamKernel<ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, MixtureDims>(
            MixtureKernels.Prepare))(Geometry.Elementwise(work), weights, means, precChol, coef, whitened, constK, p);
    }

    /// <inheritdoc cref="MixtureKernels.MahalanobisLogDensities"/>
    public void MahalanobisLogDensities(ArrayView<double> y, ArrayView<double> whitened, ArrayView<double> constK, ArrayView<double> l, int r0, int rows, int ldy, MixtureDims p)
    {
        L(ref _mahalanobis, static a => a.LoadStreamKernel<ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, int, int, int, MixtureDims>(
            MixtureKernels.MahalanobisLogDensities))(Geometry.Elementwise(p.K * rows), y, whitened, constK, l, r0, rows, ldy, p);
    }

    /// <inheritdoc cref="MixtureKernels.AddComponentConstants"/>
    public void AddComponentConstants(ArrayView<double> l, ArrayView<double> rowNorms, ArrayView<double> coef, ArrayView<double> constK, MixtureDims p)
    {
        L(ref _constants, static a => a.LoadStreamKernel<ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, MixtureDims>(
            MixtureKernels.AddComponentConstants))(Geometry.Elementwise(p.K * p.N), l, rowNorms, coef, constK, p);
    }

    /// <summary>
    /// Responsibilities in place of the log-densities, log p(x_i) per row, and status[0] = the mean log-likelihood
    /// (two launches; <paramref name="partial"/> holds at least <see cref="LogSumExpGroups"/> values).
    /// </summary>
    public void LogSumExpResponsibilities(ArrayView<double> lr, ArrayView<double> logNorm, ArrayView<double> partial, ArrayView<double> status, MixtureDims p)
    {
        var cfg = Geometry.ElementwiseWithShared<double>(Math.Max(p.N, 1));
        L(ref _lse, static a => a.LoadStreamKernel<ArrayView<double>, ArrayView<double>, ArrayView<double>, MixtureDims>(
            MixtureKernels.LogSumExpResponsibilities))(cfg, lr, logNorm, partial, p);
        L(ref _mean, static a => a.LoadStreamKernel<ArrayView<double>, ArrayView<double>, int, MixtureDims>(
            MixtureKernels.MeanLogLikelihood))(Geometry.SingleGroup<double>(), partial, status, cfg.GridDim.X, p);
    }

    /// <inheritdoc cref="MixtureKernels.RowSquaredNorms"/>
    public void RowSquaredNorms(ArrayView<double> x, ArrayView<double> rowNorms, MixtureDims p)
    {
        L(ref _norms, static a => a.LoadStreamKernel<ArrayView<double>, ArrayView<double>, MixtureDims>(MixtureKernels.RowSquaredNorms))(
            Geometry.Elementwise(p.N), x, rowNorms, p);
    }

    /// <summary>
    /// stats (K x Width) = the M-step's sufficient statistics, through per-chunk partial sums (<paramref name="partial"/>
    /// holds Chunks·K·Width values, see <see cref="MomentChunks"/>) and their in-order sum.
    /// </summary>
    public void Moments(ArrayView<double> resp, ArrayView<double> x, ArrayView<double> rowNorms, ArrayView<double> partial, ArrayView<double> stats, MixtureDims p)
    {
        var (chunkRows, chunks) = MomentChunks(p.N);
        int outputs = p.K * p.Width;
        int g = Geometry.GroupSize;
        while (g > Geometry.MinRowGroup && g / 2 >= outputs) g >>= 1;
        L(ref _moments, static a => a.LoadStreamKernel<ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, int, int, MixtureDims>(
            MixtureKernels.Moments))(new KernelConfig(chunks, g), resp, x, rowNorms, partial, chunkRows, chunks, p);
        L(ref _sumChunks, static a => a.LoadStreamKernel<ArrayView<double>, ArrayView<double>, int, int>(MixtureKernels.SumChunks))(
            Geometry.Elementwise(outputs), partial, stats, chunks, outputs);
    }

    /// <inheritdoc cref="MixtureKernels.MeansAndWeights"/>
    public void MeansAndWeights(ArrayView<double> stats, ArrayView<double> nk, ArrayView<double> weights, ArrayView<double> means, ArrayView<double> cov, bool weightsOverRows, MixtureDims p)
    {
        L(ref _meansWeights, static a => a.LoadStreamKernel<ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, int, MixtureDims>(
            MixtureKernels.MeansAndWeights))(new KernelConfig(1, Geometry.GroupSize), stats, nk, weights, means, cov, weightsOverRows ? 1 : 0, p);
    }

    /// <inheritdoc cref="MixtureKernels.WeightedDeviations"/>
    public void WeightedDeviations(ArrayView<double> resp, ArrayView<double> x, ArrayView<double> means, ArrayView<double> w, int r0, int rows, MixtureDims p)
    {
        L(ref _deviations, static a => a.LoadStreamKernel<ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, int, int, MixtureDims>(
            MixtureKernels.WeightedDeviations))(Geometry.Elementwise(rows * p.K * p.D), resp, x, means, w, r0, rows, p);
    }

    /// <inheritdoc cref="MixtureKernels.FullCovariances"/>
    public void FullCovariances(ArrayView<double> scatter, ArrayView<double> residual, ArrayView<double> means, ArrayView<double> nk, ArrayView<double> cov, MixtureDims p)
    {
        L(ref _full, static a => a.LoadStreamKernel<ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, MixtureDims>(
            MixtureKernels.FullCovariances))(Geometry.Elementwise(p.K * p.D * p.D), scatter, residual, means, nk, cov, p);
    }

    /// <inheritdoc cref="MixtureKernels.TiedCovariance"/>
    public void TiedCovariance(ArrayView<double> xtx, ArrayView<double> means, ArrayView<double> nk, ArrayView<double> cov, MixtureDims p)
    {
        L(ref _tied, static a => a.LoadStreamKernel<ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, MixtureDims>(
            MixtureKernels.TiedCovariance))(Geometry.Elementwise(p.D * p.D), xtx, means, nk, cov, p);
    }

    /// <summary>
    /// The precision factors from the covariances (a Cholesky per matrix, or 1 / sqrt of each variance), then the first
    /// failure into status[1..2] (see <see cref="MixtureKernels.Status"/>). <paramref name="work"/> holds the covariances'
    /// length; <paramref name="failures"/> one int per matrix or variance.
    /// </summary>
    public void Precisions(ArrayView<double> cov, ArrayView<double> work, ArrayView<double> precChol, ArrayView<int> failures, ArrayView<double> status, MixtureDims p)
    {
        int count;
        if (p.Matrices > 0)
        {
            count = p.Matrices;
            int g = Geometry.MinRowGroup;
            while (g < p.D && g < Geometry.GroupSize) g <<= 1;
            L(ref _cholesky, static a => a.LoadStreamKernel<ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<int>, MixtureDims>(
                MixtureKernels.CholeskyPrecisions))(new KernelConfig(p.Matrices, g), cov, work, precChol, failures, p);
        }
        else
        {
            count = p.Type == (int)MixtureCovariance.Diagonal ? p.K * p.D : p.K;
            L(ref _variances, static a => a.LoadStreamKernel<ArrayView<double>, ArrayView<double>, ArrayView<int>, int>(MixtureKernels.VariancePrecisions))(
                Geometry.Elementwise(count), cov, precChol, failures, count);
        }
        L(ref _status, static a => a.LoadStreamKernel<ArrayView<int>, ArrayView<double>, ArrayView<double>, int, MixtureDims>(MixtureKernels.Status))(
            new KernelConfig(1, 1), failures, cov, status, count, p);
    }

    /// <summary>Compiles and loads every mixture kernel now (benchmarks' setup), with toy launches.</summary>
    public void Preload()
    {
        var buf = _cache.Accelerator.Allocate1D<double>(256);
        var ints = _cache.Accelerator.Allocate1D<int>(8);
        try
        {
            var v = buf.View.BaseView;
            var iv = ints.View.BaseView;
            foreach (var type in Enum.GetValues<MixtureCovariance>())
            {
                var p = new MixtureDims
                {
                    N = 1, K = 1, D = 1, Type = (int)type, Width = type == MixtureCovariance.Diagonal ? 3 : 2, Coef = 2,
                    Matrices = type <= MixtureCovariance.Tied ? 1 : 0,
                };
                v.MemSetToZero();
                Prepare(v, v, v, v.SubView(8, 8), v.SubView(16, 8), v.SubView(24, 8), p);
                Precisions(v.SubView(32, 8), v.SubView(40, 8), v.SubView(48, 8), iv, v.SubView(56, 8), p);
            }
            var q = new MixtureDims { N = 1, K = 1, D = 1, Type = (int)MixtureCovariance.Full, Width = 2, Coef = 2, Matrices = 1 };
            MahalanobisLogDensities(v, v.SubView(8, 8), v.SubView(16, 8), v.SubView(24, 8), 0, 1, 1, q);
            AddComponentConstants(v, v.SubView(8, 8), v.SubView(16, 8), v.SubView(24, 8), q);
            LogSumExpResponsibilities(v.SubView(0, 8), v.SubView(8, 8), v.SubView(16, 128), v.SubView(144, 8), q);
            RowSquaredNorms(v, v.SubView(8, 8), q);
            Moments(v.SubView(0, 8), v.SubView(8, 8), v.SubView(16, 8), v.SubView(24, 128), v.SubView(160, 8), q);
            MeansAndWeights(v.SubView(0, 8), v.SubView(8, 8), v.SubView(16, 8), v.SubView(24, 8), v.SubView(32, 8), false, q);
            WeightedDeviations(v.SubView(0, 8), v.SubView(8, 8), v.SubView(16, 8), v.SubView(24, 8), 0, 1, q);
            FullCovariances(v.SubView(0, 8), v.SubView(8, 8), v.SubView(16, 8), v.SubView(24, 8), v.SubView(32, 8), q);
            TiedCovariance(v.SubView(0, 8), v.SubView(8, 8), v.SubView(16, 8), v.SubView(24, 8), q);
            _cache.Accelerator.Synchronize();
        }
        finally
        {
            buf.Dispose();
            ints.Dispose();
        }
    }
}
