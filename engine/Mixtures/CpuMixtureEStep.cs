using System.Numerics.Tensors;
using Engine.Kernels;
using Engine.Kernels.Cpu;

namespace Engine.Mixtures;

/// <summary>
/// The CPU's <see cref="MixtureEStep"/>: the E-step and the sufficient statistics of the M-step over a fixed chunk of
/// rows, in blocks of rows, with every buffer allocated once (a fit runs its iterations without managed allocations).
/// The M-step formulas that read the statistics are the model's.
/// </summary>
/// <remarks>
/// <para>E-step (Bishop, PRML 9.23; the lecture's q(z) = p(z | x; theta)): for each block the weighted log-densities
/// log pi_k + log N(x | mu_k, Sigma_k) go into a K x rows buffer, component-major, so the logsumexp over k and the
/// responsibilities r_ik = exp(l_ik - log p(x_i)) vectorize along the rows. The Mahalanobis terms come from GEMM:
/// with Sigma_k^-1 = C_k C_k^T, ||C_k^T (x - mu_k)||^2 = ||C_k^T x - C_k^T mu_k||^2, and the C_k^T x of all k
/// are one product [C_1 .. C_K]^T X_b^T (full), one C^T X_b^T (tied); for diagonal and spherical covariances the
/// expansion sum_j prec_j x_j^2 - 2 mu_j prec_j x_j + mu_j^2 prec_j is a product with X_b and one with the squares
/// X_b o X_b (or a rank-one term with |x|^2, computed once per data set), as scikit-learn computes it.</para>
/// <para>M-step statistics (PRML 9.24-9.27): N_k = sum_i r_ik, R^T X and (diagonal, spherical) R^T X^2 or R^T |x|^2
/// accumulate in the same pass (small GEMMs per block); full covariances need the new means first and take a
/// second pass with the centred scatter of all components in one product (see ScatterBlock). Tied covariances
/// reuse X^T X, computed once per data set.</para>
/// <para>Chunks and their reduction: every pass computes its statistics (N_k, the moments, the scatters, the sum of
/// log p(x_i)) per part, a contiguous chunk of whole E-step blocks of rows, and the parts' partial statistics are
/// reduced in part order. The partition is a function of the data size alone (covariance type, K, D and N): one
/// part below <see cref="ParallelWork"/> multiply-adds per pass, else as many as the blocks allow up to
/// <see cref="MaxParts"/>, each long enough that the partial statistics of all parts together hold no more values
/// than the data. It never depends on the thread count, so a fit gives the same bits on any number of threads, and
/// since the parts hold whole blocks, the blocks (and every per-row result, log p(x_i) and r_ik) are those of a
/// single part.</para>
/// <para>Threads: <see cref="ParallelParts"/> hands the parts to up to <see cref="ParallelParts.Threads"/> threads
/// in any order, and the GEMMs inside a part then run on its thread. A part borrows its scratch buffers (the block
/// products, the weighted deviations) from min(parts, processor count) sets, as no more parts run at once; only the
/// partial statistics are kept per part. The GEMMs here scale by powers of two (alpha 1, -1/2 or -1, beta 0 or 1),
/// for which a GEMM's result does not depend on how it splits a product over threads either (with other factors
/// its whole and edge tiles round alpha AB + beta C differently).</para>
/// </remarks>
internal sealed unsafe class CpuMixtureEStep : MixtureEStep, IParallelPart
{
    private enum Pass { Expectation, Accumulate, Score, Scatter }

    /// <summary>Budget (doubles) of the full-covariance E-step's C^T X_b^T buffer, which sets its block rows.</summary>
    internal static int FullBlockBudget = 128 * 1024;

    /// <summary>Budget (doubles) of the full-covariance scatter pass's r (x - mu) buffer (K D per row), which sets its block rows.</summary>
    internal static int ScatterBudget = 32 * 1024;

    /// <summary>Rows per block on the other passes.</summary>
    internal static int BlockRows = 256;

    /// <summary>Below this many multiply-adds per pass (about N K D, N K D^2 for full covariances) the rows stay in one part.</summary>
    internal const long ParallelWork = 1L << 20;

    /// <summary>Most parts the rows are split into (the most threads a pass can use).</summary>
    internal const int MaxParts = 16;

    private static readonly double HalfLog2Pi = 0.5 * Math.Log(2 * Math.PI);

