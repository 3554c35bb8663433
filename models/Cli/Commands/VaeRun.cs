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
    /// <summary>The --train-limit and --test-limit the data was loaded with (recorded so --resume reloads the same data).</summary>
    public int? TrainLimit { get; init; }
    public int? TestLimit { get; init; }
}

/// <summary>The work behind the `vae` commands (and the demo): training with checkpoints, evaluation, pictures.</summary>
internal static class VaeRun
{
    private const string ModelFile = "model.safetensors";
    private const string OptimizerFile = "optimizer.safetensors";

    /// <summary>The options that shape a run, with the keys metrics.json's "options" records them under.</summary>
    public static readonly (string Option, string Key)[] Shaping =
    [
        ("--hidden", "hidden"), ("--latent", "latent_size"), ("--activation", "activation"), ("--decoder", "decoder"), ("--init", "init"),
        ("--batch-size", "batch_size"), ("--lr", "lr"), ("--binarize", "binarization"), ("--objective", "objective"), ("--k", "k"),
        ("--estimator", "estimator"), ("--seed", "seed"), ("--train-limit", "train_limit"), ("--test-limit", "test_limit"),
    ];

    /// <summary>
    /// Trains, committing one generation of the run folder per epoch (model, optimizer, metrics.json and pictures
    /// together) after checking every value finite. A run that diverges or fails leaves the last generation as it was.
    /// </summary>
    public static VariationalAutoencoder Train(VaeTrainSettings s, FashionMnist data, string datasetName, RunDirectory run, Progress progress)
    {
        if (data.Train.Count == 0) throw new InvalidDataException("the training set is empty.");
        if (data.Test.Count == 0) throw new InvalidDataException("the test set is empty.");
        var options = s.Options with { InputSize = data.Train.Dimension };
        var training = s.Training;
        VariationalAutoencoder model;
        VaeTrainer trainer;
        JsonObject metrics;
        int start = 0;
        if (s.Resume)
        {
            (model, trainer, metrics, start) = ResumeFrom(run, training.Epochs, data, datasetName, options.Device);
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
                ["options"] = SettingsJson(options, training, s.TrainLimit, s.TestLimit),
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
            EpochResult r;
            try
            {
                r = trainer.TrainEpoch(data.Train, data.Test, epoch, bar);
                trainer.CheckFinite(epoch);
            }
            catch (TrainingDivergedException e)
            {
                throw new TrainingDivergedException(e.Epoch, e.Batch, e.Quantity, e.Value,
                    $"{HintFor(e, trainer)} {(epoch > start || s.Resume ? $"{run.Path} still holds the run after epoch {epoch}." : $"Nothing in {run.Path} was changed.")}");
            }
            epochsJson.Add(new JsonObject
            {
                ["epoch"] = epoch + 1,
                ["train_elbo"] = r.TrainObjective,
                ["test_elbo"] = r.TestElbo,
                ["seconds"] = Math.Round(r.Seconds, 3),
                ["samples_per_second"] = Math.Round(r.SamplesPerSecond, 1),
            });
            // The first generation of a new run replaces whatever run the folder held; later ones add to it.
            using (var g = run.Begin(fresh: epoch == start && !s.Resume))
            {
                trainer.Optimizer.SaveState(g.PathFor(OptimizerFile));
                VaeCheckpoint.Save(model, g.PathFor(ModelFile), new Dictionary<string, string>
                {
                    ["epoch"] = (epoch + 1).ToString(CultureInfo.InvariantCulture),
                    ["binarization"] = trainer.Options.Binarization.ToString().ToLowerInvariant(),
                });
                WritePictures(model, trainer, data, datasetName, metrics, g);
                g.WriteMetrics(metrics);
                g.Commit();
            }
            progress.Line($"epoch {epoch + 1}: train {Objective(trainer)} {r.TrainObjective:F2} nats, test ELBO {r.TestElbo:F2} nats, {r.SamplesPerSecond:F0} images/s");
        }
        progress.Line($"Wrote model.safetensors, optimizer.safetensors, samples.png, reconstructions.png, elbo.png{(data.Test.Labels != null ? ", latent.png" : "")} and metrics.json to {run.Path}");
        if (s.EvalK > 0) Evaluate(model, trainer, s.EvalLimit is { } n ? data.Test.Take(n) : data.Test, s.EvalK, 0, run, progress, metrics, elboData: data.Test);
        return model;
    }

    private static string HintFor(TrainingDivergedException e, VaeTrainer t)
    {
        double lr = t.Options.LearningRate;
        if (e.Quantity == "the test ELBO")
            return $"The training objective stayed finite, so the model overfits to the point of giving a test image zero probability: lower --lr (it is {lr}) or train fewer epochs.";
        return t.Model.Options.Decoder == DecoderKind.Gaussian
            ? $"Adam stepped too far, or the Gaussian decoder's variance collapsed: lower --lr (it is {lr})."
            : $"Adam stepped too far: lower --lr (it is {lr}).";
    }

