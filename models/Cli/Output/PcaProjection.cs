namespace Engine.Cli.Output;

/// <summary>Projection of points onto their first two principal components (power iteration with deflation).</summary>
internal static class PcaProjection
{
    public static double[] TopTwo(double[] x, int n, int d)
    {
        var mean = new double[d];
        for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) mean[j] += x[i * d + j] / n;
        var cov = new double[d * d];
        for (int i = 0; i < n; i++)
            for (int a = 0; a < d; a++)
            {
                double xa = x[i * d + a] - mean[a];
                for (int b = 0; b < d; b++) cov[a * d + b] += xa * (x[i * d + b] - mean[b]) / n;
            }
        var v1 = Leading(cov, d, null);
        var v2 = Leading(cov, d, v1);
        var proj = new double[2 * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++)
            {
                double c = x[i * d + j] - mean[j];
                proj[2 * i] += c * v1[j];
                proj[2 * i + 1] += c * v2[j];
            }
        return proj;
    }

    private static double[] Leading(double[] cov, int d, double[]? orth)
    {
        var v = Enumerable.Range(0, d).Select(i => 1.0 + 0.01 * i).ToArray();
        for (int it = 0; it < 500; it++)
        {
            if (orth != null)
            {
                double dot = 0;
                for (int j = 0; j < d; j++) dot += v[j] * orth[j];
                for (int j = 0; j < d; j++) v[j] -= dot * orth[j];
            }
            var w = new double[d];
            for (int a = 0; a < d; a++) for (int b = 0; b < d; b++) w[a] += cov[a * d + b] * v[b];
            double norm = Math.Sqrt(w.Sum(t => t * t));
            if (norm == 0) break;
            for (int j = 0; j < d; j++) v[j] = w[j] / norm;
        }
        return v;
    }
}
