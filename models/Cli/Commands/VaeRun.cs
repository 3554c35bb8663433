using System.Globalization;
using System.Text.Json.Nodes;
using Engine.Autograd;
using Engine.Cli.Output;
using Engine.Models.Data;
using Engine.Models.Vae;

namespace Engine.Cli.Commands;

/// <summary>What `vae train` was asked to do.</summary>
internal sealed record VaeTrainSettings
{
    public required VaeOptions Options { get; init; }
    public required TrainingOptions Training { get; init; }
    public bool Resume { get; init; }
    public int EvalK { get; init; }
    public int? EvalLimit { get; init; }
}

/// <summary>The work behind the `vae` commands (and the demo): training with checkpoints, evaluation, pictures.</summary>
internal static class VaeRun
{
    private const string ModelFile = "model.safetensors";
    private const string OptimizerFile = "optimizer.safetensors";

    public static VariationalAutoencoder Train(VaeTrainSettings s, FashionMnist data, string datasetName, RunDirectory run, Progress progress)
    {
        var options = s.Options with { InputSize = data.Train.Dimension };
        var training = s.Training;
        VariationalAutoencoder model;
        VaeTrainer trainer;
        JsonObject metrics;
        int start = 0;
        if (s.Resume)
        {
            (model, trainer, metrics, start) = ResumeFrom(run, training.Epochs, data.Train, options.Device);
            progress.Line($"Resuming {run.Path} after epoch {start}");
        }
        else
        {
            model = new VariationalAutoencoder(options, new Generator(training.Seed));
            trainer = new VaeTrainer(model, training);
            metrics = new JsonObject
            {
                ["command"] = "vae train",
                ["dataset"] = datasetName,
                ["seed"] = training.Seed,
                ["device"] = model.Device.Name,
                ["options"] = SettingsJson(options, training),
                ["train_size"] = data.Train.Count,
                ["test_size"] = data.Test.Count,
                ["epochs"] = new JsonArray(),
            };
        }
        progress.Line($"VAE {options.InputSize}-[{string.Join(",", model.Options.Hidden)}]-{model.LatentSize} ({model.Options.Decoder.ToString().ToLowerInvariant()} decoder, {model.ParameterCount:N0} parameters), " +
                      $"{trainer.Options.Objective.Objective} k={trainer.Options.Objective.Samples} {trainer.Options.Objective.Estimator}, {data.Train.Count} training images");
        var epochsJson = (JsonArray)metrics["epochs"]!;
        for (int epoch = start; epoch < trainer.Options.Epochs; epoch++)
        {
            var bar = progress.Task($"epoch {epoch + 1}/{trainer.Options.Epochs}");
            var r = trainer.TrainEpoch(data.Train, data.Test, epoch, bar);
            epochsJson.Add(new JsonObject
            {
                ["epoch"] = epoch + 1,
                ["train_elbo"] = r.TrainObjective,
                ["test_elbo"] = r.TestElbo,
                ["seconds"] = Math.Round(r.Seconds, 3),
                ["samples_per_second"] = Math.Round(r.SamplesPerSecond, 1),
            });
            // Optimizer first, then weights, then metrics: ResumeFrom checks they agree, so a crash between
            // writes is detected instead of silently resuming from mismatched state.
            trainer.Optimizer.SaveState(run.File(OptimizerFile));
            VaeCheckpoint.Save(model, run.File(ModelFile), new Dictionary<string, string>
            {
                ["epoch"] = (epoch + 1).ToString(CultureInfo.InvariantCulture),
                ["binarization"] = trainer.Options.Binarization.ToString().ToLowerInvariant(),
            });
            run.WriteMetrics(metrics);
            progress.Line($"epoch {epoch + 1}: train {Objective(trainer)} {r.TrainObjective:F2} nats, test ELBO {r.TestElbo:F2} nats, {r.SamplesPerSecond:F0} images/s");
        }
        WritePictures(model, trainer, data, datasetName, metrics, run, progress);
        if (s.EvalK > 0) Evaluate(model, trainer, s.EvalLimit is { } n ? data.Test.Take(n) : data.Test, s.EvalK, 0, run, progress, metrics, elboData: data.Test);
        return model;
    }

    private static string Objective(VaeTrainer t) => t.Options.Objective.Objective switch
    {
        Models.Vae.Objective.ImportanceWeighted => $"L_{t.Options.Objective.Samples}",
        _ => "ELBO",
    };