    private static string Objective(VaeTrainer t) => t.Options.Objective.Objective switch
    {
        Models.Vae.Objective.ImportanceWeighted => $"L_{t.Options.Objective.Samples}",
        _ => "ELBO",
    };

    /// <summary>
    /// The recorded options and data set of the run in <paramref name="run"/> (checked against its manifest), for --resume:
    /// throws a usage error naming every option given on the command line that differs from the record.
    /// </summary>
    public static (JsonObject Options, string? Dataset) RecordedOptions(RunDirectory run, JsonObject given, IReadOnlySet<string> explicitOptions, string datasetName)
    {
        run.Verify();
        var metrics = run.ReadMetrics() ?? throw new UserError($"--resume: '{run.MetricsPath}' does not exist; there is no run to resume in {run.Path}.");
        if ((string?)metrics["command"] != "vae train" || metrics["options"] is not JsonObject recorded)
            throw new UserError($"--resume: '{run.MetricsPath}' does not describe a 'vae train' run.");
        var conflicts = new List<string>();
        foreach (var (option, key) in Shaping)
            if (explicitOptions.Contains(option) && !JsonNode.DeepEquals(given[key], recorded[key]))
                conflicts.Add($"{option} {Show(given[key])} (the run has {Show(recorded[key])})");
        if ((string?)metrics["dataset"] is { } ds && ds != datasetName && (explicitOptions.Contains("--synthetic") || explicitOptions.Contains("--data")))
            conflicts.Add($"{(datasetName == "synthetic" ? "--synthetic" : "--data")} (the run was trained on {ds})");
        if (conflicts.Count > 0)
            throw new UserError($"--resume: options differ from the run in {run.Path}: {string.Join("; ", conflicts)}. Drop them to continue the run as it was started.");
        return (recorded, (string?)metrics["dataset"]);
    }

    private static string Show(JsonNode? v) => v switch
    {
        null => "none",
        JsonArray a => a.Count == 0 ? "none" : string.Join(",", a.Select(x => x!.ToJsonString())),
        JsonValue j when j.TryGetValue<string>(out var str) => str,
        _ => v.ToJsonString(),
    };

    private static (VariationalAutoencoder, VaeTrainer, JsonObject, int) ResumeFrom(RunDirectory run, int epochs, FashionMnist data, string datasetName, Engine.Devices.Device? device)
    {
        var metrics = run.ReadMetrics() ?? throw new UserError($"--resume: '{run.MetricsPath}' does not exist; there is no run to resume in {run.Path}.");
        var (model, meta) = LoadModel(run, device);
        int done = int.Parse(meta.TryGetValue("epoch", out var e) ? e : "0", CultureInfo.InvariantCulture);
        if (epochs <= done)
            throw new UserError($"--epochs {epochs}: the run in {run.Path} has already trained {done} epochs; ask for more to continue it.");
        var o = metrics["options"]!.AsObject();
        if ((string?)metrics["dataset"] != datasetName || (int?)metrics["train_size"] != data.Train.Count || (int?)metrics["test_size"] != data.Test.Count)
            throw new InvalidDataException($"--resume: the run in {run.Path} was trained on {metrics["dataset"]} ({metrics["train_size"]} training, {metrics["test_size"]} test images); the data now is {datasetName} ({data.Train.Count}, {data.Test.Count}).");
        var training = TrainingFrom(o, (ulong)metrics["seed"]!, epochs);
        var trainer = new VaeTrainer(model, training);
        trainer.Optimizer.LoadState(run.File(OptimizerFile));
        int batches = (data.Train.Count + training.BatchSize - 1) / training.BatchSize;
        if (trainer.Optimizer.StepCount != done * batches)
            throw new InvalidDataException($"--resume: the checkpoint in {run.Path} is inconsistent (weights after epoch {done}, optimizer after {trainer.Optimizer.StepCount} steps, expected {done * batches}).");
        var list = metrics["epochs"]!.AsArray();
        while (list.Count > done) list.RemoveAt(list.Count - 1);
        return (model, trainer, metrics, done);
    }

    private static TrainingOptions TrainingFrom(JsonObject o, ulong seed, int epochs)
    {
        try
        {
            return new TrainingOptions
            {
                Epochs = epochs,
                BatchSize = (int)o["batch_size"]!,
                LearningRate = (double)o["lr"]!,
                Binarization = Enum.Parse<Binarization>((string)o["binarization"]!, true),
                Seed = seed,
                Objective = new ObjectiveOptions(Enum.Parse<Models.Vae.Objective>((string)o["objective"]!, true), (int)o["k"]!, Enum.Parse<GradientEstimator>((string)o["estimator"]!, true)),
            };
        }
        catch (Exception ex) when (ex is NullReferenceException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new InvalidDataException($"metrics.json: its \"options\" do not describe a training run ({ex.Message}).", ex);
        }
    }

