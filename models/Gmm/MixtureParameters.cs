using Engine.Kernels.Cpu;

namespace Engine.Models.Gmm;

/// <summary>
/// theta = (pi, mu, Sigma) of a Gaussian mixture, with the Cholesky factors C of the precisions
/// (Sigma^-1 = C C^T) that the E-step uses. Shapes, all row-major: weights K, means K x D, covariances and
/// precision factors K x D x D (full), D x D (tied), K x D (diagonal) or K (spherical).
/// </summary>
internal sealed class MixtureParameters
{
    public MixtureParameters(CovarianceType type, int components, int dimensions)
    {
        Type = type;
        K = components;
        D = dimensions;
        Weights = new double[K];
        Means = new double[K * D];
        Covariances = new double[CovarianceLength(type, K, D)];
        PrecisionsCholesky = new double[Covariances.Length];
    }

    public CovarianceType Type { get; }
    public int K { get; }
    public int D { get; }
    public double[] Weights { get; }
    public double[] Means { get; }
    public double[] Covariances { get; }
    public double[] PrecisionsCholesky { get; }

    /// <summary>Number of doubles in a covariance (or precision) array of this type.</summary>
    public static int CovarianceLength(CovarianceType type, int k, int d) => type switch
    {
        CovarianceType.Full => k * d * d,
        CovarianceType.Tied => d * d,
        CovarianceType.Diagonal => k * d,
        CovarianceType.Spherical => k,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown covariance type."),
    };

    /// <summary>The shape of a covariance array of this type, for messages ("10 x 50 x 50").</summary>
    public static string CovarianceShape(CovarianceType type, int k, int d) => type switch
    {
        CovarianceType.Full => $"{k} x {d} x {d}",
        CovarianceType.Tied => $"{d} x {d}",
        CovarianceType.Diagonal => $"{k} x {d}",
        _ => $"{k}",
    };

    public MixtureParameters Clone()
    {
        var copy = new MixtureParameters(Type, K, D);
        copy.CopyFrom(this);
        return copy;
    }

    public void CopyFrom(MixtureParameters other)
    {
        other.Weights.CopyTo(Weights, 0);
        other.Means.CopyTo(Means, 0);
        other.Covariances.CopyTo(Covariances, 0);
        other.PrecisionsCholesky.CopyTo(PrecisionsCholesky, 0);
    }

    /// <summary>The precisions Sigma^-1 = C C^T (shape of the covariances).</summary>
    public double[] Precisions()
    {
        var p = new double[PrecisionsCholesky.Length];
        switch (Type)
        {
            case CovarianceType.Full:
            case CovarianceType.Tied:
                int count = Type == CovarianceType.Full ? K : 1, dd = D * D;
                for (int k = 0; k < count; k++)
                {
                    ReadOnlySpan<double> c = PrecisionsCholesky.AsSpan(k * dd, dd);
                    Gemm.Compute(false, true, D, D, D, 1.0, c, D, c, D, 0.0, p.AsSpan(k * dd, dd), D);
                }
                break;
            default:
                for (int i = 0; i < p.Length; i++) p[i] = PrecisionsCholesky[i] * PrecisionsCholesky[i];
                break;
        }
        return p;
    }

    /// <summary>
    /// Sets the covariances and precision factors from explicit precisions (validated by the caller): Sigma = P^-1
    /// and, for full and tied, the same upper triangular factor C = L^-T (Sigma = L L^T) an M-step produces, so the
    /// E-step can rely on C being upper triangular (scikit-learn keeps the lower Cholesky factor of P here; both
    /// satisfy P = C C^T and give the same log-densities). For the diagonal types C = sqrt(P).
    /// </summary>
    public void SetPrecisions(ReadOnlySpan<double> precisions)
    {
        switch (Type)
        {
            case CovarianceType.Full:
            case CovarianceType.Tied:
                int count = Type == CovarianceType.Full ? K : 1, dd = D * D;
                var factor = new double[dd];
                var inverse = new double[dd];
                for (int k = 0; k < count; k++)
                {
                    Span<double> cov = Covariances.AsSpan(k * dd, dd);
                    precisions.Slice(k * dd, dd).CopyTo(factor);
                    LinearAlgebra.Cholesky(factor, D);
                    // Sigma = (L_P L_P^T)^-1 = L_P^-T L_P^-1.
                    LinearAlgebra.InvertLower(factor, D, inverse);
                    Gemm.Compute(true, false, D, D, D, 1.0, inverse, D, inverse, D, 0.0, cov, D);
                    // C = L^-T with Sigma = L L^T.
                    cov.CopyTo(factor);
                    LinearAlgebra.Cholesky(factor, D);
                    LinearAlgebra.InvertLower(factor, D, inverse);
                    Span<double> c = PrecisionsCholesky.AsSpan(k * dd, dd);
                    for (int i = 0; i < D; i++)
                        for (int j = 0; j < D; j++)
                            c[i * D + j] = inverse[j * D + i];
                }
                break;
            default:
                for (int i = 0; i < PrecisionsCholesky.Length; i++)
                {
                    PrecisionsCholesky[i] = Math.Sqrt(precisions[i]);
                    Covariances[i] = 1.0 / precisions[i];
                }
                break;
        }
    }

    /// <summary>Free parameters: K - 1 weights, K D means, and the covariance entries of the type.</summary>
    public static long ParameterCount(CovarianceType type, int k, int d)
    {
        long cov = type switch
        {
            CovarianceType.Full => (long)k * d * (d + 1) / 2,
            CovarianceType.Tied => (long)d * (d + 1) / 2,
            CovarianceType.Diagonal => (long)k * d,
            _ => k,
        };
        return cov + (long)k * d + k - 1;
    }
}
