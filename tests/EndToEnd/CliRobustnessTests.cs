using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Engine.Cli;
using Engine.Cli.Output;
using Engine.Models.Vae;

namespace Engine.Tests.EndToEnd;

/// <summary>
/// What the CLI does with bad numbers and bad input: a failed run leaves the run folder's files byte-for-byte as
/// they were, every error is one line with exit code 1 (the run failed) or 2 (usage), and folders whose files
/// disagree with their manifest are refused.
/// </summary>
[Category("EndToEnd")]
[NonParallelizable]
public class CliRobustnessTests
{
    private string _dir = null!;
    private static readonly string[] Small = ["--synthetic", "--train-limit", "200", "--test-limit", "50", "--hidden", "16", "--latent", "2", "--batch-size", "50", "--quiet"];

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("engine-robust").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string Out(string name) => Path.Combine(_dir, name);

    internal static (int Code, string Err) Run(params string[] args)
    {
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        var err = new StringWriter();
        Console.SetError(err);
        Console.SetOut(TextWriter.Null);
        try { return (CliApp.Run(args), err.ToString()); }
        finally { Console.SetError(oldErr); Console.SetOut(oldOut); }
    }

    /// <summary>SHA-256 of every file in a folder (and its subfolders), by relative path.</summary>
    internal static Dictionary<string, string> Hashes(string dir) =>
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(dir, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

    internal static void AssertOneLineError(int code, string err, int expectedCode, string mentions)
    {
        Assert.That(code, Is.EqualTo(expectedCode), err);
        var lines = err.Trim().Split('\n');
        Assert.That(lines, Has.Length.EqualTo(1), err);
        Assert.That(lines[0], Does.StartWith("error: "));
        Assert.That(lines[0], Does.Contain(mentions));
        Assert.That(lines[0], Does.Not.Contain("internal error"));
    }

    private string TrainGood(string name, int epochs = 1)
    {
        var o = Out(name);
        var (code, err) = Run(["vae", "train", .. Small, "--epochs", epochs.ToString(), "--out", o]);
        Assert.That(code, Is.EqualTo(0), err);
        return o;
    }

    [Test]
    public void ADivergingRunLeavesTheGoodRunInItsFolderUnchanged()
    {
        var o = TrainGood("run");
        var before = Hashes(o);
        var (code, err) = Run(["vae", "train", .. Small, "--epochs", "2", "--lr", "10", "--out", o]);
        AssertOneLineError(code, err, 1, "training diverged in epoch 1, batch ");
        Assert.That(err, Does.Contain("lower --lr (it is 10)").And.Contain("Nothing in"));
        Assert.That(Hashes(o), Is.EqualTo(before), "the previous run is byte-for-byte intact");
        Assert.That(Run("vae", "eval", "--synthetic", "--test-limit", "10", "--k", "5", "--out", o, "--quiet").Code, Is.EqualTo(0), "the old run is still usable");
    }

    [Test]
    public void DivergenceNamesTheParameterAndCountsEpochsFromOne()
    {
        var data = Engine.Models.Data.SyntheticImages.Create(100, 20);
        var vae = new VariationalAutoencoder(new VaeOptions { InputSize = data.Train.Dimension, Hidden = [8], LatentSize = 2 }, new Generator(0));
        var trainer = new VaeTrainer(vae, new TrainingOptions { BatchSize = 50 });
        trainer.TrainEpoch(data.Train, data.Test, 0);
        trainer.CheckFinite(0);
        var (name, w) = vae.NamedParameters().Last();
        var values = w.ToFloatArray();
        values[^1] = float.PositiveInfinity;
        using (Engine.Autograd.GradMode.NoGrad()) w.CopyFrom<float>(values);
        var ex = Assert.Throws<TrainingDivergedException>(() => trainer.CheckFinite(0))!;
        Assert.That(ex.Epoch, Is.EqualTo(1));
        Assert.That(ex.Batch, Is.Null);
        Assert.That(ex.Message, Does.Contain($"parameter {name}").And.Contain("epoch 1"));
        var ex2 = Assert.Throws<TrainingDivergedException>(() => trainer.TrainEpoch(data.Train, data.Test, 1))!;
        Assert.That(ex2.Epoch, Is.EqualTo(2));
        Assert.That(ex2.Batch, Is.EqualTo(1), "the first batch under an infinite weight is not finite");
    }

    [Test]
    public void MetricsNeverSeeANonFiniteNumber()
    {
        var o = TrainGood("run");
        var before = Hashes(o);
        using (var run = new RunDirectory(o))
        {
            using var g = run.Begin();
            var metrics = run.ReadMetrics()!;
            metrics["test"] = new JsonObject { ["elbo"] = double.NegativeInfinity };
            var ex = Assert.Throws<InvalidDataException>(() => g.WriteMetrics(metrics))!;
            Assert.That(ex.Message, Does.Contain("test.elbo").And.Contain("nothing was written"));
        }
        Assert.That(Hashes(o), Is.EqualTo(before));
    }

    [Test]
    public void AModelWithNonFiniteWeightsIsRefusedByEvalAndSample()
    {
        var o = TrainGood("run");
        using (var run = new RunDirectory(o))
        {
            var (model, meta) = VaeCheckpoint.Load(run.File("model.safetensors"));
            var (name, w) = model.NamedParameters().First();
            var values = w.ToFloatArray();
            values[3] = float.NaN;
            using (Engine.Autograd.GradMode.NoGrad()) w.CopyFrom<float>(values);
            using var g = run.Begin();
            VaeCheckpoint.Save(model, g.PathFor("model.safetensors"), meta);
            g.Commit();
        }
        var before = Hashes(o);
        var (code, err) = Run("vae", "sample", "--out", o, "--quiet");
        AssertOneLineError(code, err, 1, "encoder.0.weight holds NaN or infinite values");
        (code, err) = Run("vae", "eval", "--synthetic", "--test-limit", "10", "--k", "5", "--out", o, "--quiet");
        AssertOneLineError(code, err, 1, "NaN or infinite");
        Assert.That(Hashes(o), Is.EqualTo(before));
    }

    [TestCase("--train-limit", "-5")]
    [TestCase("--train-limit", "0")]
    [TestCase("--test-limit", "-5")]
    [TestCase("--test-limit", "0")]
    [TestCase("--eval-limit", "0")]
    [TestCase("--epochs", "0")]
    [TestCase("--epochs", "-1")]
    [TestCase("--hidden", "")]
    [TestCase("--hidden", "8,-2")]
    [TestCase("--hidden", "99999999999")]
    [TestCase("--threads", "0")]
    [TestCase("--threads", "-1")]
    [TestCase("--threads", "1000")]
    [TestCase("--bogus", "1")]
    [TestCase("--lr", "NaN")]
    [TestCase("--k", "0")]
    [TestCase("--batch-size", "0")]
    [TestCase("--latent", "x")]
    public void EveryBadTrainingOptionIsOneLineWithExitCode2(string option, string value)
    {
        var o = TrainGood("run");
        var before = Hashes(o);
        string[] args = ["vae", "train", "--synthetic", "--hidden", "16", "--quiet", "--out", o];
        if (option == "--hidden") args = args.Where((_, i) => i is not (3 or 4)).ToArray();
        var (code, err) = Run([.. args, option, value]);
        AssertOneLineError(code, err, 2, option);
        Assert.That(Hashes(o), Is.EqualTo(before), "a rejected command changes nothing");
    }

    [TestCase("vae", "eval", "--test-limit", "0")]
    [TestCase("vae", "eval", "--k", "-1")]
    [TestCase("vae", "sample", "--file", "../x.png")]
    [TestCase("vae", "sample", "--file", "model.safetensors")]
    [TestCase("vae", "sample", "--count", "0")]
    [TestCase("vae", "reconstruct", "--count", "-3")]
    [TestCase("vae", "inpaint", "--test-limit", "0")]
    [TestCase("vae", "inpaint", "--region", "middle")]
    [TestCase("gmm", "fit", "--components", "0")]
    [TestCase("gmm", "fit", "--train-limit", "-5")]
    [TestCase("gmm", "predict", "--test-limit", "0")]
    public void BadOptionsOfTheOtherCommandsAreOneLineWithExitCode2(string group, string command, string option, string value)
    {
        var o = TrainGood("run");
        var before = Hashes(o);
        string[] args = [group, command, "--out", o, "--quiet", option, value];
        var (code, err) = Run(command == "sample" ? args : [.. args, "--synthetic"]);
        AssertOneLineError(code, err, 2, option);
        Assert.That(Hashes(o), Is.EqualTo(before));
    }

    [Test]
    public void NoHiddenLayerIsAskedForByName()
    {
        var o = Out("linear");
        var (code, err) = Run(["vae", "train", "--synthetic", "--train-limit", "100", "--test-limit", "20", "--hidden", "none", "--latent", "2", "--epochs", "1", "--quiet", "--out", o]);
        Assert.That(code, Is.EqualTo(0), err);
        var m = JsonNode.Parse(File.ReadAllText(Path.Combine(o, "metrics.json")))!;
        Assert.That(m["options"]!["hidden"]!.AsArray(), Is.Empty);
        var (t, _) = Engine.IO.SafeTensors.Load(Path.Combine(o, "model.safetensors"));
        Assert.That(t["encoder.0.weight"].Shape[1], Is.EqualTo(784), "the encoder maps pixels straight to the latent parameters");
    }

    [Test]
    public void ResumeNamesEveryConflictingOptionAndChangesNothing()
    {
        var o = TrainGood("run");
        var before = Hashes(o);
        var (code, err) = Run("vae", "train", "--synthetic", "--latent", "16", "--activation", "tanh", "--train-limit", "300", "--epochs", "2", "--resume", "--out", o, "--quiet");
        AssertOneLineError(code, err, 2, "--latent 16 (the run has 2)");
        Assert.That(err, Does.Contain("--activation tanh (the run has relu)").And.Contain("--train-limit 300 (the run has 200)"));
        Assert.That(Hashes(o), Is.EqualTo(before));
    }

    [Test]
    public void ResumeNeedsOnlyTheFolderAndIsBitIdentical()
    {
        string a = TrainGood("a", epochs: 2), b = TrainGood("b", epochs: 1);
        // No data set, data limits, sizes or seed on the command line: the run's record supplies them.
        var (code, err) = Run("vae", "train", "--epochs", "2", "--resume", "--out", b, "--quiet");
        Assert.That(code, Is.EqualTo(0), err);
        var ta = Engine.IO.SafeTensors.Load(Path.Combine(a, "model.safetensors")).Tensors;
        var tb = Engine.IO.SafeTensors.Load(Path.Combine(b, "model.safetensors")).Tensors;
        foreach (var (name, t) in ta) Assert.That(tb[name].ToFloatArray(), Is.EqualTo(t.ToFloatArray()), name);
        (code, err) = Run("vae", "train", "--synthetic", "--epochs", "2", "--resume", "--out", b, "--quiet");
        AssertOneLineError(code, err, 2, "has already trained 2 epochs");
    }

    [TestCase("metrics.json")]
    [TestCase("optimizer.safetensors")]
    [TestCase("samples.png")]
    public void AFolderWhoseFilesDisagreeIsRefused(string changed)
    {
        var o = TrainGood("run");
        File.AppendAllText(Path.Combine(o, changed), " ");
        var before = Hashes(o);
        foreach (var args in new[]
                 {
                     new[] { "vae", "eval", "--synthetic", "--test-limit", "10", "--k", "5", "--out", o, "--quiet" },
                     ["vae", "sample", "--out", o, "--quiet"],
                     ["vae", "train", "--synthetic", "--epochs", "2", "--resume", "--out", o, "--quiet"],
                 })
        {
            var (code, err) = Run(args);
            AssertOneLineError(code, err, 1, $"{changed} differs from the file manifest.json");
        }
        Assert.That(Hashes(o), Is.EqualTo(before));
    }

    [Test]
    public void AFolderWithoutItsManifestIsRefused()
    {
        var o = TrainGood("run");
        File.Delete(Path.Combine(o, "manifest.json"));
        var (code, err) = Run("vae", "sample", "--out", o, "--quiet");
        AssertOneLineError(code, err, 1, "no manifest.json");
    }

    [Test]
    public void ANewRunReplacesTheOldRunsFilesAndLeavesOthers()
    {
        var o = TrainGood("run");
        Assert.That(Run("vae", "sample", "--out", o, "--file", "extra.png", "--quiet").Code, Is.EqualTo(0));
        File.WriteAllText(Path.Combine(o, "notes.txt"), "mine");
        var (code, err) = Run("gmm", "fit", "--synthetic", "--train-limit", "300", "--test-limit", "50", "--components", "3", "--pca", "4", "--out", o, "--quiet");
        Assert.That(code, Is.EqualTo(0), err);
        Assert.That(File.Exists(Path.Combine(o, "model.safetensors")), Is.False, "the VAE run's files went with it");
        Assert.That(File.Exists(Path.Combine(o, "extra.png")), Is.False);
        Assert.That(File.ReadAllText(Path.Combine(o, "notes.txt")), Is.EqualTo("mine"), "files no run wrote are left alone");
        Assert.That(Run("gmm", "predict", "--synthetic", "--test-limit", "50", "--out", o, "--quiet").Code, Is.EqualTo(0));
    }

    [Test]
    public void AnInterruptedCommitIsFinishedAndAnUncommittedOneDiscarded()
    {
        var o = TrainGood("run");
        var before = Hashes(o);
        // A staging folder is what a process killed before its commit point leaves.
        var staging = Path.Combine(o, ".staging-1-abc");
        Directory.CreateDirectory(staging);
        File.WriteAllText(Path.Combine(staging, "model.safetensors"), "half");
        using (new RunDirectory(o)) { }
        Assert.That(Hashes(o), Is.EqualTo(before), "an uncommitted generation is discarded");

        // A commit folder with its manifest is what a process killed after its commit point leaves.
        string next;
        using (var run = new RunDirectory(o))
        {
            var g = run.Begin();
            File.WriteAllText(g.PathFor("samples.png"), "new");
            next = Path.GetDirectoryName(g.PathFor("samples.png"))!;
        }
        Assert.That(Directory.Exists(next), Is.True);
        int generation = (int)JsonNode.Parse(File.ReadAllText(Path.Combine(o, "manifest.json")))!["generation"]!;
        // Stage the manifest as Commit would, then stop just after the rename.
        File.WriteAllText(Path.Combine(next, "manifest.json"), File.ReadAllText(Path.Combine(o, "manifest.json"))
            .Replace(before["samples.png"].ToLowerInvariant(), Convert.ToHexStringLower(SHA256.HashData("new"u8.ToArray())))
            .Replace($"\"generation\": {generation}", $"\"generation\": {generation + 1}"));
        Directory.Move(next, Path.Combine(o, $".commit-{generation + 1}"));
        using (var run = new RunDirectory(o))
        {
            Assert.That(run.Generation, Is.EqualTo(generation + 1));
            run.Verify();
        }
        Assert.That(File.ReadAllText(Path.Combine(o, "samples.png")), Is.EqualTo("new"));
        Assert.That(Directory.GetDirectories(o), Is.Empty);
    }

    [Test]
    public void KilledMidTrainingTheFolderHoldsAWholeGenerationAndResumes()
    {
        var engine = Path.Combine(AppContext.BaseDirectory, "engine.dll");
        var o = Out("killed");
        var rng = new Random(7);
        int committed = 0;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            bool resume = File.Exists(Path.Combine(o, "manifest.json"));
            foreach (var a in (string[])["exec", engine, "vae", "train", .. Small, "--epochs", "1000", "--out", o, .. resume ? new[] { "--resume" } : []])
                psi.ArgumentList.Add(a);
            // Kill at a random moment soon after the next commit, so kills land in every phase of an epoch.
            string manifest = Path.Combine(o, "manifest.json");
            string Seen() { try { return File.ReadAllText(manifest); } catch (IOException) { return ""; } }
            string start = Seen();
            using var p = Process.Start(psi)!;
            var sw = Stopwatch.StartNew();
            while (Seen() == start && !p.HasExited && sw.Elapsed < TimeSpan.FromSeconds(120)) Thread.Sleep(10);
            Assert.That(p.HasExited, Is.False, () => $"the training process ended early: {p.StandardError.ReadToEnd()}");
            Thread.Sleep(rng.Next(600));
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            if (!File.Exists(Path.Combine(o, "manifest.json"))) continue;
            using var run = new RunDirectory(o);
            run.Verify();
            committed = run.ReadMetrics()!["epochs"]!.AsArray().Count;
            var (_, meta) = VaeCheckpoint.Load(run.File("model.safetensors"));
            Assert.That(meta["epoch"], Is.EqualTo(committed.ToString()), "weights and metrics are of the same epoch");
            Assert.That(Directory.GetDirectories(o), Is.Empty, "an interrupted commit is finished or discarded on opening");
        }
        Assert.That(committed, Is.GreaterThan(0), "at least one epoch was committed before the kills");
        var (code, err) = Run("vae", "train", "--synthetic", "--epochs", (committed + 1).ToString(), "--resume", "--out", o, "--quiet");
        Assert.That(code, Is.EqualTo(0), err);
    }