    /// <summary>The options that shape a run, as metrics.json records them (the keys of <see cref="Shaping"/>, and the input size).</summary>
    public static JsonObject SettingsJson(VaeOptions o, TrainingOptions t, int? trainLimit, int? testLimit) => new()
    {
        ["input_size"] = o.InputSize,
        ["hidden"] = new JsonArray(o.Hidden.Select(h => (JsonNode)h).ToArray()),
        ["latent_size"] = o.LatentSize,
        ["activation"] = o.Activation.ToString().ToLowerInvariant(),
        ["decoder"] = o.Decoder.ToString().ToLowerInvariant(),
        ["init"] = o.Init?.ToString().ToLowerInvariant(),
        ["batch_size"] = t.BatchSize,
        ["lr"] = t.LearningRate,
        ["binarization"] = t.Binarization.ToString().ToLowerInvariant(),
        ["objective"] = t.Objective.Objective.ToString(),
        ["k"] = t.Objective.Samples,
        ["estimator"] = t.Objective.Estimator.ToString(),
        ["seed"] = t.Seed,
        ["train_limit"] = trainLimit,
        ["test_limit"] = testLimit,
    };

    /// <summary>The run's model, after checking the folder against its manifest and every weight finite.</summary>
    public static (VariationalAutoencoder, IReadOnlyDictionary<string, string>) LoadModel(RunDirectory run, Engine.Devices.Device? device = null)
    {
        run.Verify();
        var path = run.File(ModelFile);
        if (!File.Exists(path)) throw new UserError($"no model in {run.Path} ({ModelFile} is missing); train one with 'vae train --out {run.Path}'.");
        var (model, meta) = VaeCheckpoint.Load(path, device);
        foreach (var (name, t) in model.NamedParameters())
            if (!t.AllFinite()) throw new InvalidDataException($"'{path}': tensor {name} holds NaN or infinite values; the model is unusable (train it again).");
        return (model, meta);
    }

    public static Binarization BinarizationOf(IReadOnlyDictionary<string, string> meta) =>
        meta.TryGetValue("binarization", out var b) ? Enum.Parse<Binarization>(b, true) : Binarization.Dynamic;

    /// <summary>
    /// Test ELBO and log p(x) by importance sampling with k samples (and naive Monte Carlo when asked), committed as
    /// "test" in metrics.json. A non-finite estimate is an error and leaves the run folder as it was.
    /// </summary>
    public static void Evaluate(VariationalAutoencoder model, VaeTrainer trainer, ImageDataSet test, int k, int naiveK, RunDirectory run, Progress progress,
        JsonObject? metrics = null, ImageDataSet? elboData = null)
    {
        metrics ??= run.ReadMetrics() ?? new JsonObject { ["command"] = "vae eval" };
        elboData ??= test;
        if (test.Count == 0 || elboData.Count == 0) throw new InvalidDataException("the test set is empty.");
        double elbo = trainer.EvaluateElbo(elboData);
        if (!double.IsFinite(elbo))
            throw new InvalidDataException($"the test ELBO of the model in {run.Path} is {elbo}: it gives a test image zero probability (a diverged model, or data unlike its training data); nothing was written.");
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
            if (!double.IsFinite(ll) || !double.IsFinite(naive))
                throw new InvalidDataException($"log p(x) of test batch {b + 1} (images {b * Batch + 1}-{b * Batch + rows.Length}) is not finite under the model in {run.Path}" +
                                               $"{(double.IsFinite(ll) ? " by naive Monte Carlo; raise --naive-k or rely on importance sampling" : "")}; nothing was written.");
            bar(++b, batches);
        }
        var result = new JsonObject { ["elbo"] = elbo, ["elbo_images"] = elboData.Count, ["log_likelihood"] = ll / test.Count, ["k"] = k, ["images"] = test.Count };
        if (naiveK > 0) { result["naive_log_likelihood"] = naive / test.Count; result["naive_k"] = naiveK; }
        metrics["test"] = result;
        using (var g = run.Begin())
        {
            g.WriteMetrics(metrics);
            g.Commit();
        }
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

    private static void WritePictures(VariationalAutoencoder model, VaeTrainer trainer, FashionMnist data, string datasetName, JsonObject metrics, RunGeneration g)
    {
        WriteSamples(model, 64, trainer.Options.Seed, g.PathFor("samples.png"));
        WriteReconstructions(model, trainer, data.Test, 32, g.PathFor("reconstructions.png"));
        var epochs = metrics["epochs"]!.AsArray();
        var x = epochs.Select(e => (double)(int)e!["epoch"]!).ToArray();
        Plots.Curves(g.PathFor("elbo.png"), "Evidence lower bound per data point", "nats", [
            ("train", x, epochs.Select(e => (double)e!["train_elbo"]!).ToArray()),
            ("test", x, epochs.Select(e => (double)e!["test_elbo"]!).ToArray()),
        ]);
        if (data.Test.Labels is { } labels) WriteLatent(model, trainer, data.Test, labels, Common.ClassNames(datasetName), g.PathFor("latent.png"));
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