    /// <summary>Smallest argument passed to exp in the responsibilities (see LogSumExpAndResponsibilities).</summary>
    private const double MinExponent = -700;

    private readonly int _k, _d, _n, _width, _coef, _eRows, _sRows, _parts, _blocks, _split;
    private readonly double* _x;
    private readonly double[] _resp;
    private readonly double[]? _logNorm;
    private readonly double[] _a, _c, _constK;
    private readonly double[]? _xtx;
    private readonly double[] _rowNorms;
    private readonly double[] _nk, _stats;
    private readonly PartSums[] _sums;
    private readonly Scratch[] _scratch;
    private readonly int[] _scratchBusy;
    private Pass _pass;
    private readonly double[] _means;

    /// <summary>One part's partial statistics, reduced in part order after each pass.</summary>
    private sealed class PartSums
    {
        public double[] Nk = [], Stats = [], Scatter = [], Residual = [];
        public double LogLikelihood;
    }

    /// <summary>Buffers a part overwrites block by block before reading them; any free set serves any part.</summary>
    private sealed class Scratch
    {
        public double[] Y = [], Z = [], L = [], Max = [], Sum = [], Tmp = [], W = [];
    }

    /// <param name="x">The data, N x D row-major; must stay pinned while the workspace is used.</param>
    /// <param name="scoring">Keep log p(x_i) per row (for ScoreSamples) instead of only their sum.</param>
    public CpuMixtureEStep(MixtureCovariance type, int components, int dimensions, double* x, int rows, bool scoring = false)
        : base(type, components, dimensions, rows)
    {
        _k = components;
        _d = dimensions;
        _n = rows;
        _x = x;
        // Columns of the statistics: R^T X, then R^T X^2 (diagonal) or R^T |x|^2 (spherical); and of the diagonal
        // types' E-step coefficients [-2 mu prec | prec].
        _width = type switch
        {
            MixtureCovariance.Diagonal => 2 * _d,
            MixtureCovariance.Spherical => _d + 1,
            _ => _d,
        };
        _coef = type == MixtureCovariance.Diagonal ? 2 * _d : _d + 1;
        _eRows = type == MixtureCovariance.Full
            ? Math.Clamp(FullBlockBudget / (_k * _d) / 8 * 8, 8, BlockRows)
            : BlockRows;
        // The full scatter pass holds K x D values per row (R o (X - mu_k) for every k), kept within L2.
        _sRows = type == MixtureCovariance.Full ? Math.Clamp(ScatterBudget / (_k * _d) / 8 * 8, 8, BlockRows) : BlockRows;
        // C^T is lower triangular: rows j < split of the stacked C_k^T only touch columns < split (see Prepare).
        _split = _d >= 16 ? _d / 2 : _d;
        // The partition (see the remarks): whole E-step blocks per part, so the blocks are those of one part; a part
        // has at least stats / D rows, so all parts' partial statistics together hold no more values than the data.
        _blocks = (rows + _eRows - 1) / _eRows;
        long work = (long)rows * _k * _d * (type == MixtureCovariance.Full ? _d : 1);
        long stats = _k + (long)_k * _width + (type == MixtureCovariance.Full ? (long)_k * _d * _d + _k * _d : 0);
        long minBlocks = Math.Max(1, (stats + (long)_d * _eRows - 1) / ((long)_d * _eRows));
        _parts = work >= ParallelWork ? (int)Math.Clamp(_blocks / minBlocks, 1, MaxParts) : 1;

        _resp = new double[(long)_k * rows];
        if (scoring) _logNorm = new double[rows];
        _a = new double[type switch
        {
            MixtureCovariance.Full => _k * _d * _d,
            MixtureCovariance.Tied => _d * _d,
            _ => _k * _coef,
        }];
        _c = new double[_k * _d];
        _constK = new double[_k];
        _nk = new double[_k];
        _stats = new double[_k * _width];
        _means = type == MixtureCovariance.Full && !scoring ? new double[_k * _d] : [];
        if (type == MixtureCovariance.Tied && !scoring)
        {
            // X^T X does not change between iterations (scikit-learn recomputes it in every M-step).
            _xtx = new double[_d * _d];
            var all = new ReadOnlySpan<double>(_x, checked(rows * _d));
            Gemm.Compute(true, false, _d, _d, rows, 1.0, all, _d, all, _d, 0.0, _xtx, _d);
        }

        // |x_i|^2 does not change between iterations: the spherical E-step and M-step read it from here.
        _rowNorms = type == MixtureCovariance.Spherical ? new double[rows] : [];
        for (int i = 0; i < _rowNorms.Length; i++)
        {
            var xi = new ReadOnlySpan<double>(_x + (long)i * _d, _d);
            _rowNorms[i] = TensorPrimitives.Dot(xi, xi);
        }

        _sums = new PartSums[_parts];
        for (int p = 0; p < _parts; p++)
        {
            var s = new PartSums { Nk = new double[_k], Stats = new double[_k * _width] };
            if (type == MixtureCovariance.Full && !scoring)
            {
                s.Scatter = new double[_k * _d * _d];
                s.Residual = new double[_k * _d];
            }
            _sums[p] = s;
        }

        // No more parts run at once than there are threads, and a job never has more threads than processors.
        _scratch = new Scratch[Math.Min(_parts, Math.Max(1, Environment.ProcessorCount))];
        _scratchBusy = new int[_scratch.Length];
        for (int t = 0; t < _scratch.Length; t++)
        {
            var s = new Scratch
            {
                L = new double[_k * _eRows],
                Max = new double[_eRows],
                Sum = new double[_eRows],
                Tmp = new double[_eRows],
            };
            if (type == MixtureCovariance.Full)
            {
                s.Y = new double[_k * _d * _eRows];
                if (!scoring) s.W = new double[_sRows * _k * _d];
            }
            else if (type == MixtureCovariance.Tied)
            {
                s.Y = new double[_d * _eRows];
            }
            else if (type == MixtureCovariance.Diagonal)
            {
                s.Z = new double[_eRows * _d];
            }
            _scratch[t] = s;
        }
    }

