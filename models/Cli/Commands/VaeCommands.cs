using System.CommandLine;
using System.Globalization;
using Engine.Cli.Output;
using Engine.Models.Data;
using Engine.Models.Nn;
using Engine.Models.Vae;

namespace Engine.Cli.Commands;

/// <summary>`vae train`, `vae eval`, `vae sample`, `vae reconstruct`.</summary>
internal static class VaeCommands
{
    public static Command Create()
    {
        var vae = new Command("vae", "Train, evaluate and sample variational autoencoders.");
        vae.Subcommands.Add(Train());
        vae.Subcommands.Add(Eval());
        vae.Subcommands.Add(Sample());
        vae.Subcommands.Add(Reconstruct());
        vae.Subcommands.Add(InpaintCommand.Create());
        return vae;
    }

    // ---------------- train ----------------

    private static Command Train()
    {
        var data = Common.Data();
        var synthetic = Common.Synthetic();
        var outDir = Common.Out("runs/vae");
        var seed = Common.Seed();
        var epochs = new Option<int>("--epochs") { Description = "Passes over the training set.", DefaultValueFactory = _ => 10 };
        var batch = new Option<int>("--batch-size") { Description = "Mini-batch size.", DefaultValueFactory = _ => 128 };
        var lr = new Option<double>("--lr") { Description = "Adam learning rate.", DefaultValueFactory = _ => 1e-3 };
        var latent = new Option<int>("--latent") { Description = "Dimension of z.", DefaultValueFactory = _ => 16 };
        var hidden = new Option<string>("--hidden") { Description = "Hidden widths of the encoder (the decoder mirrors them), comma-separated; none for no hidden layer.", DefaultValueFactory = _ => "512,256" };
        var activation = new Option<string>("--activation") { Description = "relu, leakyrelu, tanh, sigmoid or softplus.", DefaultValueFactory = _ => "relu" };
        var decoder = new Option<string>("--decoder") { Description = "bernoulli (binary images) or gaussian (learned variance).", DefaultValueFactory = _ => "bernoulli" };
        var objective = new Option<string>("--objective") { Description = "elbo (analytic KL), elbo-mc (Monte-Carlo KL over k samples) or iwae (importance-weighted bound with k samples).", DefaultValueFactory = _ => "elbo" };
        var k = new Option<int>("--k") { Description = "Samples per data point for elbo-mc and iwae.", DefaultValueFactory = _ => 1 };
        var estimator = new Option<string>("--estimator") { Description = "Gradient estimator: plain, stl (sticking the landing) or dreg (doubly reparameterized).", DefaultValueFactory = _ => "plain" };
        var binarize = new Option<string>("--binarize") { Description = "dynamic, static or none (default: dynamic for bernoulli, none for gaussian)." };
        var init = new Option<string>("--init") { Description = "Weight initialization: xavieruniform, xaviernormal, kaiminguniform, kaimingnormal, lecunnormal or pytorchdefault (the default).", DefaultValueFactory = _ => "pytorchdefault" };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its last completed epoch." };
        var evalK = new Option<int>("--eval-k") { Description = "After training, estimate log p(x) on the test images with this many importance samples (0: skip).", DefaultValueFactory = _ => 0 };
        var evalLimit = new Option<int?>("--eval-limit") { Description = "Estimate log p(x) (--eval-k) on the first N test images only." };
        var trainLimit = Common.Limit("--train-limit", "training");
        var testLimit = Common.Limit("--test-limit", "test");

        var cmd = new Command("train", "Train a VAE by maximizing the ELBO (or an importance-weighted bound) with Adam.")
        {
            data, synthetic, outDir, seed, epochs, batch, lr, latent, hidden, activation, decoder, objective, k, estimator, binarize, init, resume, evalK, evalLimit, trainLimit, testLimit,
        };
        cmd.SetAction(p => Run.Guarded(() =>
        {
            var progress = new Progress(p.GetValue(Common.Quiet));
            var dec = ParseEnum<DecoderKind>(p.GetValue(decoder)!, "--decoder");
            var settings = new VaeTrainSettings
            {
                Options = new VaeOptions
                {
                    Hidden = ParseSizes(p.GetValue(hidden)!),
                    LatentSize = Positive(p.GetValue(latent), "--latent"),
                    Activation = Parse(() => Activations.Parse(p.GetValue(activation)!), "--activation"),
                    Decoder = dec,
                    Init = ParseEnum<Init>(p.GetValue(init)!.Replace("-", ""), "--init"),
                },
                Training = new TrainingOptions
                {
                    Epochs = Positive(p.GetValue(epochs), "--epochs"),
                    BatchSize = Positive(p.GetValue(batch), "--batch-size"),
                    LearningRate = PositiveD(p.GetValue(lr), "--lr"),
                    Seed = p.GetValue(seed),
                    Binarization = p.GetValue(binarize) is { } b ? ParseEnum<Binarization>(b, "--binarize") : dec == DecoderKind.Bernoulli ? Binarization.Dynamic : Binarization.None,
                    Objective = new ObjectiveOptions(ParseObjective(p.GetValue(objective)!), Positive(p.GetValue(k), "--k"), ParseEstimator(p.GetValue(estimator)!)),
                },
                Resume = p.GetValue(resume),
                EvalK = NonNegative(p.GetValue(evalK), "--eval-k"),
                EvalLimit = p.GetValue(evalLimit) is { } el ? Positive(el, "--eval-limit") : null,
                TrainLimit = p.GetValue(trainLimit) is { } tl ? Positive(tl, "--train-limit") : null,
                TestLimit = p.GetValue(testLimit) is { } sl ? Positive(sl, "--test-limit") : null,
            };
            bool useSynthetic = p.GetValue(synthetic);
            using var run = new RunDirectory(p.GetValue(outDir)!);
            if (settings.Resume)
            {
                // The run's record decides every option that shapes it, and the data set; one given here must agree with it.
                var given = VaeRun.SettingsJson(settings.Options, settings.Training, settings.TrainLimit, settings.TestLimit);
                var (recorded, dataset) = VaeRun.RecordedOptions(run, given, Common.Given(p), useSynthetic ? "synthetic" : "fashion-mnist");
                settings = settings with { TrainLimit = (int?)recorded["train_limit"], TestLimit = (int?)recorded["test_limit"] };
                useSynthetic |= dataset == "synthetic";
            }
            settings = settings with { Options = settings.Options with { Device = Common.OpenDevice(p) } };
            var (ds, name) = Common.LoadData(p.GetValue(data), useSynthetic, settings.TrainLimit, settings.TestLimit, progress);
            VaeRun.Train(settings, ds, name, run, progress);
        }));
        return cmd;
    }

