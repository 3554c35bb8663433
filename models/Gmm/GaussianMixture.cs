using Engine.Devices;
using Engine.Kernels;
using Engine.Kernels.Cpu;
using Engine.Mixtures;

namespace Engine.Models.Gmm;

/// <summary>
/// A Gaussian mixture, the lecture's shallow latent-variable model z ~ Categorical(pi), x | z = k ~ N(mu_k, Sigma_k),
/// fitted by expectation-maximization with scikit-learn's <c>GaussianMixture</c> semantics, in float64.
/// </summary>
/// <remarks>
/// <para>EM is coordinate ascent on the ELBO L(q, theta) = E_q[log p(x, z; theta)] + H(q) (Bishop, PRML 9.4): the
/// E-step sets q(z) = p(z | x; theta), which makes the bound equal the log-likelihood, and the M-step maximizes
/// the bound over theta in closed form (PRML 9.24-9.27, with <see cref="RegCovar"/> added to every covariance
/// diagonal). <see cref="LowerBounds"/> records, for each iteration, the mean log-likelihood of the data under the
/// parameters that iteration's E-step used (scikit-learn's <c>lower_bound_</c>); EM stops when it changes by less
/// than <see cref="Tolerance"/>.</para>
/// <para>Data are row-major spans of <c>rows x columns</c> doubles. Parameter arrays are row-major too: weights K,
/// means K x D, covariances and precisions K x D x D (<see cref="CovarianceType.Full"/>), D x D (tied), K x D
/// (diagonal) or K (spherical).</para>
/// <para>Numerics as scikit-learn: log-densities through the Cholesky factor C of each precision
/// (Sigma^-1 = C C^T), responsibilities through logsumexp, N_k + 10 eps against empty components. A covariance
/// that is not positive definite raises <see cref="CovarianceNotPositiveDefiniteException"/> naming the
/// component; non-finite data raise an <see cref="ArgumentException"/> naming the first bad row. The E-step and
/// the M-step statistics run in blocks of rows with GEMM on all cores (<see cref="CpuThreads.Max"/>), with the
/// same bits for any thread count (the rows are split into chunks by the data size alone, and the chunks' partial
/// statistics are reduced in a fixed order), and the EM iterations allocate nothing.</para>
/// <para>With <see cref="Device"/> set to an ILGPU device, the EM iterations run there as device kernels (see that
/// property for what is copied when, and what stays on the CPU).</para>
/// <para>One difference from scikit-learn: <see cref="Converged"/> describes the initialization that was kept,
/// where scikit-learn reports whether any initialization converged.</para>
/// </remarks>
public sealed class GaussianMixture
{
    private MixtureParameters? _fitted;
    private double[] _lowerBounds = [];

    /// <summary>A mixture of <paramref name="components"/> Gaussians with scikit-learn's default options.</summary>
    public GaussianMixture(int components = 1)
    {
        Components = components;
    }

    // ---- options (scikit-learn's constructor arguments) --------------------------------------------------------

    /// <summary>Number of mixture components K (<c>n_components</c>).</summary>
    public int Components { get; set; }

    /// <summary>Form of the covariances (<c>covariance_type</c>, default full).</summary>
    public CovarianceType CovarianceType { get; set; } = CovarianceType.Full;

    /// <summary>EM stops when the mean log-likelihood changes by less than this between iterations (<c>tol</c>, 1e-3).</summary>
    public double Tolerance { get; set; } = 1e-3;

    /// <summary>Added to every covariance diagonal, keeping them positive definite (<c>reg_covar</c>, 1e-6).</summary>
    public double RegCovar { get; set; } = 1e-6;

    /// <summary>Most EM iterations per initialization (<c>max_iter</c>, 100); 0 only initializes.</summary>
    public int MaxIterations { get; set; } = 100;

    /// <summary>Initializations to run; the one with the largest final lower bound is kept (<c>n_init</c>, 1).</summary>
    public int Initializations { get; set; } = 1;

    /// <summary>How the starting responsibilities are chosen (<c>init_params</c>, default k-means).</summary>
    public MixtureInitialization Initialization { get; set; } = MixtureInitialization.KMeans;

    /// <summary>Explicit starting weights (K values in [0, 1] summing to 1), or null (<c>weights_init</c>).</summary>
    public double[]? WeightsInit { get; set; }

    /// <summary>Explicit starting means (K x D), or null (<c>means_init</c>).</summary>
    public double[]? MeansInit { get; set; }