    /// <inheritdoc/>
    public override Span<double> Responsibilities => _resp;

    /// <inheritdoc/>
    public override ReadOnlySpan<double> LogDensities => _logNorm;

    /// <summary>Number of parts (chunks of rows) the passes are split into; a function of the data size only.</summary>
    public int Parts => _parts;

    /// <inheritdoc/>
    public override void Expectation(ReadOnlySpan<double> weights, ReadOnlySpan<double> means, ReadOnlySpan<double> precisionsCholesky, MixtureStatistics statistics)
    {
        CheckParameters(weights, means, precisionsCholesky);
        CheckStatistics(statistics);
        Prepare(weights, means, precisionsCholesky);
        Run(Pass.Expectation);
        Reduce(statistics);
    }

    /// <inheritdoc/>
    public override void Accumulate(MixtureStatistics statistics)
    {
        CheckStatistics(statistics);
        Run(Pass.Accumulate);
        Reduce(statistics);
    }

    /// <inheritdoc/>
    public override void Score(ReadOnlySpan<double> weights, ReadOnlySpan<double> means, ReadOnlySpan<double> precisionsCholesky)
    {
        CheckParameters(weights, means, precisionsCholesky);
        Prepare(weights, means, precisionsCholesky);
        Run(Pass.Score);
    }

    /// <summary>
    /// Sums the parts' N_k, moments and log-likelihoods in part order (N_k and the moments from zero, as the M-step
    /// always did) into <paramref name="statistics"/>; tied covariances take X^T X as their second moments.
    /// </summary>
    private void Reduce(MixtureStatistics statistics)
    {
        int k = _k, d = _d, w = _width;
        Array.Clear(_nk);
        Array.Clear(_stats);
        double total = 0;
        foreach (var s in _sums)
        {
            TensorPrimitives.Add(_nk, s.Nk, _nk);
            TensorPrimitives.Add(_stats, s.Stats, _stats);
            total += s.LogLikelihood;
        }
        statistics.Rows = _n;
        statistics.LogLikelihood = total;
        _nk.CopyTo(statistics.Nk, 0);
        for (int c = 0; c < k; c++) _stats.AsSpan(c * w, d).CopyTo(statistics.FirstMoments.AsSpan(c * d, d));
        switch (Type)
        {
            case MixtureCovariance.Diagonal:
                for (int c = 0; c < k; c++) _stats.AsSpan(c * w + d, d).CopyTo(statistics.SecondMoments.AsSpan(c * d, d));
                break;
            case MixtureCovariance.Spherical:
                for (int c = 0; c < k; c++) statistics.SecondMoments[c] = _stats[c * w + d];
                break;
            case MixtureCovariance.Tied:
                if (_xtx is null) Array.Clear(statistics.SecondMoments); else _xtx.CopyTo(statistics.SecondMoments, 0);
                break;
            default:
                Array.Clear(statistics.SecondMoments);
                Array.Clear(statistics.Residuals);
                break;
        }
    }