    // ---------------- eval ----------------

    private static Command Eval()
    {
        var data = Common.Data();
        var synthetic = Common.Synthetic();
        var outDir = Common.Out("runs/vae");
        var seed = Common.Seed();
        var k = new Option<int>("--k") { Description = "Importance samples per test image for log p(x).", DefaultValueFactory = _ => 5000 };
        var naive = new Option<int>("--naive-k") { Description = "Also estimate log p(x) by naive Monte Carlo from the prior with this many samples (0: skip).", DefaultValueFactory = _ => 0 };
        var testLimit = Common.Limit("--test-limit", "test");
        var cmd = new Command("eval", "Test ELBO and log p(x) by importance sampling (and naive Monte Carlo when asked) for the model in --out.")
        {
            data, synthetic, outDir, seed, k, naive, testLimit,
        };
        cmd.SetAction(p => Run.Guarded(() =>
        {
            var progress = new Progress(p.GetValue(Common.Quiet));
            int samples = Positive(p.GetValue(k), "--k"), naiveSamples = NonNegative(p.GetValue(naive), "--naive-k");
            using var run = new RunDirectory(p.GetValue(outDir)!);
            var (model, meta) = VaeRun.LoadModel(run, Common.OpenDevice(p));
            var (ds, _) = Common.LoadData(p.GetValue(data), p.GetValue(synthetic), 1, p.GetValue(testLimit), progress);
            CheckInputSize(model, ds.Test, run);
            var trainer = new VaeTrainer(model, new TrainingOptions { Seed = p.GetValue(seed), Binarization = VaeRun.BinarizationOf(meta) });
            VaeRun.Evaluate(model, trainer, ds.Test, samples, naiveSamples, run, progress);
        }));
        return cmd;
    }

    // ---------------- sample / reconstruct ----------------

    private static Command Sample()
    {
        var outDir = Common.Out("runs/vae");
        var seed = Common.Seed();
        var n = new Option<int>("--count", "-n") { Description = "Number of samples.", DefaultValueFactory = _ => 64 };
        var file = new Option<string>("--file") { Description = "PNG file name inside --out.", DefaultValueFactory = _ => "samples.png" };
        var cmd = new Command("sample", "Draw z from the prior and write the decoder's mean images as a PNG grid.") { outDir, seed, n, file };
        cmd.SetAction(p => Run.Guarded(() =>
        {
            int count = Positive(p.GetValue(n), "--count");
            var name = Common.PngName(p.GetValue(file)!);
            using var run = new RunDirectory(p.GetValue(outDir)!);
            var (model, _) = VaeRun.LoadModel(run, Common.OpenDevice(p));
            using (var g = run.Begin())
            {
                VaeRun.WriteSamples(model, count, p.GetValue(seed), g.PathFor(name));
                g.Commit();
            }
            new Progress(p.GetValue(Common.Quiet)).Line($"Wrote {run.File(name)}");
        }));
        return cmd;
    }