    /// <summary>
    /// Explicit starting precisions (inverse covariances, shaped as the covariances: symmetric positive definite
    /// matrices or positive numbers), or null (<c>precisions_init</c>).
    /// </summary>
    public double[]? PrecisionsInit { get; set; }

    /// <summary>
    /// When true, a fit after the first starts from the fitted parameters (one initialization, no new start)
    /// (<c>warm_start</c>).
    /// </summary>
    public bool WarmStart { get; set; }

    /// <summary>Seed of the initialization and of <see cref="Sample"/>; null draws a fresh seed each time (<c>random_state</c>).</summary>
    public int? Seed { get; set; }

    /// <summary>
    /// Where the EM iterations run: <see cref="Engine.Devices.Device.Cpu"/> (the default) or an <see cref="IlgpuDevice"/>,
    /// as a PyTorch model is moved with <c>.to(device)</c>.
    /// </summary>
    /// <remarks>
    /// On an ILGPU device, <see cref="Fit"/> uploads the data once; every EM iteration (E-step and M-step, including the
    /// Cholesky factors of the covariances) runs as device kernels with no host copy inside it, and the only read per
    /// iteration is three doubles at its end (the lower bound, which the convergence test needs, and a flag for a
    /// covariance that is not positive definite, which raises the same <see cref="CovarianceNotPositiveDefiniteException"/>
    /// as on the CPU). The parameters go up once per initialization and come back once at its end. The initialization
    /// (k-means and the first M-step) runs on the CPU, and so do <see cref="Predict"/>, <see cref="PredictProba"/>,
    /// <see cref="ScoreSamples"/>, <see cref="Score"/>, <see cref="Bic"/>, <see cref="Aic"/>, <see cref="Sample"/> and the
    /// final E-step of <see cref="FitPredict"/>. The results match the CPU's to rounding (about 1e-12 relative per
    /// iteration), so a fit can take a different number of iterations only when a change of the bound lands within
    /// rounding of <see cref="Tolerance"/>.
    /// </remarks>
    /// <exception cref="ArgumentException">The device is neither the CPU nor an ILGPU device.</exception>
    public Device Device
    {
        get => _device;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            if (value is not (CpuDevice or IlgpuDevice))
                throw new ArgumentException($"A Gaussian mixture runs on the CPU or an ILGPU device, not on '{value.Name}'.", nameof(value));
            _device = value;
        }
    }

    private Device _device = Device.Cpu;

    // ---- fitted state -------------------------------------------------------------------------------------------

    /// <summary>True once <see cref="Fit"/> has succeeded.</summary>
    public bool IsFitted => _fitted != null;

    /// <summary>The data dimension D seen by <see cref="Fit"/>.</summary>
    public int Dimensions => Fitted.D;

    /// <summary>Mixing weights pi (K), a copy.</summary>
    public double[] Weights => (double[])Fitted.Weights.Clone();

    /// <summary>Component means (K x D row-major), a copy.</summary>
    public double[] Means => (double[])Fitted.Means.Clone();

    /// <summary>Covariances, shaped by <see cref="CovarianceType"/> (see the class remarks), a copy.</summary>
    public double[] Covariances => (double[])Fitted.Covariances.Clone();

    /// <summary>Precisions Sigma^-1, shaped as <see cref="Covariances"/>.</summary>
    public double[] Precisions => Fitted.Precisions();

    /// <summary>
    /// Factors C with Sigma^-1 = C C^T, a copy: for full and tied covariances the upper triangular C = L^-T where
    /// Sigma = L L^T (scikit-learn's <c>precisions_cholesky_</c> after an M-step), square roots of the precisions
    /// for the diagonal types.
    /// </summary>
    public double[] PrecisionsCholesky => (double[])Fitted.PrecisionsCholesky.Clone();

    /// <summary>Whether the kept initialization stopped on <see cref="Tolerance"/> rather than on <see cref="MaxIterations"/>.</summary>
    public bool Converged { get; private set; }

    /// <summary>EM iterations run by the kept initialization (<c>n_iter_</c>).</summary>
    public int Iterations { get; private set; }

    /// <summary>The kept initialization's final lower bound: the mean log-likelihood (<c>lower_bound_</c>).</summary>
    public double LowerBound { get; private set; } = double.NegativeInfinity;

    /// <summary>The lower bound after every iteration of the kept initialization (<see cref="Iterations"/> values).</summary>
    public IReadOnlyList<double> LowerBounds => Array.AsReadOnly(_lowerBounds);

    /// <summary>Number of free parameters: K - 1 weights, K D means and the covariance entries of the type.</summary>
    public long ParameterCount => MixtureParameters.ParameterCount(Fitted.Type, Fitted.K, Fitted.D);

    private MixtureParameters Fitted => _fitted ?? throw new InvalidOperationException("This GaussianMixture is not fitted yet: call Fit first.");

    // ---- fitting ------------------------------------------------------------------------------------------------

    /// <summary>Fits the mixture to <paramref name="x"/> (rows x columns, row-major) by EM.</summary>
    /// <exception cref="ArgumentException">Bad shapes, non-finite data (the first bad row is named), fewer rows than components, or invalid explicit starting values.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    /// <exception cref="CovarianceNotPositiveDefiniteException">A covariance lost positive definiteness; increase <see cref="RegCovar"/>.</exception>
    public GaussianMixture Fit(ReadOnlySpan<double> x, int rows, int columns)
    {
        FitCore(x, rows, columns, predict: false);
        return this;
    }

    /// <summary>Fits the mixture, then returns the most probable component of each row (after a final E-step).</summary>
    public int[] FitPredict(ReadOnlySpan<double> x, int rows, int columns) => FitCore(x, rows, columns, predict: true)!;

    private unsafe int[]? FitCore(ReadOnlySpan<double> x, int rows, int columns, bool predict)
    {
        MixtureChecks.Options(this);
        MixtureChecks.Data(x, rows, columns);
        int k = Components, d = columns;
        if (rows < Math.Max(2, k))
            throw new ArgumentException($"Fitting {k} components needs at least {Math.Max(2, k)} rows; x has {rows}.", nameof(x));
        MixtureChecks.ExplicitInit(this, d);
        bool initialize = !(WarmStart && _fitted != null);
        if (!initialize && (_fitted!.K != k || _fitted.D != d || _fitted.Type != CovarianceType))
        {
            throw new InvalidOperationException($"Warm start continues the fitted model ({_fitted.K} {_fitted.Type} components in {_fitted.D} dimensions), " +
                $"but the options and data ask for {k} {CovarianceType} components in {d} dimensions. Turn WarmStart off to refit.");
        }
        int runs = initialize ? Initializations : 1;
        var random = new Random(Seed ?? Random.Shared.Next());

        fixed (double* px = x)
        {
            var layout = (MixtureCovariance)CovarianceType;
            using MixtureEStep em = Device.Cpu.Backend.Mixture(layout, k, d, px, rows);
            var stats = new MixtureStatistics(layout, k, d);
            var mStep = new MixtureMStep(CovarianceType, k, d);
            using MixtureIterations? onDevice = _device.Backend.MixtureIterations(layout, k, d, x, rows, RegCovar);
            MixtureParameters theta = initialize ? new MixtureParameters(CovarianceType, k, d) : _fitted!.Clone();
            MixtureParameters? best = null;
            var bounds = new double[MaxIterations];
            var bestBounds = Array.Empty<double>();
            double bestBound = double.NegativeInfinity;
            int bestIterations = 0;
            bool bestConverged = false;

            for (int run = 0; run < runs; run++)
            {
                if (initialize) Initialize(em, stats, mStep, theta, x, rows, d, random);
                double bound = initialize ? double.NegativeInfinity : LowerBound;
                int iteration = 0;
                bool converged = false;
                if (MaxIterations > 0) onDevice?.Upload(theta.Weights, theta.Means, theta.Covariances, theta.PrecisionsCholesky);
                while (iteration < MaxIterations)
                {
                    double previous = bound;
                    if (onDevice != null)
                    {
                        MixtureIterationStatus status = onDevice.Iterate();
                        if (!status.Succeeded) throw MixtureMStep.NotPositiveDefinite(CovarianceType, d, RegCovar, status.FailedIndex, status.Detail);
                        bound = status.LowerBound;
                    }
                    else
                    {
                        em.Expectation(theta.Weights, theta.Means, theta.PrecisionsCholesky, stats);
                        bound = stats.MeanLogLikelihood;
                        mStep.Maximization(em, stats, theta, RegCovar);
                    }
                    bounds[iteration++] = bound;
                    if (Math.Abs(bound - previous) < Tolerance)
                    {
                        converged = true;
                        break;
                    }
                }
                if (iteration > 0) onDevice?.Download(theta.Weights, theta.Means, theta.Covariances, theta.PrecisionsCholesky);
                // scikit-learn keeps the last run when max_iter == 0 (its bound stays -inf), else the largest bound.
                if (MaxIterations == 0 || best == null || bound > bestBound)
                {
                    if (MaxIterations != 0) bestBound = bound;
                    best ??= new MixtureParameters(CovarianceType, k, d);
                    best.CopyFrom(theta);
                    bestIterations = iteration;
                    bestConverged = converged;
                    bestBounds = bounds.AsSpan(0, iteration).ToArray();
                }
            }

            _fitted = best!;
            Iterations = bestIterations;
            Converged = bestConverged;
            LowerBound = bestBound;
            _lowerBounds = bestBounds;
            if (!predict) return null;
            em.Score(_fitted.Weights, _fitted.Means, _fitted.PrecisionsCholesky);
            return ArgMax(em.Responsibilities, k, rows);
        }
    }

    /// <summary>
    /// Starting parameters: responsibilities by <see cref="Initialization"/>, then one M-step from them (weights
    /// N_k / N), then the explicit starting values on top (scikit-learn's <c>_initialize_parameters</c>).
    /// </summary>
    private void Initialize(MixtureEStep em, MixtureStatistics stats, MixtureMStep mStep, MixtureParameters theta, ReadOnlySpan<double> x, int rows, int d, Random random)
    {
        int k = Components;
        if (WeightsInit == null || MeansInit == null || PrecisionsInit == null)
        {
            Span<double> r = em.Responsibilities;
            r.Clear();
            switch (Initialization)
            {
                case MixtureInitialization.KMeans:
                    int[] labels = KMeans.Fit(x, rows, d, k, random).Labels;
                    for (int i = 0; i < rows; i++) r[labels[i] * rows + i] = 1;
                    break;
                case MixtureInitialization.KMeansPlusPlus:
                    int[] seeds = KMeans.PlusPlusSeeds(x, rows, d, k, random);
                    for (int c = 0; c < k; c++) r[c * rows + seeds[c]] = 1;
                    break;
                case MixtureInitialization.RandomResponsibilities:
                    for (int i = 0; i < rows; i++)
                    {
                        double sum = 0;
                        for (int c = 0; c < k; c++) sum += r[c * rows + i] = random.NextDouble();
                        for (int c = 0; c < k; c++) r[c * rows + i] /= sum;
                    }
                    break;
                case MixtureInitialization.RandomDataPoints:
                    int[] order = Enumerable.Range(0, rows).ToArray();
                    for (int c = 0; c < k; c++)
                    {
                        int j = c + random.Next(rows - c);
                        (order[c], order[j]) = (order[j], order[c]);
                        r[c * rows + order[c]] = 1;
                    }
                    break;
            }
            em.Accumulate(stats);
            mStep.Maximization(em, stats, theta, RegCovar, weightsOverRows: true, computePrecisions: PrecisionsInit == null);
        }
        WeightsInit?.CopyTo(theta.Weights, 0);
        MeansInit?.CopyTo(theta.Means, 0);
        if (PrecisionsInit != null) theta.SetPrecisions(PrecisionsInit);
    }

    // ---- inference ----------------------------------------------------------------------------------------------

    /// <summary>The most probable component of each row, argmax_k p(z = k | x): the clustering.</summary>
    public int[] Predict(ReadOnlySpan<double> x, int rows, int columns)
    {
        var ws = Evaluate(x, rows, columns);
        return ArgMax(ws.Responsibilities, Fitted.K, rows);
    }

    /// <summary>The responsibilities p(z = k | x) of each row (rows x K row-major; each row sums to 1).</summary>
    public double[] PredictProba(ReadOnlySpan<double> x, int rows, int columns)
    {
        var ws = Evaluate(x, rows, columns);
        int k = Fitted.K;
        ReadOnlySpan<double> r = ws.Responsibilities;
        var p = new double[rows * k];
        for (int c = 0; c < k; c++)
            for (int i = 0; i < rows; i++)
                p[i * k + c] = r[c * rows + i];
        return p;
    }

    /// <summary>log p(x) of each row, logsumexp_k (log pi_k + log N(x | mu_k, Sigma_k)).</summary>
    public double[] ScoreSamples(ReadOnlySpan<double> x, int rows, int columns) => Evaluate(x, rows, columns).LogDensities.ToArray();

    /// <summary>The mean log-likelihood of the rows, (1/N) sum_i log p(x_i).</summary>
    public double Score(ReadOnlySpan<double> x, int rows, int columns) => ScoreSamples(x, rows, columns).Average();

    /// <summary>Bayesian information criterion -2 log L + p ln N (lower is better).</summary>
    public double Bic(ReadOnlySpan<double> x, int rows, int columns)
        => -2 * Score(x, rows, columns) * rows + ParameterCount * Math.Log(rows);

    /// <summary>Akaike information criterion -2 log L + 2 p (lower is better).</summary>
    public double Aic(ReadOnlySpan<double> x, int rows, int columns)
        => -2 * Score(x, rows, columns) * rows + 2.0 * ParameterCount;

    private unsafe MixtureEStep Evaluate(ReadOnlySpan<double> x, int rows, int columns)
    {
        MixtureParameters theta = Fitted;
        MixtureChecks.Data(x, rows, columns);
        if (columns != theta.D)
            throw new ArgumentException($"x has {columns} columns, but the mixture was fitted to {theta.D}.", nameof(columns));
        // The CPU E-step reads x only inside Score; what it returns lives in its own arrays.
        fixed (double* px = x)
        {
            MixtureEStep em = Device.Cpu.Backend.Mixture((MixtureCovariance)theta.Type, theta.K, theta.D, px, rows, scoring: true);
            em.Score(theta.Weights, theta.Means, theta.PrecisionsCholesky);
            return em;
        }
    }

    private static int[] ArgMax(ReadOnlySpan<double> resp, int k, int rows)
    {
        var labels = new int[rows];
        var best = resp[..rows].ToArray();
        for (int c = 1; c < k; c++)
        {
            ReadOnlySpan<double> rc = resp.Slice(c * rows, rows);
            for (int i = 0; i < rows; i++)
            {
                if (rc[i] > best[i])
                {
                    best[i] = rc[i];
                    labels[i] = c;
                }
            }
        }
        return labels;
    }

    // ---- generation ---------------------------------------------------------------------------------------------

    /// <summary>
    /// Draws <paramref name="count"/> points from the generative process: z ~ Categorical(pi), then
    /// x ~ N(mu_z, Sigma_z) as mu + L e with Sigma = L L^T and e ~ N(0, I). Points come grouped by component, as
    /// scikit-learn returns them.
    /// </summary>
    /// <param name="seed">Seed of this draw; null uses <see cref="Seed"/> (or a fresh one when that is null too).</param>
    /// <returns>The points (count x D row-major) and the component of each.</returns>
    public (double[] X, int[] Labels) Sample(int count, int? seed = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        MixtureParameters theta = Fitted;
        int k = theta.K, d = theta.D;
        var random = new Random(seed ?? Seed ?? Random.Shared.Next());
        var perComponent = new int[k];
        for (int s = 0; s < count; s++)
        {
            double u = random.NextDouble(), cumulative = 0;
            int c = 0;
            while (c < k - 1 && u >= (cumulative += theta.Weights[c])) c++;
            perComponent[c]++;
        }

        var x = new double[(long)count * d];
        var labels = new int[count];
        var e = new double[d];
        var factor = new double[d * d];
        var gaussian = new StandardNormal(random);
        int row = 0;
        for (int c = 0; c < k; c++)
        {
            ReadOnlySpan<double> mu = theta.Means.AsSpan(c * d, d);
            bool matrix = theta.Type is CovarianceType.Full or CovarianceType.Tied;
            if (matrix)
            {
                int offset = theta.Type == CovarianceType.Full ? c * d * d : 0;
                theta.Covariances.AsSpan(offset, d * d).CopyTo(factor);
                LinearAlgebra.Cholesky(factor, d);
            }
            for (int t = 0; t < perComponent[c]; t++, row++)
            {
                for (int j = 0; j < d; j++) e[j] = gaussian.Next();
                Span<double> xi = x.AsSpan(row * d, d);
                for (int i = 0; i < d; i++)
                {
                    double v;
                    if (matrix)
                    {
                        v = 0;
                        for (int j = 0; j <= i; j++) v += factor[i * d + j] * e[j];
                    }
                    else
                    {
                        double variance = theta.Type == CovarianceType.Diagonal ? theta.Covariances[c * d + i] : theta.Covariances[c];
                        v = Math.Sqrt(variance) * e[i];
                    }
                    xi[i] = mu[i] + v;
                }
                labels[row] = c;
            }
        }
        return (x, labels);
    }

    /// <summary>Box-Muller pairs from a seeded <see cref="Random"/>.</summary>
    private sealed class StandardNormal(Random random)
    {
        private double _spare;
        private bool _hasSpare;

        public double Next()
        {
            if (_hasSpare)
            {
                _hasSpare = false;
                return _spare;
            }
            double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
            double radius = Math.Sqrt(-2.0 * Math.Log(u1)), angle = 2.0 * Math.PI * u2;
            _spare = radius * Math.Sin(angle);
            _hasSpare = true;
            return radius * Math.Cos(angle);
        }
    }
}