    private static (VariationalAutoencoder, VaeTrainer, JsonObject, int) ResumeFrom(RunDirectory run, int epochs, ImageDataSet train, Engine.Devices.Device? device)
    {
        var metrics = run.ReadMetrics() ?? throw new UserError($"--resume: '{run.MetricsPath}' does not exist; there is no run to resume in {run.Path}.");
        var (model, meta) = LoadModel(run, device);
        int done = int.Parse(meta.TryGetValue("epoch", out var e) ? e : "0", CultureInfo.InvariantCulture);
        var o = metrics["options"]!.AsObject();
        var training = new TrainingOptions
        {
            Epochs = epochs,
            BatchSize = (int)o["batch_size"]!,
            LearningRate = (double)o["lr"]!,
            Binarization = Enum.Parse<Binarization>((string)o["binarization"]!, true),
            Seed = (ulong)metrics["seed"]!,
            Objective = new ObjectiveOptions(Enum.Parse<Models.Vae.Objective>((string)o["objective"]!, true), (int)o["k"]!, Enum.Parse<GradientEstimator>((string)o["estimator"]!, true)),
        };
        var trainer = new VaeTrainer(model, training);
        trainer.Optimizer.LoadState(run.File(OptimizerFile));
        int batches = (train.Count + training.BatchSize - 1) / training.BatchSize;
        if (trainer.Optimizer.StepCount != done * batches)
            throw new UserError($"--resume: the checkpoint in {run.Path} is inconsistent (weights after epoch {done}, optimizer after {trainer.Optimizer.StepCount} steps, expected {done * batches}); was the data set or batch size changed?");
        var list = metrics["epochs"]!.AsArray();
        while (list.Count > done) list.RemoveAt(list.Count - 1);
        return (model, trainer, metrics, done);
    }

    private static JsonObject SettingsJson(VaeOptions o, TrainingOptions t) => new()
    {
        ["input_size"] = o.InputSize,
        ["hidden"] = new JsonArray(o.Hidden.Select(h => (JsonNode)h).ToArray()),
        ["latent_size"] = o.LatentSize,
        ["activation"] = o.Activation.ToString().ToLowerInvariant(),
        ["decoder"] = o.Decoder.ToString().ToLowerInvariant(),
        ["batch_size"] = t.BatchSize,
        ["lr"] = t.LearningRate,
        ["binarization"] = t.Binarization.ToString().ToLowerInvariant(),
        ["objective"] = t.Objective.Objective.ToString(),
        ["k"] = t.Objective.Samples,
        ["estimator"] = t.Objective.Estimator.ToString(),
    };

    public static (VariationalAutoencoder, IReadOnlyDictionary<string, string>) LoadModel(RunDirectory run, Engine.Devices.Device? device = null)
    {
        var path = run.File(ModelFile);
        if (!File.Exists(path)) throw new UserError($"no model in {run.Path} ({ModelFile} is missing); train one with 'vae train --out {run.Path}'.");
        return VaeCheckpoint.Load(path, device);
    }

    public static Binarization BinarizationOf(IReadOnlyDictionary<string, string> meta) =>
        meta.TryGetValue("binarization", out var b) ? Enum.Parse<Binarization>(b, true) : Binarization.Dynamic;

    /// <summary>Test ELBO and log p(x) by importance sampling with k samples (and naive Monte Carlo when asked).</summary>
    public static void Evaluate(VariationalAutoencoder model, VaeTrainer trainer, ImageDataSet test, int k, int naiveK, RunDirectory run, Progress progress,
        JsonObject? metrics = null, ImageDataSet? elboData = null)
    {
        metrics ??= run.ReadMetrics() ?? new JsonObject { ["command"] = "vae eval" };
        elboData ??= test;
        double elbo = trainer.EvaluateElbo(elboData);
        const int Batch = 100;
        var gen = new Generator(trainer.Options.Seed ^ 0x11E5);
        double ll = 0, naive = 0;
        int batches = (test.Count + Batch - 1) / Batch;
        var bar = progress.Task($"log p(x), k={k}");
        var sampler = new BatchSampler(test, Batch, trainer.Options.Binarization, trainer.Options.Seed ^ 0x5EED);
        int b = 0;
        foreach (var (pixels, rows) in sampler.Epoch(0, shuffle: false))
        {
            using var scope = TensorScope.Begin();
            var x = Tensor.FromSpan<float>(pixels, [rows.Length, test.Dimension], model.Device);
            ll += Estimators.LogLikelihood(model, x, gen, k).Sum();
            if (naiveK > 0) naive += Estimators.NaiveMonteCarlo(model, x, gen, naiveK).Sum();
            bar(++b, batches);
        }
        var result = new JsonObject { ["elbo"] = elbo, ["elbo_images"] = elboData.Count, ["log_likelihood"] = ll / test.Count, ["k"] = k, ["images"] = test.Count };
        if (naiveK > 0) { result["naive_log_likelihood"] = naive / test.Count; result["naive_k"] = naiveK; }
        metrics["test"] = result;
        run.WriteMetrics(metrics);
        progress.Line($"test: ELBO {elbo:F2} nats ({elboData.Count} images), log p(x) ~ {ll / test.Count:F2} nats (importance sampling, k={k})" +
                      (naiveK > 0 ? $", naive Monte Carlo (k={naiveK}) {naive / test.Count:F2} nats" : "") + $", {test.Count} images");
    }