    private static Command Reconstruct()
    {
        var data = Common.Data();
        var synthetic = Common.Synthetic();
        var outDir = Common.Out("runs/vae");
        var seed = Common.Seed();
        var n = new Option<int>("--count", "-n") { Description = "Number of test images.", DefaultValueFactory = _ => 32 };
        var file = new Option<string>("--file") { Description = "PNG file name inside --out.", DefaultValueFactory = _ => "reconstructions.png" };
        var cmd = new Command("reconstruct", "Encode test images and decode their posterior means: inputs beside reconstructions, as a PNG grid.")
        {
            data, synthetic, outDir, seed, n, file,
        };
        cmd.SetAction(p => Run.Guarded(() =>
        {
            var progress = new Progress(p.GetValue(Common.Quiet));
            int count = Positive(p.GetValue(n), "--count");
            var name = Common.PngName(p.GetValue(file)!);
            using var run = new RunDirectory(p.GetValue(outDir)!);
            var (model, meta) = VaeRun.LoadModel(run, Common.OpenDevice(p));
            var (ds, _) = Common.LoadData(p.GetValue(data), p.GetValue(synthetic), 1, count, progress);
            CheckInputSize(model, ds.Test, run);
            var trainer = new VaeTrainer(model, new TrainingOptions { Seed = p.GetValue(seed), Binarization = VaeRun.BinarizationOf(meta) });
            using (var g = run.Begin())
            {
                VaeRun.WriteReconstructions(model, trainer, ds.Test, count, g.PathFor(name));
                g.Commit();
            }
            progress.Line($"Wrote {run.File(name)}");
        }));
        return cmd;
    }

    private static void CheckInputSize(VariationalAutoencoder model, ImageDataSet test, RunDirectory run)
    {
        if (test.Dimension != model.InputSize)
            throw new UserError($"the test images have {test.Dimension} pixels; the model in {run.Path} expects {model.InputSize}.");
    }

    // ---------------- parsing helpers ----------------

    internal static int[] ParseSizes(string s)
    {
        if (s.Trim().Equals("none", StringComparison.OrdinalIgnoreCase)) return [];
        try
        {
            var sizes = s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            if (sizes.Length == 0 || sizes.Any(v => v <= 0)) throw new FormatException();
            return sizes;
        }
        catch (Exception e) when (e is FormatException or OverflowException) { throw new UserError($"--hidden: '{s}' is not a comma-separated list of positive widths (e.g. 512,256), or none for no hidden layer."); }
    }

    internal static Objective ParseObjective(string s) => s.ToLowerInvariant() switch
    {
        "elbo" => Objective.Elbo,
        "elbo-mc" or "elbomc" => Objective.ElboMonteCarlo,
        "iwae" => Objective.ImportanceWeighted,
        _ => throw new UserError($"--objective: '{s}' is not one of elbo, elbo-mc, iwae."),
    };

    internal static GradientEstimator ParseEstimator(string s) => s.ToLowerInvariant() switch
    {
        "plain" or "reparam" => GradientEstimator.Reparameterization,
        "stl" => GradientEstimator.StickingTheLanding,
        "dreg" => GradientEstimator.DoublyReparameterized,
        _ => throw new UserError($"--estimator: '{s}' is not one of plain, stl, dreg."),
    };

    internal static T ParseEnum<T>(string s, string option) where T : struct, Enum =>
        Enum.TryParse<T>(s, ignoreCase: true, out var v) && Enum.IsDefined(v) ? v
            : throw new UserError($"{option}: '{s}' is not one of {string.Join(", ", Enum.GetNames<T>()).ToLowerInvariant()}.");

    private static T Parse<T>(Func<T> f, string option)
    {
        try { return f(); }
        catch (ArgumentException e) { throw new UserError($"{option}: {e.Message}"); }
    }

    internal static int Positive(int v, string option) => v > 0 ? v : throw new UserError($"{option} must be positive; got {v}.");
    internal static int NonNegative(int v, string option) => v >= 0 ? v : throw new UserError($"{option} must not be negative; got {v}.");
    internal static double PositiveD(double v, string option) => v > 0 && double.IsFinite(v) ? v : throw new UserError($"{option} must be a positive number; got {v}.");
}

/// <summary>Runs a command body, turning errors into one clear line and an exit code: 2 for usage, 1 for a failed run.</summary>
internal static class Run
{
    public static int Guarded(Action body)
    {
        try
        {
            body();
            return 0;
        }
        catch (UserError e)
        {
            Console.Error.WriteLine($"error: {OneLine(e.Message)}");
            return 2;
        }
        catch (Exception e) when (e is RuntimeError or IOException or InvalidDataException or ArgumentException or InvalidOperationException
                                       or UnauthorizedAccessException or NotSupportedException or FormatException or OverflowException)
        {
            Console.Error.WriteLine($"error: {OneLine(e.Message)}");
            return 1;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Anything else is a defect of this program, still reported in one line.
            Console.Error.WriteLine($"error: internal error ({e.GetType().Name}): {OneLine(e.Message)}");
            return 1;
        }
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" ");
}
