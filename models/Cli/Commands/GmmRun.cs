using System.Globalization;
using System.Text.Json.Nodes;
using Engine.Cli.Output;
using Engine.IO;
using Engine.Models.Data;
using Engine.Models.Decomposition;
using Engine.Models.Gmm;
using Engine.Models.Metrics;

namespace Engine.Cli.Commands;

/// <summary>What `gmm fit` was asked to do.</summary>
internal sealed record GmmFitSettings
{
    public int Components { get; init; } = 10;
    public CovarianceType Covariance { get; init; } = CovarianceType.Full;
    public MixtureInitialization Init { get; init; } = MixtureInitialization.KMeans;
    public int PcaDimensions { get; init; } = 50;
    /// <summary>Where the EM iterations run (--device); PCA, initialization and prediction stay on the CPU.</summary>
    public Engine.Devices.Device Device { get; init; } = Engine.Devices.Device.Cpu;
    public int MaxIterations { get; init; } = 100;
    public double Tolerance { get; init; } = 1e-3;
    public double RegCovar { get; init; } = 1e-6;
    public int Initializations { get; init; } = 1;
    public int Seed { get; init; }
}

/// <summary>
/// The work behind `gmm fit` and `gmm predict` (and the demo): PCA to a few dimensions, EM, metrics, and
/// pictures of the component means and of samples drawn per component, mapped back to image space.
/// </summary>
internal static class GmmRun
{
    private const string ModelFile = "gmm.safetensors";

    public static GaussianMixture Fit(GmmFitSettings s, FashionMnist data, string datasetName, RunDirectory run, Progress progress)
    {
        var train = data.Train;
        int p = Math.Min(s.PcaDimensions, train.Dimension);
        progress.Line($"PCA: {train.Count} images of {train.Dimension} pixels to {p} dimensions");
        var pca = new Pca(p).Fit(train.Pixels, train.Count, train.Dimension);
        var z = pca.Transform(train.Pixels, train.Count, train.Dimension);
        var gmm = new GaussianMixture(s.Components)
        {
            CovarianceType = s.Covariance,
            Initialization = s.Init,
            MaxIterations = s.MaxIterations,
            Tolerance = s.Tolerance,
            RegCovar = s.RegCovar,
            Initializations = s.Initializations,
            Seed = s.Seed,
            Device = s.Device,
        };
        progress.Line($"EM: {s.Components} {s.Covariance.ToString().ToLowerInvariant()} Gaussians, init {s.Init}");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var labels = gmm.FitPredict(z, train.Count, p);
        double seconds = sw.Elapsed.TotalSeconds;
        var iterations = new JsonArray();
        for (int i = 0; i < gmm.LowerBounds.Count; i++)
            iterations.Add(new JsonObject { ["iteration"] = i + 1, ["log_likelihood"] = gmm.LowerBounds[i] });
        var metrics = new JsonObject
        {
            ["command"] = "gmm fit",
            ["dataset"] = datasetName,
            ["seed"] = s.Seed,
            ["options"] = new JsonObject
            {
                ["components"] = s.Components,
                ["covariance_type"] = s.Covariance.ToString().ToLowerInvariant(),
                ["init"] = s.Init.ToString(),
                ["pca_dimensions"] = p,
                ["max_iter"] = s.MaxIterations,
                ["tol"] = s.Tolerance,
                ["reg_covar"] = s.RegCovar,
                ["n_init"] = s.Initializations,
            },
            ["iterations"] = iterations,
            ["converged"] = gmm.Converged,
            ["seconds"] = Math.Round(seconds, 3),
            ["train_log_likelihood"] = gmm.Score(z, train.Count, p),
            ["bic"] = gmm.Bic(z, train.Count, p),
            ["aic"] = gmm.Aic(z, train.Count, p),
        };
        if (train.Labels != null) metrics["adjusted_rand_index"] = Clustering.AdjustedRandIndex(train.Labels, labels);
        var zt = pca.Transform(data.Test.Pixels, data.Test.Count, data.Test.Dimension);
        metrics["test_log_likelihood"] = gmm.Score(zt, data.Test.Count, p);
        if (data.Test.Labels != null) metrics["test_adjusted_rand_index"] = Clustering.AdjustedRandIndex(data.Test.Labels, gmm.Predict(zt, data.Test.Count, p));
        // One fresh generation: the mixture, its metrics and its pictures replace whatever run the folder held.
        using (var g = run.Begin(fresh: true))
        {
            g.WriteMetrics(metrics);
            Save(gmm, pca, g.PathFor(ModelFile));
            WritePictures(gmm, pca, train, g, s.Seed);
            g.Commit();
        }
        progress.Line($"EM {(gmm.Converged ? "converged" : "stopped")} after {gmm.LowerBounds.Count} iterations in {seconds:F1}s: " +
                      $"train log-likelihood {(double)metrics["train_log_likelihood"]!:F2}, BIC {(double)metrics["bic"]!:E4}" +
                      (train.Labels != null ? $", adjusted Rand index {(double)metrics["adjusted_rand_index"]!:F3}" : ""));
        progress.Line($"Wrote gmm.safetensors, gmm_means.png, gmm_samples.png, gmm_log_likelihood.png and metrics.json to {run.Path}");
        return gmm;
    }

