using ILGPU;
using ILGPU.Runtime;
using Engine.Devices;
using Engine.Kernels;
using Engine.Kernels.Cpu;
using Engine.Kernels.Gpu;

namespace Engine.Mixtures;

/// <summary>
/// EM iterations of a Gaussian mixture on an <see cref="IlgpuDevice"/>: the data are uploaded once, then every E-step
/// and M-step is a sequence of device kernels (<see cref="MixtureKernels"/> and the device GEMM) on buffers that stay
/// on the device. The CPU twin is <see cref="CpuMixtureEStep"/> with the model's M-step; the formulas are the same, term for term.
/// </summary>
/// <remarks>
/// <para>Host copies, all counted on the device: the constructor uploads X (one copy); <see cref="Upload"/> the
/// parameters (four: weights, means, covariances, precision factors); <see cref="Expectation"/> and
/// <see cref="Maximization"/> copy nothing; <see cref="ReadStatus"/> is the one read per iteration, three doubles
/// (the lower bound, and the first covariance that is not positive definite with its detail); <see cref="Download"/>
/// reads the parameters back (four). Only on an error path is more read: log p(x) of every row, to name the first
/// row whose log-density is not finite.</para>
/// <para>Full and tied covariances go through products with blocks of rows (C^T X_b^T in the E-step, the scatter
/// W_b^T X_b in the M-step) whose scratch is at most <see cref="BlockBudget"/> doubles.</para>
/// </remarks>
internal sealed class IlgpuMixtureIterations : MixtureIterations
{
    /// <summary>Doubles of the block scratch (K D per row for full covariances); tests lower it to run several blocks.</summary>
    internal static int BlockBudget = 1 << 22;

    private readonly IlgpuDevice _device;
    private readonly GpuMixtureKernels _kernels;
    private readonly Accelerator _acc;
    private readonly MixtureCovariance _type;
    private readonly MixtureDims _p;
    private readonly int _blockRows, _covLength;
    private readonly List<MemoryBuffer> _buffers = [];
    private readonly ArrayView<double> _x, _x2, _rowNorms, _xtx;
    private readonly ArrayView<double> _weights, _means, _cov, _precChol;
    private readonly ArrayView<double> _coef, _whitened, _constK, _lr, _logNorm, _lsePartial, _status;
    private readonly ArrayView<double> _stats, _momentPartial, _nk, _work, _block, _scatter, _residual, _ones;
    private readonly ArrayView<int> _failures;
    private readonly double[] _statusHost = new double[3];