    /// <inheritdoc/>
    public override void Scatter(ReadOnlySpan<double> means, MixtureStatistics statistics)
    {
        CheckScatter(means, statistics);
        if (_means.Length == 0) throw new InvalidOperationException("This E-step was made for scoring, which takes no scatter pass.");
        int k = _k, d = _d;
        means.CopyTo(_means);
        Run(Pass.Scatter);
        // Sum the parts' scatters and residuals (in part order), then unpack the lower triangles (ScatterBlock's layout).
        double[] sum = _sums[0].Scatter, residual = _sums[0].Residual;
        for (int p = 1; p < _sums.Length; p++)
        {
            TensorPrimitives.Add(sum, _sums[p].Scatter, sum);
            TensorPrimitives.Add(residual, _sums[p].Residual, residual);
        }
        int h = _split, low = d - h;
        double[] scatter = statistics.SecondMoments, residuals = statistics.Residuals;
        for (int c = 0; c < k; c++)
        {
            for (int j = 0; j < d; j++)
            {
                ReadOnlySpan<double> row = j < h ? sum.AsSpan((c * h + j) * h, j + 1) : sum.AsSpan(k * h * h + (c * low + j - h) * d, j + 1);
                row.CopyTo(scatter.AsSpan((c * d + j) * d, j + 1));
                residuals[c * d + j] = j < h ? residual[c * h + j] : residual[k * h + c * low + j - h];
            }
        }
    }

    /// <summary>
    /// The per-iteration constants of the E-step: the stacked C_k^T (or the [-2 mu prec, prec] rows), C_k^T mu_k
    /// and log pi_k + log det C_k - D/2 log 2 pi (- 1/2 sum mu^2 prec for the diagonal types).
    /// </summary>
    private void Prepare(ReadOnlySpan<double> weights, ReadOnlySpan<double> means, ReadOnlySpan<double> pc)
    {
        int k = _k, d = _d, dd = d * d, w = _coef;
        double logNormalizer = -d * HalfLog2Pi;
        switch (Type)
        {
            case MixtureCovariance.Full:
            case MixtureCovariance.Tied:
                // C_f is upper triangular, so row j of C_f^T (column j of C_f) is zero beyond column j. The stacked
                // rows are split in two groups: "top" rows j < h read only the first h coordinates of x
                // (count*h x h, at the start of _a), "bottom" rows j >= h read all D (count*(D-h) x D, after them).
                // That skips a quarter of the multiply-adds of a dense [C_1 .. C_K]^T X^T.
                int count = Type == MixtureCovariance.Full ? k : 1, h = _split;
                int bottom = count * h * h;
                for (int f = 0; f < count; f++)
                {
                    for (int j = 0; j < d; j++)
                    {
                        Span<double> row = j < h ? _a.AsSpan((f * h + j) * h, h) : _a.AsSpan(bottom + (f * (d - h) + j - h) * d, d);
                        for (int i = 0; i < row.Length; i++) row[i] = pc[f * dd + i * d + j];
                    }
                }
                for (int c = 0; c < k; c++)
                {
                    int f = Type == MixtureCovariance.Full ? c : 0;
                    double logDet = 0;
                    for (int j = 0; j < d; j++)
                    {
                        logDet += Math.Log(pc[f * dd + j * d + j]);
                        double cj = 0;
                        for (int i = 0; i <= j; i++) cj += pc[f * dd + i * d + j] * means[c * d + i];
                        _c[c * d + j] = cj;
                    }
                    _constK[c] = Math.Log(weights[c]) + logNormalizer + logDet;
                }
                break;
            case MixtureCovariance.Diagonal:
                for (int c = 0; c < k; c++)
                {
                    double logDet = 0, muPrecMu = 0;
                    for (int j = 0; j < d; j++)
                    {
                        double chol = pc[c * d + j], prec = chol * chol, mu = means[c * d + j];
                        logDet += Math.Log(chol);
                        muPrecMu += mu * mu * prec;
                        _a[c * w + j] = -2 * mu * prec;
                        _a[c * w + d + j] = prec;
                    }
                    _constK[c] = Math.Log(weights[c]) + logNormalizer + logDet - 0.5 * muPrecMu;
                }
                break;
            case MixtureCovariance.Spherical:
                for (int c = 0; c < k; c++)
                {
                    double chol = pc[c], prec = chol * chol;
                    ReadOnlySpan<double> mu = means.Slice(c * d, d);
                    TensorPrimitives.Multiply(mu, -2 * prec, _a.AsSpan(c * w, d));
                    _a[c * w + d] = prec;
                    _constK[c] = Math.Log(weights[c]) + logNormalizer + d * Math.Log(chol) - 0.5 * prec * TensorPrimitives.Dot(mu, mu);
                }
                break;
        }
    }

