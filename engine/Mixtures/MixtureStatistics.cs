using System.Numerics.Tensors;
using Engine.Kernels;

namespace Engine.Mixtures;

/// <summary>
/// The sufficient statistics of a Gaussian mixture's M-step over a set of rows, for fixed responsibilities r_ik:
/// N_k = sum_i r_ik, the first moments sum_i r_ik x_i, the second moments of the covariance type, the sum of
/// log p(x_i) and the number of rows. Statistics of disjoint chunks of rows add up (<see cref="Add"/>) to the
/// statistics of their union, up to the rounding of the order in which they are added.
/// </summary>
/// <remarks>
/// <para>Layouts, all row-major: <see cref="Nk"/> K; <see cref="FirstMoments"/> K x D; <see cref="SecondMoments"/>
/// K x D (diagonal: sum_i r_ik x_ij^2), K (spherical: sum_i r_ik |x_i|^2), D x D (tied: sum_i x_i x_i^T, which needs
/// no responsibilities since they sum to 1 over k) or K x D x D (full, see below).</para>
/// <para>Full covariances: the second moments are the lower triangles of sum_i r_ik (x_i - mu_k) x_i^T about given
/// means mu_k (the new means of the M-step), and <see cref="Residuals"/> (K x D) holds sum_i r_ik (x_i - mu_k). The
/// centred scatter is then SecondMoments_k - Residuals_k mu_k^T, without the cancellation of E[x x^T] - mu mu^T.
/// They come from a second pass over the rows once the means are known (<see cref="MixtureEStep.Scatter"/>), and
/// add up with <see cref="AddScatter"/>; the upper triangles stay zero.</para>
/// </remarks>
public sealed class MixtureStatistics
{
    /// <summary>Zero statistics of <paramref name="components"/> components in <paramref name="dimensions"/> dimensions.</summary>
    public MixtureStatistics(MixtureCovariance type, int components, int dimensions)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(components, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(dimensions, 1);
        Type = type;
        Components = components;
        Dimensions = dimensions;
        Nk = new double[components];
        FirstMoments = new double[components * dimensions];
        SecondMoments = new double[SecondMomentLength(type, components, dimensions)];
        Residuals = type == MixtureCovariance.Full ? new double[components * dimensions] : [];
    }

    /// <summary>The covariance type whose second moments these are.</summary>
    public MixtureCovariance Type { get; }

    /// <summary>Number of components K.</summary>
    public int Components { get; }

    /// <summary>Number of dimensions D.</summary>
    public int Dimensions { get; }

    /// <summary>Rows the statistics are taken over.</summary>
    public long Rows { get; set; }

    /// <summary>sum_i log p(x_i) under the parameters of the E-step.</summary>
    public double LogLikelihood { get; set; }

    /// <summary>(1/N) sum_i log p(x_i), the lower bound of EM at the E-step's parameters.</summary>
    public double MeanLogLikelihood => LogLikelihood / Rows;

    /// <summary>N_k = sum_i r_ik (K).</summary>
    public double[] Nk { get; }

    /// <summary>sum_i r_ik x_i (K x D).</summary>
    public double[] FirstMoments { get; }

    /// <summary>The second moments of the covariance type (see the remarks for the layout).</summary>
    public double[] SecondMoments { get; }

    /// <summary>Full covariances: sum_i r_ik (x_i - mu_k) (K x D) about the means of the scatter pass; empty otherwise.</summary>
    public double[] Residuals { get; }

    /// <summary>Doubles of <see cref="SecondMoments"/> for a covariance type.</summary>
    public static int SecondMomentLength(MixtureCovariance type, int components, int dimensions) => type switch
    {
        MixtureCovariance.Full => components * dimensions * dimensions,
        MixtureCovariance.Tied => dimensions * dimensions,
        MixtureCovariance.Diagonal => components * dimensions,
        MixtureCovariance.Spherical => components,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown covariance type."),
    };

    /// <summary>
    /// Adds the E-step statistics of <paramref name="other"/> (rows, log-likelihood, N_k, first moments and, except
    /// for full covariances, the second moments), element by element. Reducing chunks in a fixed order gives the
    /// same bits every time.
    /// </summary>
    public void Add(MixtureStatistics other)
    {
        CheckSameShape(other);
        Rows += other.Rows;
        LogLikelihood += other.LogLikelihood;
        TensorPrimitives.Add(Nk, other.Nk, Nk);
        TensorPrimitives.Add(FirstMoments, other.FirstMoments, FirstMoments);
        if (Type != MixtureCovariance.Full) TensorPrimitives.Add(SecondMoments, other.SecondMoments, SecondMoments);
    }

    /// <summary>Adds the full-covariance scatter (second moments and residuals) of <paramref name="other"/>, taken about the same means.</summary>
    public void AddScatter(MixtureStatistics other)
    {
        CheckSameShape(other);
        TensorPrimitives.Add(SecondMoments, other.SecondMoments, SecondMoments);
        TensorPrimitives.Add(Residuals, other.Residuals, Residuals);
    }

    /// <summary>Sets every statistic to zero.</summary>
    public void Clear()
    {
        Rows = 0;
        LogLikelihood = 0;
        Array.Clear(Nk);
        Array.Clear(FirstMoments);
        Array.Clear(SecondMoments);
        Array.Clear(Residuals);
    }

    /// <summary>A copy of every statistic.</summary>
    public MixtureStatistics Clone()
    {
        var copy = new MixtureStatistics(Type, Components, Dimensions) { Rows = Rows, LogLikelihood = LogLikelihood };
        Nk.CopyTo(copy.Nk, 0);
        FirstMoments.CopyTo(copy.FirstMoments, 0);
        SecondMoments.CopyTo(copy.SecondMoments, 0);
        Residuals.CopyTo(copy.Residuals, 0);
        return copy;
    }

    private void CheckSameShape(MixtureStatistics other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.Type != Type || other.Components != Components || other.Dimensions != Dimensions)
        {
            throw new ArgumentException($"Statistics of {other.Components} {other.Type} components in {other.Dimensions} dimensions " +
                $"do not add to statistics of {Components} {Type} components in {Dimensions} dimensions.", nameof(other));
        }
    }
}
