using System.Numerics.Tensors;
using Engine.Kernels.Cpu;
using Engine.Mixtures;

namespace Engine.Models.Gmm;

/// <summary>
/// The M-step of EM from the sufficient statistics of the rows (PRML 9.24-9.27, scikit-learn's formulas): weights,
/// means, covariances (+ reg_covar on the diagonal) and the Cholesky factors of the precisions, with every buffer
/// allocated once. The statistics may come from any device and from any number of chunks reduced in order.
/// </summary>
/// <remarks>Tied covariances subtract sum_k N_k mu_k mu_k^T with the CPU GEMM, and the precision factors come from
/// the Cholesky factorization and triangular inverse of Engine.Kernels.Cpu.LinearAlgebra.</remarks>
internal sealed class MixtureMStep
{
    /// <summary>scikit-learn adds 10 machine epsilons to every N_k so an empty component divides by a tiny number, not zero.</summary>
    private const double EmptyGuard = 10 * 2.220446049250313e-16;

    private readonly CovarianceType _type;
    private readonly int _k, _d;
    private readonly double[] _nk, _chol, _inverse, _scaledMeans;
    private double _nkSum;

    public MixtureMStep(CovarianceType type, int components, int dimensions)
    {
        _type = type;
        _k = components;
        _d = dimensions;
        _nk = new double[components];
        _chol = new double[dimensions * dimensions];
        _inverse = new double[dimensions * dimensions];
        _scaledMeans = type == CovarianceType.Tied ? new double[components * dimensions] : [];
    }

    /// <summary>
    /// The M-step from the statistics of the rows of <paramref name="rows"/>: <see cref="Means"/>, then for full
    /// covariances the scatter pass about the new means, then <see cref="Covariances"/>.
    /// </summary>
    /// <exception cref="CovarianceNotPositiveDefiniteException">A covariance has no Cholesky factor.</exception>
    public void Maximization(MixtureEStep rows, MixtureStatistics statistics, MixtureParameters theta, double regCovar,
        bool weightsOverRows = false, bool computePrecisions = true)
    {
        Means(statistics, theta);
        if (_type == CovarianceType.Full) rows.Scatter(theta.Means, statistics);
        Covariances(statistics, theta, regCovar, weightsOverRows, computePrecisions);
    }

    /// <summary>The means mu_k = sum_i r_ik x_i / N_k, with N_k + 10 eps (scikit-learn's guard against empty components).</summary>
    public void Means(MixtureStatistics statistics, MixtureParameters theta)
    {
        int k = _k, d = _d;
        _nkSum = 0;
        for (int c = 0; c < k; c++)
        {
            _nk[c] = statistics.Nk[c] + EmptyGuard;
            _nkSum += _nk[c];
            TensorPrimitives.Divide(statistics.FirstMoments.AsSpan(c * d, d), _nk[c], theta.Means.AsSpan(c * d, d));
        }
    }

    /// <summary>
    /// After <see cref="Means"/> (and, for full covariances, the scatter about those means in the statistics): the
    /// covariances (+ reg on the diagonal), the weights and the precision factors. Weights are N_k / N when
    /// <paramref name="weightsOverRows"/> (scikit-learn's initialization) and N_k / sum N_k otherwise. The precision
    /// factors are skipped when explicit ones will replace them.
    /// </summary>
    /// <exception cref="CovarianceNotPositiveDefiniteException">A covariance has no Cholesky factor.</exception>
    public void Covariances(MixtureStatistics statistics, MixtureParameters theta, double regCovar, bool weightsOverRows = false, bool computePrecisions = true)
    {
        int k = _k, d = _d;
        double nkSum = _nkSum;
        double[] cov = theta.Covariances;
        switch (_type)
        {
            case CovarianceType.Full:
                // The scatter about the new means, centred in its second factor: S[j, l] - e_j mu_l.
                for (int c = 0; c < k; c++)
                {
                    Span<double> sc = cov.AsSpan(c * d * d, d * d);
                    ReadOnlySpan<double> mu = theta.Means.AsSpan(c * d, d);
                    for (int j = 0; j < d; j++)
                    {
                        ReadOnlySpan<double> row = statistics.SecondMoments.AsSpan((c * d + j) * d, j + 1);
                        double e = statistics.Residuals[c * d + j];
                        for (int l = 0; l <= j; l++) sc[j * d + l] = (row[l] - e * mu[l]) / _nk[c];
                    }
                    Symmetrize(sc, d, regCovar);
                }
                break;
            case CovarianceType.Tied:
                // Sigma = (X^T X - sum_k N_k mu_k mu_k^T) / sum_k N_k + reg I.
                for (int c = 0; c < k; c++)
                    TensorPrimitives.Multiply(theta.Means.AsSpan(c * d, d), _nk[c], _scaledMeans.AsSpan(c * d, d));
                statistics.SecondMoments.AsSpan().CopyTo(cov);
                Gemm.Compute(true, false, d, d, k, -1.0, _scaledMeans, d, theta.Means, d, 1.0, cov, d);
                TensorPrimitives.Divide(cov, nkSum, cov);
                Symmetrize(cov, d, regCovar);
                break;
            case CovarianceType.Diagonal:
                // sigma_kj^2 = E_r[x_j^2] - 2 mu_kj E_r[x_j] + mu_kj^2 + reg (scikit-learn's expression).
                for (int c = 0; c < k; c++)
                {
                    for (int j = 0; j < d; j++)
                    {
                        double mu = theta.Means[c * d + j];
                        double avgX2 = statistics.SecondMoments[c * d + j] / _nk[c];
                        cov[c * d + j] = avgX2 - 2 * (mu * mu) + mu * mu + regCovar;
                    }
                }
                break;
            case CovarianceType.Spherical:
                // The mean over j of the diagonal variances: (E_r[|x|^2] - |mu_k|^2) / D + reg.
                for (int c = 0; c < k; c++)
                {
                    ReadOnlySpan<double> mu = theta.Means.AsSpan(c * d, d);
                    double avgX2 = statistics.SecondMoments[c] / _nk[c];
                    double mu2 = TensorPrimitives.Dot(mu, mu);
                    cov[c] = (avgX2 - 2 * mu2 + mu2) / d + regCovar;
                }
                break;
        }
        double norm = weightsOverRows ? statistics.Rows : nkSum;
        for (int c = 0; c < k; c++) theta.Weights[c] = _nk[c] / norm;
        if (computePrecisions) ComputePrecisionCholesky(theta, regCovar);
    }

