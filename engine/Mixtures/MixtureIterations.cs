using Engine.Kernels;

namespace Engine.Mixtures;

/// <summary>
/// The outcome of one EM iteration kept on a device: the lower bound of its E-step, and the first covariance its
/// M-step could not factorize (<see cref="FailedIndex"/> -1: none).
/// </summary>
/// <param name="LowerBound">(1/N) sum_i log p(x_i) under the parameters the E-step used.</param>
/// <param name="FailedIndex">Full and tied: the index of the matrix; diagonal: the index of the variance (component D + dimension); spherical: the component; -1 when every covariance was factorized.</param>
/// <param name="Detail">Full and tied: the column at which the Cholesky factorization broke down; the diagonal types: the variance.</param>
public readonly record struct MixtureIterationStatus(double LowerBound, int FailedIndex, double Detail)
{
    /// <summary>Whether every covariance of the M-step was positive definite.</summary>
    public bool Succeeded => FailedIndex < 0;
}

/// <summary>
/// Whole EM iterations of a Gaussian mixture kept on a device: the rows and the parameters stay in its memory, and an
/// iteration (E-step, the statistics, the M-step with scikit-learn's formulas and the precision factors) runs there
/// with one small read at its end. A backend that has them makes them with <see cref="Devices.Backend.MixtureIterations"/>;
/// the CPU runs its iterations from <see cref="MixtureEStep"/> and the model's M-step instead.
/// </summary>
/// <remarks>Parameters in scikit-learn's layout: weights K, means K x D, covariances and precision factors K x D x D,
/// D x D, K x D or K.</remarks>
public abstract class MixtureIterations : IDisposable
{
    /// <summary>The number of host-device copies <see cref="Upload"/> and <see cref="Download"/> each make.</summary>
    public const int ParameterCopies = 4;

    private protected MixtureIterations(MixtureCovariance type, int components, int dimensions, int rows)
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

    /// <summary>Number of rows N.</summary>
    public int Rows { get; }

    /// <summary>Copies the parameters to the device (<see cref="ParameterCopies"/> copies).</summary>
    public abstract void Upload(ReadOnlySpan<double> weights, ReadOnlySpan<double> means, ReadOnlySpan<double> covariances, ReadOnlySpan<double> precisionsCholesky);

    /// <summary>Copies the device's parameters back (<see cref="ParameterCopies"/> copies; waits for the enqueued work).</summary>
    public abstract void Download(Span<double> weights, Span<double> means, Span<double> covariances, Span<double> precisionsCholesky);

    /// <summary>One EM iteration from the parameters on the device, which it replaces.</summary>
    /// <exception cref="InvalidOperationException">A row's log-density is not finite under any component (the message names it).</exception>
    public abstract MixtureIterationStatus Iterate();

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the device memory.</summary>
    protected virtual void Dispose(bool disposing) { }

    private protected void CheckParameters(int weights, int means, int covariances, int precisions)
    {
        int k = Components, d = Dimensions, factors = MixtureStatistics.SecondMomentLength(Type, k, d);
        if (weights != k || means != k * d || covariances != factors || precisions != factors)
        {
            throw new ArgumentException($"Parameters of {k} {Type} components in {d} dimensions are {k} weights, {k * d} means, {factors} covariance " +
                $"values and {factors} precision factors, not {weights}, {means}, {covariances} and {precisions}.");
        }
    }
}