    public static void WriteSamples(VariationalAutoencoder model, int n, ulong seed, string path)
    {
        using var _ = GradMode.NoGrad();
        using var scope = TensorScope.Begin();
        var z = model.Prior(n, DType.Float32).Sample(new Generator(seed ^ 0x5A3D));
        var mean = model.DecodeMean(z).ToFloatArray();
        int d = model.InputSize, side = (int)Math.Sqrt(d);
        Png.WriteGrid(path, Split(mean, d), side, d / side, columns: (int)Math.Ceiling(Math.Sqrt(n)));
    }

    public static void WriteReconstructions(VariationalAutoencoder model, VaeTrainer trainer, ImageDataSet test, int n, string path)
    {
        using var _ = GradMode.NoGrad();
        using var scope = TensorScope.Begin();
        n = Math.Min(n, test.Count);
        var rows = Enumerable.Range(0, n).ToArray();
        var px = new BatchSampler(test, n, trainer.Options.Binarization, trainer.Options.Seed ^ 0x5EED).Gather(rows, 0, 0);
        var x = Tensor.FromSpan<float>(px, [n, test.Dimension], model.Device);
        var q = (Models.Distributions.Normal)model.Posterior(x);
        var recon = model.DecodeMean(q.Mean).ToFloatArray();
        var images = new List<float[]>();
        var inputs = Split(px, test.Dimension);
        var outputs = Split(recon, test.Dimension);
        // Pairs side by side: input, reconstruction, input, reconstruction, ... eight pairs per row.
        for (int i = 0; i < n; i++) { images.Add(inputs[i]); images.Add(outputs[i]); }
        Png.WriteGrid(path, images, test.Height, test.Width, columns: 16);
    }

    private static void WritePictures(VariationalAutoencoder model, VaeTrainer trainer, FashionMnist data, string datasetName, JsonObject metrics, RunDirectory run, Progress progress)
    {
        WriteSamples(model, 64, trainer.Options.Seed, run.File("samples.png"));
        WriteReconstructions(model, trainer, data.Test, 32, run.File("reconstructions.png"));
        var epochs = metrics["epochs"]!.AsArray();
        var x = epochs.Select(e => (double)(int)e!["epoch"]!).ToArray();
        Plots.Curves(run.File("elbo.png"), "Evidence lower bound per data point", "nats", [
            ("train", x, epochs.Select(e => (double)e!["train_elbo"]!).ToArray()),
            ("test", x, epochs.Select(e => (double)e!["test_elbo"]!).ToArray()),
        ]);
        if (data.Test.Labels is { } labels) WriteLatent(model, trainer, data.Test, labels, Common.ClassNames(datasetName), run.File("latent.png"));
        progress.Line($"Wrote samples.png, reconstructions.png, elbo.png{(data.Test.Labels != null ? ", latent.png" : "")} and metrics.json to {run.Path}");
    }

    // The posterior means of (up to 2000) test images: the 2-D latent itself, or its first two principal components.
    private static void WriteLatent(VariationalAutoencoder model, VaeTrainer trainer, ImageDataSet test, int[] labels, string[] names, string path)
    {
        using var _ = GradMode.NoGrad();
        using var scope = TensorScope.Begin();
        int n = Math.Min(2000, test.Count), l = model.LatentSize;
        var rows = Enumerable.Range(0, n).ToArray();
        var px = new BatchSampler(test, n, trainer.Options.Binarization, trainer.Options.Seed ^ 0x5EED).Gather(rows, 0, 0);
        var mu = ((Models.Distributions.Normal)model.Posterior(Tensor.FromSpan<float>(px, [n, test.Dimension], model.Device))).Mean.ToDoubleArray();
        double[] a = new double[n], b = new double[n];
        string xl = "z1", yl = "z2";
        if (l == 1) for (int i = 0; i < n; i++) a[i] = mu[i];
        else if (l == 2) for (int i = 0; i < n; i++) { a[i] = mu[2 * i]; b[i] = mu[2 * i + 1]; }
        else
        {
            var proj = PcaProjection.TopTwo(mu, n, l);
            for (int i = 0; i < n; i++) { a[i] = proj[2 * i]; b[i] = proj[2 * i + 1]; }
            xl = "PC 1 of E[z|x]"; yl = "PC 2 of E[z|x]";
        }
        Plots.LabelledScatter(path, "Latent space of the test images", a, b, labels.Take(n).ToArray(), names, xl, yl);
    }

    private static List<float[]> Split(float[] flat, int d) =>
        Enumerable.Range(0, flat.Length / d).Select(i => flat.AsSpan(i * d, d).ToArray()).ToList();
}
