using Engine.Kernels.Reference;
using Engine.Models.Gmm;

namespace Engine.Tests.Gmm;

/// <summary>
/// EM for a Gaussian mixture exactly as the textbook writes it (Bishop, PRML 9.2.2), written independently of
/// GaussianMixture: every covariance is held as a full D x D matrix Sigma_k (with the structure of its type),
/// log-densities come from the Cholesky factor of Sigma_k (not of the precision), responsibilities from a
/// per-point logsumexp, and the M-step from the centred scatter matrices S_k = sum_i r_ik (x_i - mu_k)(x_i - mu_k)^T / N_k.
/// No blocks, no GEMM, no threads.
/// </summary>
internal sealed class TextbookEm
{
    private readonly double[] _x;
    private readonly int _n, _d, _k;
    private readonly CovarianceType _type;
    private readonly double _reg;

    /// <summary>Starts from explicit weights, means and precisions (in GaussianMixture's layouts).</summary>
    public TextbookEm(CovarianceType type, double[] x, int n, int d, double regCovar, double[] weights, double[] means, double[] precisions)
    {
        _x = x;
        _n = n;
        _d = d;
        _k = weights.Length;
        _type = type;
        _reg = regCovar;
        Weights = (double[])weights.Clone();
        Means = (double[])means.Clone();
        Sigma = new double[_k][];
        for (int k = 0; k < _k; k++)
        {
            var p = new double[d * d];
            switch (type)
            {
                case CovarianceType.Full: Array.Copy(precisions, k * d * d, p, 0, d * d); break;
                case CovarianceType.Tied: Array.Copy(precisions, 0, p, 0, d * d); break;
                case CovarianceType.Diagonal: for (int j = 0; j < d; j++) p[j * d + j] = precisions[k * d + j]; break;
                default: for (int j = 0; j < d; j++) p[j * d + j] = precisions[k]; break;
            }
            Sigma[k] = Inverse(p, d);
        }
    }

    public double[] Weights { get; }
    public double[] Means { get; }

    /// <summary>Sigma_k as full D x D matrices.</summary>
    public double[][] Sigma { get; }

    /// <summary>Sigma in GaussianMixture's layout for the type.</summary>
    public double[] Covariances => _type switch
    {
        CovarianceType.Full => Sigma.SelectMany(s => s).ToArray(),
        CovarianceType.Tied => (double[])Sigma[0].Clone(),
        CovarianceType.Diagonal => Enumerable.Range(0, _k).SelectMany(k => Enumerable.Range(0, _d).Select(j => Sigma[k][j * _d + j])).ToArray(),
        _ => Enumerable.Range(0, _k).Select(k => Sigma[k][0]).ToArray(),
    };

    /// <summary>log N(x | mu, Sigma) = -1/2 (D log 2 pi + log det Sigma + |L^-1 (x - mu)|^2) with Sigma = L L^T.</summary>
    public static double LogGaussian(ReadOnlySpan<double> x, ReadOnlySpan<double> mu, double[] sigma, int d)
    {
        double[] l = ReferenceLinearAlgebra.Cholesky(sigma, d) ?? throw new InvalidOperationException("Sigma is not positive definite.");
        var diff = new double[d];
        for (int j = 0; j < d; j++) diff[j] = x[j] - mu[j];
        double[] y = ReferenceLinearAlgebra.SolveLower(l, d, diff);
        double maha = y.Sum(v => v * v);
        return -0.5 * (d * Math.Log(2 * Math.PI) + ReferenceLinearAlgebra.LogDeterminantFromCholesky(l, d) + maha);
    }

    /// <summary>log p(x_i) for every row under the current parameters.</summary>
    public double[] LogLikelihoods(out double[,] responsibilities)
    {
        var logp = new double[_n];
        responsibilities = new double[_n, _k];
        var l = new double[_k];
        for (int i = 0; i < _n; i++)
        {
            ReadOnlySpan<double> xi = _x.AsSpan(i * _d, _d);
            for (int k = 0; k < _k; k++) l[k] = Math.Log(Weights[k]) + LogGaussian(xi, Means.AsSpan(k * _d, _d), Sigma[k], _d);
            double max = l.Max();
            double sum = l.Sum(v => Math.Exp(v - max));
            logp[i] = max + Math.Log(sum);
            for (int k = 0; k < _k; k++) responsibilities[i, k] = Math.Exp(l[k] - logp[i]);
        }
        return logp;
    }

    /// <summary>One EM iteration: returns the mean log-likelihood under the parameters before it (the E-step's), then updates them.</summary>
    public double Step()
    {
        double[] logp = LogLikelihoods(out var r);
        double mean = logp.Average();

        var nk = new double[_k];
        var scatter = new double[_k][];
        for (int k = 0; k < _k; k++)
        {
            for (int i = 0; i < _n; i++) nk[k] += r[i, k];
            for (int j = 0; j < _d; j++)
            {
                double s = 0;
                for (int i = 0; i < _n; i++) s += r[i, k] * _x[i * _d + j];
                Means[k * _d + j] = s / nk[k];
            }
            scatter[k] = new double[_d * _d];
            for (int a = 0; a < _d; a++)
            {
                for (int b = 0; b < _d; b++)
                {
                    double s = 0;
                    for (int i = 0; i < _n; i++)
                        s += r[i, k] * (_x[i * _d + a] - Means[k * _d + a]) * (_x[i * _d + b] - Means[k * _d + b]);
                    scatter[k][a * _d + b] = s / nk[k];
                }
            }
            Weights[k] = nk[k] / _n;
        }

        for (int k = 0; k < _k; k++)
        {
            var sigma = new double[_d * _d];
            switch (_type)
            {
                case CovarianceType.Full:
                    Array.Copy(scatter[k], sigma, sigma.Length);
                    break;
                case CovarianceType.Tied:
                    // (1/N) sum_k N_k S_k: the scatter of every point about its own component's mean.
                    for (int c = 0; c < _k; c++)
                        for (int e = 0; e < sigma.Length; e++)
                            sigma[e] += nk[c] * scatter[c][e] / _n;
                    break;
                case CovarianceType.Diagonal:
                    for (int j = 0; j < _d; j++) sigma[j * _d + j] = scatter[k][j * _d + j];
                    break;
                default:
                    double v = Enumerable.Range(0, _d).Average(j => scatter[k][j * _d + j]);
                    for (int j = 0; j < _d; j++) sigma[j * _d + j] = v;
                    break;
            }
            for (int j = 0; j < _d; j++) sigma[j * _d + j] += _reg;
            Sigma[k] = sigma;
        }
        return mean;
    }

    private static double[] Inverse(double[] p, int d)
    {
        double[] l = ReferenceLinearAlgebra.Cholesky(p, d)!;
        double[] li = ReferenceLinearAlgebra.InvertLower(l, d);
        var inv = new double[d * d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
                for (int m = 0; m < d; m++)
                    inv[i * d + j] += li[m * d + i] * li[m * d + j];
        return inv;
    }
}
