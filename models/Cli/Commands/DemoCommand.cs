using System.CommandLine;
using Engine.Cli.Output;
using Engine.Models.Data;
using Engine.Models.Vae;

namespace Engine.Cli.Commands;

/// <summary>
/// The default action: find Fashion-MNIST (or fall back to the synthetic set), train a small VAE for a few
/// epochs, estimate the test log-likelihood, and write pictures and metrics — a couple of minutes on two cores.
/// </summary>
internal static class DemoCommand
{
    public static void Configure(RootCommand root)
    {
        var data = Common.Data();
        var outDir = Common.Out("runs/demo");
        var epochs = new Option<int>("--epochs") { Description = "Demo training epochs.", DefaultValueFactory = _ => 3 };
        root.Options.Add(data);
        root.Options.Add(outDir);
        root.Options.Add(epochs);
        root.SetAction(p => Run.Guarded(() =>
        {
            var progress = new Progress(p.GetValue(Common.Quiet));
            progress.Line("engine demo: a variational autoencoder on images (run 'engine --help' for the commands).");
            string? dir = p.GetValue(data);
            FashionMnist ds;
            string name;
            if (FashionMnist.Locate(dir) is { } found)
            {
                progress.Line($"Loading Fashion-MNIST from {found}");
                ds = FashionMnist.Load(found, testLimit: 2000);
                name = "fashion-mnist";
            }
            else
            {
                progress.Line(dir != null
                    ? $"No Fashion-MNIST files in '{dir}'."
                    : $"Fashion-MNIST was not found (looked in --data, $ENGINE_DATA and {FashionMnist.DebianPath}).");
                progress.Line("To use it: 'apt-get install dataset-fashion-mnist', or pass --data DIR. Running on the built-in synthetic images instead.");
                ds = SyntheticImages.Create(6000, 1000);
                name = "synthetic";
            }
            using var run = new RunDirectory(p.GetValue(outDir)!);
            var settings = new VaeTrainSettings
            {
                Options = new VaeOptions { Hidden = [512, 256], LatentSize = 16, Device = Common.OpenDevice(p) },
                Training = new TrainingOptions { Epochs = VaeCommands.Positive(p.GetValue(epochs), "--epochs"), BatchSize = 128, LearningRate = 1e-3, Seed = 0 },
            };
            var model = VaeRun.Train(settings, ds, name, run, progress);
            var trainer = new VaeTrainer(model, settings.Training);
            VaeRun.Evaluate(model, trainer, ds.Test.Take(500), 1000, 0, run, progress);
            using var gmmRun = new RunDirectory(Path.Combine(run.Path, "gmm"));
            GmmRun.Fit(new GmmFitSettings { Components = 10, PcaDimensions = 30, Covariance = Models.Gmm.CovarianceType.Full, Device = Common.OpenDevice(p) }, ds with { Train = ds.Train.Take(20000) }, name, gmmRun, progress);
            progress.Line($"Done. Pictures and metrics.json are in {run.Path}");
        }));
    }
}