    private void Run(Pass pass)
    {
        _pass = pass;
        ParallelParts.Run(this, _parts);
    }

    /// <summary>One part: a contiguous range of whole E-step blocks of rows, processed block by block.</summary>
    public void Execute(int part)
    {
        PartSums s = _sums[part];
        int start = (int)((long)_blocks * part / _parts) * _eRows;
        int end = (int)Math.Min(_n, (long)_blocks * (part + 1) / _parts * _eRows);
        int slot = ClaimScratch();
        try
        {
            Scratch t = _scratch[slot];
            if (_pass == Pass.Scatter)
            {
                Array.Clear(s.Scatter);
                Array.Clear(s.Residual);
                for (int r0 = start; r0 < end; r0 += _sRows) ScatterBlock(s, t, r0, Math.Min(_sRows, end - r0));
                return;
            }
            s.LogLikelihood = 0;
            Array.Clear(s.Nk);
            Array.Clear(s.Stats);
            for (int r0 = start; r0 < end; r0 += _eRows) ProcessBlock(s, t, r0, Math.Min(_eRows, end - r0));
        }
        finally
        {
            Volatile.Write(ref _scratchBusy[slot], 0);
        }
    }

    /// <summary>
    /// A free scratch set for the calling part. There are as many sets as parts can run at once, so one is always
    /// free; the wait is only a safeguard. Which set a part gets does not matter: it overwrites what it reads.
    /// </summary>
    private int ClaimScratch()
    {
        var wait = new SpinWait();
        while (true)
        {
            for (int i = 0; i < _scratchBusy.Length; i++)
                if (Interlocked.CompareExchange(ref _scratchBusy[i], 1, 0) == 0) return i;
            wait.SpinOnce();
        }
    }

    private void ProcessBlock(PartSums s, Scratch t, int r0, int rows)
    {
        int d = _d, w = _width, n = _n;
        var xb = new ReadOnlySpan<double>(_x + (long)r0 * d, rows * d);
        // Diagonal covariances also need the squares x^2 of the block (one contiguous product).
        Span<double> squares = Type == MixtureCovariance.Diagonal ? t.Z.AsSpan(0, rows * d) : default;
        if (Type == MixtureCovariance.Diagonal) TensorPrimitives.Multiply(xb, xb, squares);

        if (_pass != Pass.Accumulate)
        {
            WeightedLogDensities(t, r0, xb, squares, rows);
            LogSumExpAndResponsibilities(s, t, r0, rows);
        }
        if (_pass == Pass.Score) return;

        // N_k and the first moments R_b X_b (K x rows with leading dimension N, times rows x D).
        ReadOnlySpan<double> rb = _resp.AsSpan(r0);
        for (int c = 0; c < _k; c++) s.Nk[c] += TensorPrimitives.Sum(rb.Slice(c * n, rows));
        Gemm.Compute(false, false, _k, d, rows, 1.0, rb, n, xb, d, 1.0, s.Stats, w);
        if (Type == MixtureCovariance.Diagonal)
        {
            // Second moments per dimension, R_b (X_b o X_b), in columns D.. of the statistics.
            Gemm.Compute(false, false, _k, d, rows, 1.0, rb, n, squares, d, 1.0, s.Stats.AsSpan(d), w);
        }
        else if (Type == MixtureCovariance.Spherical)
        {
            ReadOnlySpan<double> norms = _rowNorms.AsSpan(r0, rows);
            for (int c = 0; c < _k; c++) s.Stats[c * w + d] += TensorPrimitives.Dot(rb.Slice(c * n, rows), norms);
        }
    }