    /// <summary>
    /// C = (L^-1)^T from the Cholesky factor L of each covariance, so Sigma^-1 = C C^T; or 1 / sigma for the
    /// diagonal types.
    /// </summary>
    public void ComputePrecisionCholesky(MixtureParameters theta, double regCovar)
    {
        int d = _d, dd = d * d;
        double[] cov = theta.Covariances, pc = theta.PrecisionsCholesky;
        switch (_type)
        {
            case CovarianceType.Full:
            case CovarianceType.Tied:
                int count = _type == CovarianceType.Full ? _k : 1;
                for (int c = 0; c < count; c++)
                {
                    cov.AsSpan(c * dd, dd).CopyTo(_chol);
                    int bad = LinearAlgebra.TryCholesky(_chol, d);
                    if (bad >= 0)
                    {
                        throw new CovarianceNotPositiveDefiniteException(_type == CovarianceType.Full ? c : null, _type, regCovar,
                            $"its Cholesky factorization breaks down at dimension {bad} of {d}");
                    }
                    LinearAlgebra.InvertLower(_chol, d, _inverse);
                    Span<double> dst = pc.AsSpan(c * dd, dd);
                    for (int i = 0; i < d; i++)
                        for (int j = 0; j < d; j++)
                            dst[i * d + j] = _inverse[j * d + i];
                }
                break;
            default:
                for (int i = 0; i < cov.Length; i++)
                {
                    double v = cov[i];
                    if (!(v > 0) || double.IsPositiveInfinity(v))
                    {
                        int comp = _type == CovarianceType.Diagonal ? i / d : i;
                        string where = _type == CovarianceType.Diagonal ? $"the variance of dimension {i % d} is {v:G4}" : $"its variance is {v:G4}";
                        throw new CovarianceNotPositiveDefiniteException(comp, _type, regCovar, where);
                    }
                    pc[i] = 1.0 / Math.Sqrt(v);
                }
                break;
        }
    }

    /// <summary>Copies the lower triangle onto the upper (sums of W^T W are symmetric up to rounding) and adds reg.</summary>
    private static void Symmetrize(Span<double> a, int d, double reg)
    {
        for (int i = 0; i < d; i++)
        {
            for (int j = 0; j < i; j++) a[j * d + i] = a[i * d + j];
            a[i * d + i] += reg;
        }
    }

    /// <summary>
    /// The error for a covariance a device's M-step could not factorize: the matrix (full, tied) and the column where
    /// its Cholesky factorization broke down, or the variance (diagonal: index component D + dimension; spherical:
    /// the component) and its value.
    /// </summary>
    public static CovarianceNotPositiveDefiniteException NotPositiveDefinite(CovarianceType type, int d, double regCovar, int index, double detail)
    {
        switch (type)
        {
            case CovarianceType.Full:
            case CovarianceType.Tied:
                return new CovarianceNotPositiveDefiniteException(type == CovarianceType.Full ? index : null, type, regCovar,
                    $"its Cholesky factorization breaks down at dimension {(int)detail} of {d}");
            default:
                int comp = type == CovarianceType.Diagonal ? index / d : index;
                string where = type == CovarianceType.Diagonal ? $"the variance of dimension {index % d} is {detail:G4}" : $"its variance is {detail:G4}";
                return new CovarianceNotPositiveDefiniteException(comp, type, regCovar, where);
        }
    }
}