    [Test]
    public void DataFoldersThatAreMissingFilesOrUnreadableAreNamedAsSuch()
    {
        var (code, err) = Run("vae", "train", "--data", Out("nowhere"), "--out", Out("x"), "--quiet");
        AssertOneLineError(code, err, 2, "does not exist");
        var file = Out("file");
        File.WriteAllText(file, "x");
        (code, err) = Run("vae", "train", "--data", file, "--out", Out("x"), "--quiet");
        AssertOneLineError(code, err, 2, "is a file, not a folder");
        Assert.That(Directory.Exists(Out("x")), Is.False, "a failed command creates no run folder");
        // Root reads every folder, and Windows has no Unix modes: there the permission case cannot be provoked.
        if (OperatingSystem.IsWindows() || Environment.UserName == "root") return;
        var locked = Directory.CreateDirectory(Out("locked")).FullName;
        File.SetUnixFileMode(locked, UnixFileMode.None);
        try
        {
            (code, err) = Run("vae", "train", "--data", locked, "--out", Out("x"), "--quiet");
            AssertOneLineError(code, err, 2, "cannot be read");
        }
        finally { File.SetUnixFileMode(locked, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute); }
    }

    [TestCase("full")]
    [TestCase("tied")]
    public void GmmFitGivesTheSameBitsOnOneAndTwoThreads(string covariance)
    {
        string[] fit = ["gmm", "fit", "--synthetic", "--train-limit", "3000", "--test-limit", "100", "--components", "6", "--pca", "20", "--covariance", covariance, "--quiet"];
        var (c1, e1) = Run([.. fit, "--threads", "1", "--out", Out("one")]);
        Assert.That(c1, Is.EqualTo(0), e1);
        if (Environment.ProcessorCount < 2) Assert.Ignore("One processor: --threads 2 is rejected here.");
        var (c2, e2) = Run([.. fit, "--threads", "2", "--out", Out("two")]);
        Assert.That(c2, Is.EqualTo(0), e2);
        string Iterations(string run) => JsonNode.Parse(File.ReadAllText(Path.Combine(Out(run), "metrics.json")))!["iterations"]!.ToJsonString();
        Assert.That(Iterations("two"), Is.EqualTo(Iterations("one")), "every EM iteration's log-likelihood, to the last digit");
        Assert.That(File.ReadAllBytes(Path.Combine(Out("two"), "gmm.safetensors")), Is.EqualTo(File.ReadAllBytes(Path.Combine(Out("one"), "gmm.safetensors"))));
    }

    [Test]
    public void AnUnavailableGpuIsNamedOnce()
    {
        if (Engine.Devices.IlgpuDevice.IsAvailable(Engine.Devices.IlgpuKind.Cuda) || Engine.Devices.IlgpuDevice.IsAvailable(Engine.Devices.IlgpuKind.OpenCL))
            Assert.Ignore("A GPU is present: the error path cannot be provoked here.");
        var (code, err) = Run(["vae", "train", .. Small, "--device", "gpu", "--out", Out("x")]);
        AssertOneLineError(code, err, 1, "--device gpu: no GPU found");
        Assert.That(err.Split("--device gpu").Length, Is.EqualTo(2), "the option is named once");
    }
}