    public static void Predict(RunDirectory run, ImageDataSet data, Progress progress)
    {
        run.Verify();
        var (gmm, mean, axes, p) = Load(run.File(ModelFile), data);
        var z = Project(data, mean, axes, p);
        var labels = gmm.Predict(z, data.Count, p);
        var metrics = run.ReadMetrics() ?? new JsonObject();
        var result = new JsonObject { ["images"] = data.Count, ["log_likelihood"] = gmm.Score(z, data.Count, p) };
        if (data.Labels != null) result["adjusted_rand_index"] = Clustering.AdjustedRandIndex(data.Labels, labels);
        metrics["predict"] = result;
        using (var g = run.Begin())
        {
            g.WriteMetrics(metrics);
            File.WriteAllText(g.PathFor("predictions.csv"), "index,component\n" + string.Join("\n", labels.Select((c, i) => $"{i},{c}")) + "\n");
            g.Commit();
        }
        progress.Line($"Predicted {data.Count} images: log-likelihood {(double)result["log_likelihood"]!:F2}" +
                      (data.Labels != null ? $", adjusted Rand index {(double)result["adjusted_rand_index"]!:F3}" : "") + $"; wrote predictions.csv to {run.Path}");
    }

    private static void Save(GaussianMixture gmm, Pca pca, string path)
    {
        int k = gmm.Components, d = gmm.Dimensions;
        var tensors = new Dictionary<string, Tensor>
        {
            ["weights"] = Tensor.FromArray(gmm.Weights, k),
            ["means"] = Tensor.FromArray(gmm.Means, k, d),
            ["precisions"] = Tensor.FromArray(gmm.Precisions),
            ["covariances"] = Tensor.FromArray(gmm.Covariances),
            ["pca_mean"] = Tensor.FromArray(pca.Mean),
            ["pca_axes"] = Tensor.FromArray(pca.Axes, pca.Components, pca.Dimensions),
        };
        SafeTensors.Save(path, tensors, new Dictionary<string, string>
        {
            ["format"] = "engine-gmm",
            ["covariance_type"] = gmm.CovarianceType.ToString(),
            ["components"] = k.ToString(CultureInfo.InvariantCulture),
            ["dimensions"] = d.ToString(CultureInfo.InvariantCulture),
        });
    }