    /// <summary>L[k, i] = log pi_k + log N(x_i | mu_k, Sigma_k) for the block, K x rows with leading dimension eRows.</summary>
    /// <remarks>
    /// The products read X_b as their transposed B operand, which GEMM repacks in every call. Reading a transposed
    /// copy of the whole data set in place instead was slower here (rows of the copy are N apart in memory).
    /// </remarks>
    private void WeightedLogDensities(Scratch s, int r0, ReadOnlySpan<double> xb, ReadOnlySpan<double> squares, int rows)
    {
        int k = _k, d = _d, ld = _eRows, w = _coef;
        Span<double> l = s.L;
        switch (Type)
        {
            case MixtureCovariance.Full:
            case MixtureCovariance.Tied:
            {
                // Y = [C_1 .. C_K]^T X_b^T: row (f, j) is coordinate j of C_f^T x_i for every i, in the two row
                // groups of Prepare (top rows from the first h coordinates only).
                int count = Type == MixtureCovariance.Full ? k : 1, h = _split, low = d - h;
                Span<double> yTop = s.Y.AsSpan(0, count * h * ld), yBottom = s.Y.AsSpan(count * h * ld);
                Gemm.Compute(false, true, count * h, rows, h, 1.0, _a, h, xb, d, 0.0, yTop, ld);
                if (low > 0) Gemm.Compute(false, true, count * low, rows, d, 1.0, _a.AsSpan(count * h * h), d, xb, d, 0.0, yBottom, ld);
                for (int c = 0; c < k; c++)
                {
                    Span<double> lc = l.Slice(c * ld, rows);
                    int f = Type == MixtureCovariance.Full ? c : 0;
                    MixtureMath.SquaredDistances(yTop[(f * h * ld)..], ld, _c.AsSpan(c * d, h), lc, accumulate: false);
                    if (low > 0) MixtureMath.SquaredDistances(yBottom[(f * low * ld)..], ld, _c.AsSpan(c * d + h, low), lc, accumulate: true);
                    TensorPrimitives.Multiply(lc, -0.5, lc);
                    TensorPrimitives.Add(lc, _constK[c], lc);
                }
                break;
            }
            case MixtureCovariance.Diagonal:
                // -1/2 [(-2 mu prec) . x + prec . x^2] + const for all components: two products.
                Gemm.Compute(false, true, k, rows, d, -0.5, _a, w, xb, d, 0.0, l, ld);
                Gemm.Compute(false, true, k, rows, d, -0.5, _a.AsSpan(d), w, squares, d, 1.0, l, ld);
                for (int c = 0; c < k; c++) TensorPrimitives.Add(l.Slice(c * ld, rows), _constK[c], l.Slice(c * ld, rows));
                break;
            default:
            {
                // -1/2 [(-2 mu prec) . x + prec |x|^2] + const: one product and a rank-one term.
                Gemm.Compute(false, true, k, rows, d, -0.5, _a, w, xb, d, 0.0, l, ld);
                ReadOnlySpan<double> norms = _rowNorms.AsSpan(r0, rows);
                for (int c = 0; c < k; c++)
                {
                    Span<double> lc = l.Slice(c * ld, rows);
                    TensorPrimitives.MultiplyAdd(norms, -0.5 * _a[c * w + d], lc, lc);
                    TensorPrimitives.Add(lc, _constK[c], lc);
                }
                break;
            }
        }
    }

    /// <summary>
    /// log p(x_i) = logsumexp_k L[k, i] and r_ik = exp(L[k, i] - max_k L) / sum_k exp(L[k, i] - max_k L), written
    /// into the K x N responsibilities; the block's sum of log p(x_i) goes to the part's total.
    /// </summary>
    private void LogSumExpAndResponsibilities(PartSums s, Scratch t, int r0, int rows)
    {
        int k = _k, ld = _eRows;
        Span<double> l = t.L, max = t.Max.AsSpan(0, rows), sum = t.Sum.AsSpan(0, rows);
        l[..rows].CopyTo(max);
        for (int c = 1; c < k; c++) TensorPrimitives.Max(max, l.Slice(c * ld, rows), max);
        sum.Clear();
        for (int c = 0; c < k; c++)
        {
            Span<double> lc = l.Slice(c * ld, rows);
            TensorPrimitives.Subtract(lc, max, lc);
            // exp underflows below -745 anyway; arguments beyond about -709 make TensorPrimitives.Exp fall back to
            // scalar exp for the whole vector (and glibc takes its slow underflow path), which cost 15% of a full
            // E-step. Clamped, a far component gets r = e^-700 / sum (1e-304) instead of 0: no visible difference.
            TensorPrimitives.Max(lc, MinExponent, lc);
            TensorPrimitives.Exp(lc, lc);
            TensorPrimitives.Add(sum, lc, sum);
        }
        Span<double> logNorm = _logNorm is null ? t.Tmp.AsSpan(0, rows) : _logNorm.AsSpan(r0, rows);
        TensorPrimitives.Log(sum, logNorm);
        TensorPrimitives.Add(logNorm, max, logNorm);
        double blockSum = TensorPrimitives.Sum(logNorm);
        if (!double.IsFinite(blockSum)) HandleNonFinite(t, r0, rows, logNorm);
        s.LogLikelihood += blockSum;
        for (int c = 0; c < k; c++) TensorPrimitives.Divide(l.Slice(c * ld, rows), sum, _resp.AsSpan(c * _n + r0, rows));
    }