    /// <param name="x">The data, <paramref name="rows"/> x <paramref name="dimensions"/> row-major (uploaded here, once).</param>
    public IlgpuMixtureIterations(IlgpuDevice device, MixtureCovariance type, int components, int dimensions, ReadOnlySpan<double> x, int rows, double regCovar)
        : base(type, components, dimensions, rows)
    {
        if (device.Accelerator is ILGPU.Runtime.OpenCL.CLAccelerator { Capabilities.Float64: false })
            throw new NotSupportedException($"Gaussian-mixture EM runs in float64, which this OpenCL device ({device.Accelerator.Name}) does not support. Use the CPU or a CUDA device.");
        _device = device;
        _kernels = device.MixtureKernels;
        _acc = device.Accelerator;
        _type = type;
        int k = components, d = dimensions, n = rows;
        int matrices = type switch { MixtureCovariance.Full => k, MixtureCovariance.Tied => 1, _ => 0 };
        _p = new MixtureDims
        {
            N = n, K = k, D = d, Type = (int)type, Matrices = matrices,
            Width = 1 + d + type switch { MixtureCovariance.Diagonal => d, MixtureCovariance.Spherical => 1, _ => 0 },
            Coef = type == MixtureCovariance.Diagonal ? 2 * d : d + 1,
            LogNormalizer = -d * (0.5 * Math.Log(2 * Math.PI)),
            Reg = regCovar,
        };
        _covLength = MixtureStatistics.SecondMomentLength(type, k, d);
        int perRow = type switch { MixtureCovariance.Full => k * d, MixtureCovariance.Tied => d, _ => 0 };
        _blockRows = perRow == 0 ? n : Math.Clamp(BlockBudget / perRow, 1, n);

        _acc.Bind();
        try
        {
            _x = Allocate(n * d);
            _x.SubView(0, n * d).CopyFromCPU(x[..(n * d)]);
            _device.CountToDevice((long)n * d * sizeof(double));
            _x2 = type == MixtureCovariance.Diagonal ? Allocate(n * d) : _x;
            _rowNorms = type == MixtureCovariance.Spherical ? Allocate(n) : _x;
            _xtx = type == MixtureCovariance.Tied ? Allocate(d * d) : _x;

            _weights = Allocate(k);
            _means = Allocate(k * d);
            _cov = Allocate(_covLength);
            _precChol = Allocate(_covLength);
            _coef = Allocate(matrices > 0 ? matrices * d * d : k * _p.Coef);
            _whitened = Allocate(k * d);
            _constK = Allocate(k);
            _lr = Allocate(k * n);
            _logNorm = Allocate(n);
            _lsePartial = Allocate(_kernels.LogSumExpGroups(n));
            _status = Allocate(3);
            _stats = Allocate(k * _p.Width);
            _momentPartial = Allocate(_kernels.MomentChunks(n).Chunks * k * _p.Width);
            _nk = Allocate(k + 1);
            _work = Allocate(matrices > 0 ? _covLength : 1);
            _failures = AllocateInts(matrices > 0 ? matrices : _covLength);
            _block = Allocate(perRow * _blockRows);
            _scatter = type == MixtureCovariance.Full ? Allocate(k * d * d) : _x;
            _residual = type == MixtureCovariance.Full ? Allocate(k * d) : _x;
            _ones = type == MixtureCovariance.Full ? Allocate(_blockRows) : _x;

            // What does not change between iterations: x^2 (diagonal), |x|^2 (spherical), X^T X (tied), a row of ones.
            var dense = _kernels.Dense;
            if (type == MixtureCovariance.Diagonal) dense.Unary(UnaryOp.Square, _x, _x2, 0, 0);
            if (type == MixtureCovariance.Spherical) _kernels.RowSquaredNorms(_x, _rowNorms, _p);
            if (type == MixtureCovariance.Tied)
                dense.Gemm(_x, _x, _xtx, new GemmArgs<double> { M = d, N = d, K = n, Lda = d, Ldb = d, Ldc = d, TransA = 1, Alpha = 1 });
            if (type == MixtureCovariance.Full) dense.Fill(_ones, 1.0);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    private ArrayView<double> Allocate(int length)
    {
        var b = _acc.Allocate1D<double>(Math.Max(length, 1));
        _buffers.Add(b);
        return b.View.BaseView.SubView(0, Math.Max(length, 1));
    }

    private ArrayView<int> AllocateInts(int length)
    {
        var b = _acc.Allocate1D<int>(Math.Max(length, 1));
        _buffers.Add(b);
        return b.View.BaseView;
    }

    /// <inheritdoc/>
    public override void Upload(ReadOnlySpan<double> weights, ReadOnlySpan<double> means, ReadOnlySpan<double> covariances, ReadOnlySpan<double> precisionsCholesky)
    {
        CheckParameters(weights.Length, means.Length, covariances.Length, precisionsCholesky.Length);
        _acc.Bind();
        Put(weights, _weights);
        Put(means, _means);
        Put(covariances, _cov);
        Put(precisionsCholesky, _precChol);
    }

    /// <inheritdoc/>
    public override void Download(Span<double> weights, Span<double> means, Span<double> covariances, Span<double> precisionsCholesky)
    {
        CheckParameters(weights.Length, means.Length, covariances.Length, precisionsCholesky.Length);
        _acc.Bind();
        Get(_weights, weights);
        Get(_means, means);
        Get(_cov, covariances);
        Get(_precChol, precisionsCholesky);
    }

    private void Put(ReadOnlySpan<double> host, ArrayView<double> view)
    {
        view.SubView(0, host.Length).CopyFromCPU(host);
        _device.CountToDevice((long)host.Length * sizeof(double));
    }

    private void Get(ArrayView<double> view, Span<double> host)
    {
        view.SubView(0, host.Length).CopyToCPU(host);
        _device.CountToHost((long)host.Length * sizeof(double));
    }

    /// <summary>
    /// Enqueues the E-step for the parameters on the device: responsibilities (K x N) and the mean log-likelihood
    /// into the status. Copies nothing.
    /// </summary>
    public void Expectation()
    {
        _acc.Bind();
        var p = _p;
        var dense = _kernels.Dense;
        int n = p.N, d = p.D;
        _kernels.Prepare(_weights, _means, _precChol, _coef, _whitened, _constK, p);
        if (p.Matrices > 0)
        {
            // Y = [C_1 .. C_F]^T X_b^T per block of rows, then the squared distances to the whitened means.
            for (int r0 = 0; r0 < n; r0 += _blockRows)
            {
                int rows = Math.Min(_blockRows, n - r0);
                dense.Gemm(_coef, _x, _block, new GemmArgs<double>
                {
                    M = p.Matrices * d, N = rows, K = d, Lda = d, Ldb = d, Ldc = _blockRows, BOffset = r0 * d, TransB = 1, Alpha = 1,
                });
                _kernels.MahalanobisLogDensities(_block, _whitened, _constK, _lr, r0, rows, _blockRows, p);
            }
        }
        else
        {
            // -1/2 [(-2 mu prec) . x (+ prec . x^2)] for all components and rows: one or two products.
            dense.Gemm(_coef, _x, _lr, new GemmArgs<double> { M = p.K, N = n, K = d, Lda = p.Coef, Ldb = d, Ldc = n, TransB = 1, Alpha = -0.5 });
            if (_type == MixtureCovariance.Diagonal)
            {
                dense.Gemm(_coef, _x2, _lr, new GemmArgs<double>
                {
                    M = p.K, N = n, K = d, Lda = p.Coef, Ldb = d, Ldc = n, AOffset = d, TransB = 1, Alpha = -0.5, Beta = 1,
                });
            }
            _kernels.AddComponentConstants(_lr, _rowNorms, _coef, _constK, p);
        }
        _kernels.LogSumExpResponsibilities(_lr, _logNorm, _lsePartial, _status, p);
    }

    /// <summary>
    /// Enqueues the M-step from the responsibilities on the device: weights, means, covariances (+ reg on the
    /// diagonal) and precision factors, with a failed factorization recorded in the status. Copies nothing.
    /// </summary>
    public void Maximization()
    {
        _acc.Bind();
        var p = _p;
        var dense = _kernels.Dense;
        int n = p.N, d = p.D, kd = p.K * d;
        _kernels.Moments(_lr, _x, _rowNorms, _momentPartial, _stats, p);
        _kernels.MeansAndWeights(_stats, _nk, _weights, _means, _cov, weightsOverRows: false, p);
        if (_type == MixtureCovariance.Full)
        {
            for (int r0 = 0; r0 < n; r0 += _blockRows)
            {
                int rows = Math.Min(_blockRows, n - r0);
                double beta = r0 == 0 ? 0 : 1;
                _kernels.WeightedDeviations(_lr, _x, _means, _block, r0, rows, p);
                // Scatter += W_b^T X_b (K D x D) and the residuals e += 1^T W_b.
                dense.Gemm(_block, _x, _scatter, new GemmArgs<double>
                {
                    M = kd, N = d, K = rows, Lda = kd, Ldb = d, Ldc = d, BOffset = r0 * d, TransA = 1, Alpha = 1, Beta = beta,
                });
                dense.Gemm(_ones, _block, _residual, new GemmArgs<double> { M = 1, N = kd, K = rows, Lda = rows, Ldb = kd, Ldc = kd, Alpha = 1, Beta = beta });
            }
            _kernels.FullCovariances(_scatter, _residual, _means, _nk, _cov, p);
        }
        else if (_type == MixtureCovariance.Tied)
        {
            _kernels.TiedCovariance(_xtx, _means, _nk, _cov, p);
        }
        _kernels.Precisions(_cov, _work, _precChol, _failures, _status, p);
    }

    /// <summary>
    /// The one read of an iteration (three doubles, waiting for the enqueued kernels): the mean log-likelihood of the
    /// last E-step, and the first covariance the last M-step could not factorize (0: none; else index + 1) with its
    /// failing column or variance.
    /// </summary>
    public (double Bound, int Failure, double Detail) ReadStatus()
    {
        _acc.Bind();
        _status.SubView(0, 3).CopyToCPU(_statusHost);
        _device.CountToHost(3 * sizeof(double));
        return (_statusHost[0], (int)_statusHost[1], _statusHost[2]);
    }

    /// <inheritdoc/>
    public override MixtureIterationStatus Iterate()
    {
        Expectation();
        Maximization();
        var (bound, failure, detail) = ReadStatus();
        if (!double.IsFinite(bound)) ThrowNonFiniteRow();
        return new MixtureIterationStatus(bound, failure - 1, detail);
    }

    private void ThrowNonFiniteRow()
    {
        var logNorm = new double[_p.N];
        _logNorm.SubView(0, _p.N).CopyToCPU(logNorm);
        _device.CountToHost((long)_p.N * sizeof(double));
        int bad = 0;
        while (bad < logNorm.Length - 1 && double.IsFinite(logNorm[bad])) bad++;
        throw new InvalidOperationException(
            $"Row {bad} has log p(x) = {logNorm[bad]} under every component: its squared Mahalanobis distances overflow " +
            "double precision. Standardize the data (or reduce its scale), or increase RegCovar.");
    }

    protected override void Dispose(bool disposing)
    {
        foreach (var b in _buffers) b.Dispose();
        _buffers.Clear();
    }
}