    private static (GaussianMixture, double[] Mean, double[] Axes, int P) Load(string path, ImageDataSet data)
    {
        if (!File.Exists(path)) throw new UserError($"no mixture in {Path.GetDirectoryName(path)} ({ModelFile} is missing); fit one with 'gmm fit --out DIR'.");
        var (t, meta) = SafeTensors.Load(path);
        if (!meta.TryGetValue("format", out var f) || f != "engine-gmm") throw new InvalidDataException($"'{path}' is not an engine GMM file.");
        string[] needed = ["weights", "means", "precisions", "pca_mean", "pca_axes"];
        foreach (var name in needed)
            if (!t.ContainsKey(name)) throw new InvalidDataException($"'{path}' has no tensor '{name}'.");
        var mean = t["pca_mean"].ToDoubleArray();
        var axesT = t["pca_axes"];
        int p = axesT.Shape[0];
        if (mean.Length != data.Dimension || axesT.Shape[1] != data.Dimension)
            throw new InvalidDataException($"'{path}' was fitted on images of {mean.Length} pixels; the data has {data.Dimension}.");
        if (!meta.TryGetValue("components", out var ks) || !int.TryParse(ks, CultureInfo.InvariantCulture, out int k) || k <= 0
            || !meta.TryGetValue("covariance_type", out var ct) || !Enum.TryParse<CovarianceType>(ct, out var covariance))
            throw new InvalidDataException($"'{path}': its metadata does not give the number of components and the covariance type.");
        foreach (var name in needed)
            if (!t[name].AllFinite()) throw new InvalidDataException($"'{path}': tensor {name} holds NaN or infinite values.");
        // Restoring is an explicit initialization with no EM iteration, as scikit-learn's weights/means/precisions_init.
        var gmm = new GaussianMixture(k)
        {
            CovarianceType = covariance,
            WeightsInit = t["weights"].ToDoubleArray(),
            MeansInit = t["means"].ToDoubleArray(),
            PrecisionsInit = t["precisions"].ToDoubleArray(),
            MaxIterations = 0,
            Seed = 0,
        };
        var axes = axesT.ToDoubleArray();
        var z = Project(data, mean, axes, p);
        gmm.Fit(z, data.Count, p);
        return (gmm, mean, axes, p);
    }

    // (x - mean) A^T: the PCA coordinates of every image, through the engine's GEMM.
    private static double[] Project(ImageDataSet data, double[] mean, double[] axes, int p)
    {
        using var _ = Engine.Autograd.GradMode.NoGrad();
        using var scope = TensorScope.Begin();
        var x = Tensor.FromArray(Array.ConvertAll(data.Pixels, v => (double)v), data.Count, data.Dimension);
        var centered = x - Tensor.FromArray(mean, 1, data.Dimension);
        return Tensor.Matmul(centered, Tensor.FromArray(axes, p, data.Dimension).T()).ToDoubleArray();
    }

    private static void WritePictures(GaussianMixture gmm, Pca pca, ImageDataSet train, RunGeneration run, int seed)
    {
        int k = gmm.Components, p = gmm.Dimensions, pixels = train.Dimension;
        var means = pca.InverseTransform(gmm.Means, k);
        Png.WriteGrid(run.PathFor("gmm_means.png"), Enumerable.Range(0, k).Select(c => Clamp(means.AsSpan(c * pixels, pixels))).ToList(), train.Height, train.Width, columns: k, scale: 3);
        // The generative process: pick a component, draw from its Gaussian; shown as rows of eight per component.
        const int PerComponent = 8;
        var (xs, labels) = gmm.Sample(4000 + 200 * k, seed);
        var rows = new List<float[]>();
        var images = pca.InverseTransform(xs, labels.Length);
        for (int c = 0; c < k; c++)
        {
            var idx = Enumerable.Range(0, labels.Length).Where(i => labels[i] == c).Take(PerComponent).ToList();
            for (int j = 0; j < PerComponent; j++)
                rows.Add(j < idx.Count ? Clamp(images.AsSpan(idx[j] * pixels, pixels)) : new float[pixels]);
        }
        Png.WriteGrid(run.PathFor("gmm_samples.png"), rows, train.Height, train.Width, columns: PerComponent, scale: 2);
        var it = Enumerable.Range(1, gmm.LowerBounds.Count).Select(i => (double)i).ToArray();
        Plots.Curves(run.PathFor("gmm_log_likelihood.png"), "EM: mean log-likelihood per iteration", "nats", [("train", it, gmm.LowerBounds.ToArray())], xLabel: "iteration");
    }

    private static float[] Clamp(ReadOnlySpan<double> v)
    {
        var r = new float[v.Length];
        for (int i = 0; i < v.Length; i++) r[i] = (float)Math.Clamp(v[i], 0, 1);
        return r;
    }
}