    /// <summary>
    /// A row whose log-density is -inf (or NaN) under every component: when fitting, an error naming it; when
    /// scoring, log p(x) = -inf and uniform responsibilities for that row.
    /// </summary>
    private void HandleNonFinite(Scratch s, int r0, int rows, Span<double> logNorm)
    {
        int bad = 0;
        while (bad < rows && double.IsFinite(logNorm[bad])) bad++;
        if (_pass != Pass.Score)
        {
            throw new InvalidOperationException(
                $"Row {r0 + bad} has log p(x) = {s.Max[bad]} under every component: its squared Mahalanobis distances overflow " +
                "double precision. Standardize the data (or reduce its scale), or increase RegCovar.");
        }
        for (int i = 0; i < rows; i++)
        {
            if (double.IsFinite(logNorm[i])) continue;
            logNorm[i] = double.NegativeInfinity;
            s.Sum[i] = 1;
            for (int c = 0; c < _k; c++) s.L[c * _eRows + i] = 1.0 / _k;
        }
    }

    /// <summary>
    /// The lower triangles of Scatter_k += sum_i r_ik (x_i - mu_k) x_i^T for every component, in two products
    /// W^T X_b with W[i, (k, j)] = r_ik (x_ij - mu_kj), and the residuals e_kj = sum_i W[i, (k, j)]. The centred
    /// scatter that scikit-learn forms per component is sum_i r_ik (x_i - mu_k)(x_i - mu_k)^T = Scatter_k - e_k mu_k^T
    /// (the M-step subtracts it): the one-sided form lets all components share one product, and the residual
    /// (zero in exact arithmetic, computed from centred terms) removes the cancellation an uncentred
    /// E[x x^T] - mu mu^T would suffer; what remains is a relative error of order eps |x| / sigma. As in the
    /// E-step, the rows j &lt; h (first in W) need only the columns l &lt; h of the lower triangle, which skips a quarter
    /// of the work. Layout of a part's scatter: K h x h ("top" rows), then K (D - h) x D ("bottom" rows); residuals
    /// in the order of W's columns.
    /// </summary>
    private void ScatterBlock(PartSums s, Scratch t, int r0, int rows)
    {
        int d = _d, k = _k, kd = k * d, h = _split, low = d - h;
        var xb = new ReadOnlySpan<double>(_x + (long)r0 * d, rows * d);
        Span<double> w = t.W.AsSpan(0, rows * kd);
        for (int c = 0; c < k; c++)
        {
            ReadOnlySpan<double> r = _resp.AsSpan(c * _n + r0, rows), mu = _means.AsSpan(c * d, d);
            MixtureMath.ScaledDifferences(xb, d, mu[..h], r, w[(c * h)..], kd, s.Residual.AsSpan(c * h, h));
            if (low > 0) MixtureMath.ScaledDifferences(xb[h..], d, mu[h..], r, w[(k * h + c * low)..], kd, s.Residual.AsSpan(k * h + c * low, low));
        }
        Gemm.Compute(true, false, k * h, h, rows, 1.0, w, kd, xb, d, 1.0, s.Scatter.AsSpan(0, k * h * h), h);
        if (low > 0) Gemm.Compute(true, false, k * low, d, rows, 1.0, w[(k * h)..], kd, xb, d, 1.0, s.Scatter.AsSpan(k * h * h), d);
    }
}
