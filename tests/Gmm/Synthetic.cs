using Engine.Kernels.Reference;
using Engine.Models.Gmm;

namespace Engine.Tests.Gmm;

/// <summary>Test data: mixtures drawn independently of GaussianMixture.Sample, and the explicit starting values of the agreement tests.</summary>
internal static class Synthetic
{
    /// <summary>
    /// n points from sum_k w_k N(mu_k, Sigma_k) (full Sigma_k, K x D x D), drawn as mu + L e with the reference
    /// Cholesky factor and Box-Muller normals; the component of each point is returned too.
    /// </summary>
    public static (double[] X, int[] Labels) Draw(double[] weights, double[] means, double[] covariances, int d, int n, int seed)
    {
        int k = weights.Length;
        var random = new Random(seed);
        var factors = Enumerable.Range(0, k).Select(c => ReferenceLinearAlgebra.Cholesky(covariances.AsSpan(c * d * d, d * d), d)!).ToArray();
        var x = new double[n * d];
        var labels = new int[n];
        var e = new double[d];
        for (int i = 0; i < n; i++)
        {
            double u = random.NextDouble(), cumulative = 0;
            int c = 0;
            while (c < k - 1 && u >= (cumulative += weights[c])) c++;
            labels[i] = c;
            for (int j = 0; j < d; j++) e[j] = Normal(random);
            for (int a = 0; a < d; a++)
            {
                double v = means[c * d + a];
                for (int b = 0; b <= a; b++) v += factors[c][a * d + b] * e[b];
                x[i * d + a] = v;
            }
        }
        return (x, labels);
    }

    public static double Normal(Random random)
    {
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    // ---- the agreement data set: three overlapping 3-D components, so EM takes many small steps -------------------

    public const int AgreementRows = 400, AgreementDims = 3, AgreementComponents = 3;

    public static double[] AgreementData()
    {
        double[] weights = [0.3, 0.45, 0.25];
        double[] means = [0, 0, 0, 2.5, 1, -1, -1, 3, 2];
        double[] covariances =
        [
            1.0, 0.3, 0.1, 0.3, 0.8, -0.2, 0.1, -0.2, 1.5,
            0.5, 0.0, 0.1, 0.0, 1.2, 0.4, 0.1, 0.4, 0.9,
            2.0, -0.5, 0.0, -0.5, 0.7, 0.1, 0.0, 0.1, 0.6,
        ];
        // Shifted away from the origin so the expanded (diagonal) and centred (full) forms are both exercised.
        double[] x = Draw(weights, means, covariances, AgreementDims, AgreementRows, seed: 11).X;
        for (int i = 0; i < x.Length; i++) x[i] += 5.0;
        return x;
    }

    /// <summary>The explicit start of the agreement tests: weights, means and precisions in the type's layout.</summary>
    public static (double[] Weights, double[] Means, double[] Precisions) AgreementStart(CovarianceType type)
    {
        int d = AgreementDims;
        double[] weights = [0.2, 0.3, 0.5];
        double[] means = [4.5, 5.5, 5, 6, 5, 4.5, 4, 7, 6.5];
        double[] full =
        [
            1.0, 0.2, 0.0, 0.2, 1.5, 0.1, 0.0, 0.1, 0.8,
            0.6, 0.0, 0.0, 0.0, 0.6, 0.0, 0.0, 0.0, 0.6,
            2.0, -0.3, 0.2, -0.3, 1.0, 0.0, 0.2, 0.0, 1.2,
        ];
        double[] precisions = type switch
        {
            CovarianceType.Full => full,
            CovarianceType.Tied => full[..(d * d)],
            CovarianceType.Diagonal => [1.0, 1.5, 0.8, 0.6, 0.6, 0.6, 2.0, 1.0, 1.2],
            _ => [1.0, 0.6, 1.5],
        };
        return (weights, means, precisions);
    }
}
