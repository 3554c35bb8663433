using Engine.Models.Data;
using Engine.Models.Decomposition;
using Engine.Models.Gmm;

namespace Engine.Benchmarks.Gmm;

/// <summary>
/// The benchmark's data: Fashion-MNIST's 60,000 training images reduced to 50 dimensions by the engine's
/// <see cref="Pca"/>, or, where the data set is not installed, 60,000 points of the same shape drawn from a
/// 10-component mixture. Cached as raw little-endian float64 in the temp folder (the PCA takes a few seconds),
/// which is also the file the scikit-learn peer reads.
/// </summary>
public static class GmmBenchmarkData
{
    public const int Dimensions = 50;

    /// <summary>The data, its row count, a description, and the path of the raw float64 file.</summary>
    public static (double[] X, int Rows, string Source, string Path) Load()
    {
        string? dir = FashionMnist.Locate();
        string name = dir != null ? "fashion-mnist-train-pca50" : "synthetic-mixture-60000x50";
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"engine-gmm-bench-{name}.f64");
        string source = dir != null
            ? $"Fashion-MNIST training images ({dir}), 784 pixels reduced to {Dimensions} by Pca"
            : $"synthetic: 60000 points of a 10-component Gaussian mixture in {Dimensions} dimensions (Fashion-MNIST not installed)";
        if (File.Exists(path))
        {
            byte[] bytes = File.ReadAllBytes(path);
            var cached = new double[bytes.Length / sizeof(double)];
            Buffer.BlockCopy(bytes, 0, cached, 0, bytes.Length);
            return (cached, cached.Length / Dimensions, source, path);
        }

        double[] x;
        if (dir != null)
        {
            ImageDataSet train = FashionMnist.Load(dir).Train;
            x = new Pca(Dimensions).FitTransform(train.Pixels, train.Count, train.Dimension);
        }
        else
        {
            x = Synthetic(60_000);
        }
        var raw = new byte[x.Length * sizeof(double)];
        Buffer.BlockCopy(x, 0, raw, 0, raw.Length);
        string temp = path + "." + Environment.ProcessId + ".tmp";
        File.WriteAllBytes(temp, raw);
        File.Move(temp, path, overwrite: true);
        return (x, x.Length / Dimensions, source, path);
    }

    /// <summary>A 10-component full-covariance mixture with random means and shapes, drawn by the model itself.</summary>
    private static double[] Synthetic(int rows)
    {
        const int k = 10, d = Dimensions;
        var random = new Random(12345);
        var means = new double[k * d];
        for (int i = 0; i < means.Length; i++) means[i] = 4 * (random.NextDouble() - 0.5);
        var precisions = new double[k * d * d];
        for (int c = 0; c < k; c++)
        {
            // A = B B^T / d + I: well conditioned, with correlations.
            var b = new double[d * d];
            for (int i = 0; i < b.Length; i++) b[i] = random.NextDouble() - 0.5;
            for (int i = 0; i < d; i++)
                for (int j = 0; j < d; j++)
                {
                    double s = i == j ? 1 : 0;
                    for (int m = 0; m < d; m++) s += b[i * d + m] * b[j * d + m] / d;
                    precisions[c * d * d + i * d + j] = s;
                }
        }
        var truth = new GaussianMixture(k)
        {
            MaxIterations = 0,
            WeightsInit = Enumerable.Repeat(1.0 / k, k).ToArray(),
            MeansInit = means,
            PrecisionsInit = precisions,
        }.Fit(means, k, d);
        return truth.Sample(rows, seed: 1).X;
    }
}
