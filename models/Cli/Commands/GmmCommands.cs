using System.CommandLine;
using Engine.Cli.Output;
using Engine.Models.Gmm;

namespace Engine.Cli.Commands;

/// <summary>`gmm fit` and `gmm predict`: Gaussian mixtures by EM on PCA-reduced images.</summary>
internal static class GmmCommands
{
    public static Command Create()
    {
        var gmm = new Command("gmm", "Cluster images with Gaussian mixture models fitted by EM.");
        gmm.Subcommands.Add(Fit());
        gmm.Subcommands.Add(Predict());
        return gmm;
    }

    private static Command Fit()
    {
        var data = Common.Data();
        var synthetic = Common.Synthetic();
        var outDir = Common.Out("runs/gmm");
        var seed = new Option<int>("--seed") { Description = "Seed of the initialization and of the samples.", DefaultValueFactory = _ => 0 };
        var components = new Option<int>("--components", "-k") { Description = "Number of mixture components.", DefaultValueFactory = _ => 10 };
        var covariance = new Option<string>("--covariance") { Description = "full, diagonal, spherical or tied.", DefaultValueFactory = _ => "full" };
        var init = new Option<string>("--init") { Description = "kmeans (Lloyd's from k-means++), kmeansplusplus, randomresponsibilities or randomdatapoints.", DefaultValueFactory = _ => "kmeans" };
        var pca = new Option<int>("--pca") { Description = "PCA dimensions the images are reduced to before EM.", DefaultValueFactory = _ => 50 };
        var maxIter = new Option<int>("--max-iter") { Description = "Most EM iterations.", DefaultValueFactory = _ => 100 };
        var tol = new Option<double>("--tol") { Description = "Convergence threshold on the change of the mean log-likelihood.", DefaultValueFactory = _ => 1e-3 };
        var reg = new Option<double>("--reg-covar") { Description = "Added to every covariance diagonal.", DefaultValueFactory = _ => 1e-6 };
        var nInit = new Option<int>("--n-init") { Description = "Initializations; the best lower bound is kept.", DefaultValueFactory = _ => 1 };
        var trainLimit = Common.Limit("--train-limit", "training");
        var testLimit = Common.Limit("--test-limit", "test");
        var cmd = new Command("fit", "Fit a Gaussian mixture by EM to PCA-reduced images; report BIC, log-likelihood and the adjusted Rand index against the labels.")
        {
            data, synthetic, outDir, seed, components, covariance, init, pca, maxIter, tol, reg, nInit, trainLimit, testLimit,
        };
        cmd.SetAction(p => Run.Guarded(() =>
        {
            var progress = new Progress(p.GetValue(Common.Quiet));
            var settings = new GmmFitSettings
            {
                Components = VaeCommands.Positive(p.GetValue(components), "--components"),
                Covariance = p.GetValue(covariance) == "diag" ? CovarianceType.Diagonal : VaeCommands.ParseEnum<CovarianceType>(p.GetValue(covariance)!, "--covariance"),
                Init = VaeCommands.ParseEnum<MixtureInitialization>(p.GetValue(init)!.Replace("-", "").Replace("++", "plusplus"), "--init"),
                PcaDimensions = VaeCommands.Positive(p.GetValue(pca), "--pca"),
                MaxIterations = VaeCommands.NonNegative(p.GetValue(maxIter), "--max-iter"),
                Tolerance = p.GetValue(tol) is var t && t >= 0 ? t : throw new UserError($"--tol must not be negative; got {t}."),
                RegCovar = p.GetValue(reg) is var r && r >= 0 ? r : throw new UserError($"--reg-covar must not be negative; got {r}."),
                Initializations = VaeCommands.Positive(p.GetValue(nInit), "--n-init"),
                Seed = p.GetValue(seed),
                Device = Common.OpenDevice(p),
            };
            var (ds, name) = Common.LoadData(p.GetValue(data), p.GetValue(synthetic), p.GetValue(trainLimit), p.GetValue(testLimit), progress);
            using var run = new RunDirectory(p.GetValue(outDir)!);
            try { GmmRun.Fit(settings, ds, name, run, progress); }
            catch (CovarianceNotPositiveDefiniteException e) { throw new UserError(e.Message); }
        }));
        return cmd;
    }

    private static Command Predict()
    {
        var data = Common.Data();
        var synthetic = Common.Synthetic();
        var outDir = Common.Out("runs/gmm");
        var testLimit = Common.Limit("--test-limit", "test");
        var cmd = new Command("predict", "Assign the test images to the components of the mixture in --out (predictions.csv) and score the clustering.")
        {
            data, synthetic, outDir, testLimit,
        };
        cmd.SetAction(p => Run.Guarded(() =>
        {
            var progress = new Progress(p.GetValue(Common.Quiet));
            var (ds, _) = Common.LoadData(p.GetValue(data), p.GetValue(synthetic), 1, p.GetValue(testLimit), progress);
            using var run = new RunDirectory(p.GetValue(outDir)!);
            GmmRun.Predict(run, ds.Test, progress);
        }));
        return cmd;
    }
}
