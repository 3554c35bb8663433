using Engine.Kernels;

namespace Engine.Mixtures;

/// <summary>
/// The E-step of a Gaussian mixture over a fixed chunk of rows on a device, and the sufficient statistics of the
/// M-step it yields (<see cref="MixtureStatistics"/>). A backend makes one with <see cref="Devices.Backend.Mixture"/>;
/// the M-step formulas live with the model, which reduces the statistics of its chunks and updates the parameters.
/// </summary>
/// <remarks>
/// <para>Parameters are passed in scikit-learn's layout: weights K, means K x D, and the Cholesky factors C of the
/// precisions (Sigma^-1 = C C^T): K x D x D (full), D x D (tied), K x D (diagonal) or K (spherical).</para>
/// <para>One EM iteration over the rows: <see cref="Expectation"/> (responsibilities, N_k, first moments, the
/// second moments of the diagonal, spherical and tied types, the log-likelihood); for full covariances, once the new
/// means are known, <see cref="Scatter"/> (the scatter about them, from the same responsibilities).</para>
/// </remarks>
public abstract class MixtureEStep : IDisposable
{
    private protected MixtureEStep(MixtureCovariance type, int components, int dimensions, int rows)
    {
        Type = type;
        Components = components;
        Dimensions = dimensions;
        Rows = rows;
    }

    /// <summary>The covariance type.</summary>
    public MixtureCovariance Type { get; }

    /// <summary>Number of components K.</summary>
    public int Components { get; }

    /// <summary>Number of dimensions D.</summary>
    public int Dimensions { get; }

    /// <summary>Number of rows N of the chunk.</summary>
    public int Rows { get; }

    /// <summary>
    /// The E-step for the given parameters: the responsibilities of every row, and the statistics of the rows (all
    /// but the full scatter) written into <paramref name="statistics"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">A row's log-density is not finite under any component (the message names it).</exception>
    public abstract void Expectation(ReadOnlySpan<double> weights, ReadOnlySpan<double> means, ReadOnlySpan<double> precisionsCholesky, MixtureStatistics statistics);

    /// <summary>
    /// Full covariances: the scatter of the rows about <paramref name="means"/> (the second moments and residuals of
    /// <paramref name="statistics"/>), from the responsibilities of the last <see cref="Expectation"/> or <see cref="Accumulate"/>.
    /// </summary>
    public abstract void Scatter(ReadOnlySpan<double> means, MixtureStatistics statistics);

    /// <summary>The statistics of the responsibilities in <see cref="Responsibilities"/> as they are (an initialization sets them).</summary>
    public abstract void Accumulate(MixtureStatistics statistics);

    /// <summary>The E-step only: responsibilities and log p(x_i) of every row, for prediction and scoring.</summary>
    public abstract void Score(ReadOnlySpan<double> weights, ReadOnlySpan<double> means, ReadOnlySpan<double> precisionsCholesky);

    /// <summary>Responsibilities, K x N component-major (row k holds r_ik for every row i); writable for initializations.</summary>
    public abstract Span<double> Responsibilities { get; }

    /// <summary>log p(x_i) of every row after <see cref="Score"/> (an E-step made for scoring), else empty.</summary>
    public abstract ReadOnlySpan<double> LogDensities { get; }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees what the E-step holds on its device.</summary>
    protected virtual void Dispose(bool disposing) { }

    private protected void CheckParameters(ReadOnlySpan<double> weights, ReadOnlySpan<double> means, ReadOnlySpan<double> precisionsCholesky)
    {
        int k = Components, d = Dimensions;
        int factors = MixtureStatistics.SecondMomentLength(Type, k, d);
        if (weights.Length != k || means.Length != k * d || precisionsCholesky.Length != factors)
        {
            throw new ArgumentException($"Parameters of {k} {Type} components in {d} dimensions are {k} weights, {k * d} means and {factors} " +
                $"precision factors, not {weights.Length}, {means.Length} and {precisionsCholesky.Length}.");
        }
    }

    private protected void CheckStatistics(MixtureStatistics statistics)
    {
        ArgumentNullException.ThrowIfNull(statistics);
        if (statistics.Type != Type || statistics.Components != Components || statistics.Dimensions != Dimensions)
        {
            throw new ArgumentException($"Statistics of {statistics.Components} {statistics.Type} components in {statistics.Dimensions} dimensions " +
                $"do not fit an E-step of {Components} {Type} components in {Dimensions} dimensions.", nameof(statistics));
        }
    }

    private protected void CheckScatter(ReadOnlySpan<double> means, MixtureStatistics statistics)
    {
        if (Type != MixtureCovariance.Full) throw new InvalidOperationException($"Only full covariances take a scatter pass, not {Type}.");
        CheckStatistics(statistics);
        if (means.Length != Components * Dimensions)
            throw new ArgumentException($"The scatter needs {Components * Dimensions} means, not {means.Length}.", nameof(means));
    }
}
