using System.Text.Json.Nodes;
using Engine.Cli;
using Engine.IO;

namespace Engine.Tests.EndToEnd;

/// <summary>The CLI's commands run in-process on small data; the files they write and the numbers in them are checked.</summary>
[Category("EndToEnd")]
[NonParallelizable]
public class CliTests
{
    private string _dir = null!;
    private static readonly string[] Small = ["--synthetic", "--train-limit", "400", "--test-limit", "100", "--hidden", "32", "--latent", "2", "--batch-size", "50", "--quiet"];

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("engine-cli").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static int Run(params string[] args) => CliApp.Run(args);

    private static (int Code, string Err) RunCapturingErrors(params string[] args)
    {
        var old = Console.Error;
        var sw = new StringWriter();
        Console.SetError(sw);
        try { return (CliApp.Run(args), sw.ToString()); }
        finally { Console.SetError(old); }
    }

    private string Out(string name) => Path.Combine(_dir, name);

    private static void AssertPng(string path)
    {
        Assert.That(File.Exists(path), Is.True, path);
        var head = File.ReadAllBytes(path).Take(8).ToArray();
        Assert.That(head, Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), $"{path} is a PNG");
    }

    [Test]
    public void TrainWritesMetricsCheckpointsAndPictures()
    {
        var o = Out("run");
        Assert.That(Run(["vae", "train", .. Small, "--epochs", "2", "--out", o]), Is.EqualTo(0));
        var m = JsonNode.Parse(File.ReadAllText(Path.Combine(o, "metrics.json")))!.AsObject();
        Assert.That((string)m["command"]!, Is.EqualTo("vae train"));
        Assert.That((string)m["dataset"]!, Is.EqualTo("synthetic"));
        Assert.That((ulong)m["seed"]!, Is.EqualTo(0UL));
        var epochs = m["epochs"]!.AsArray();
        Assert.That(epochs, Has.Count.EqualTo(2));
        foreach (var e in epochs)
        {
            foreach (var key in new[] { "epoch", "train_elbo", "test_elbo", "seconds", "samples_per_second" })
                Assert.That(e![key], Is.Not.Null, key);
            Assert.That((double)e!["test_elbo"]!, Is.LessThan(0).And.GreaterThan(-1000));
        }
        Assert.That((double)epochs[1]!["train_elbo"]!, Is.GreaterThan((double)epochs[0]!["train_elbo"]!), "the ELBO improves");
        var (tensors, meta) = SafeTensors.Load(Path.Combine(o, "model.safetensors"));
        Assert.That(meta["epoch"], Is.EqualTo("2"));
        Assert.That(tensors.Keys, Does.Contain("encoder.0.weight").And.Contain("decoder.1.bias"));
        Assert.That(File.Exists(Path.Combine(o, "optimizer.safetensors")));
        foreach (var png in new[] { "samples.png", "reconstructions.png", "elbo.png", "latent.png" }) AssertPng(Path.Combine(o, png));
    }

    [Test]
    public void ResumeIsBitIdenticalToAnUninterruptedRun()
    {
        string a = Out("a"), b = Out("b");
        Assert.That(Run(["vae", "train", .. Small, "--epochs", "2", "--out", a]), Is.EqualTo(0));
        Assert.That(Run(["vae", "train", .. Small, "--epochs", "1", "--out", b]), Is.EqualTo(0));
        Assert.That(Run(["vae", "train", .. Small, "--epochs", "2", "--resume", "--out", b]), Is.EqualTo(0));
        var ta = SafeTensors.Load(Path.Combine(a, "model.safetensors")).Tensors;
        var tb = SafeTensors.Load(Path.Combine(b, "model.safetensors")).Tensors;
        foreach (var (name, t) in ta) Assert.That(tb[name].ToFloatArray(), Is.EqualTo(t.ToFloatArray()), name);
        var ma = JsonNode.Parse(File.ReadAllText(Path.Combine(a, "metrics.json")))!["epochs"]!.AsArray();
        var mb = JsonNode.Parse(File.ReadAllText(Path.Combine(b, "metrics.json")))!["epochs"]!.AsArray();
        Assert.That(mb, Has.Count.EqualTo(2));
        for (int i = 0; i < 2; i++)
            Assert.That((double)mb[i]!["train_elbo"]!, Is.EqualTo((double)ma[i]!["train_elbo"]!), $"epoch {i + 1}");
    }

    [Test]
    public void EvalSampleAndReconstructUseTheCheckpoint()
    {
        var o = Out("run");
        Assert.That(Run(["vae", "train", .. Small, "--epochs", "1", "--out", o]), Is.EqualTo(0));
        Assert.That(Run(["vae", "eval", "--synthetic", "--test-limit", "20", "--k", "50", "--naive-k", "50", "--out", o, "--quiet"]), Is.EqualTo(0));
        var test = JsonNode.Parse(File.ReadAllText(Path.Combine(o, "metrics.json")))!["test"]!;
        double elbo = (double)test["elbo"]!, ll = (double)test["log_likelihood"]!;
        Assert.That((int)test["k"]!, Is.EqualTo(50));
        Assert.That(ll, Is.GreaterThan(elbo - 1), "importance sampling is (nearly) above the ELBO");
        Assert.That((double)test["naive_log_likelihood"]!, Is.LessThan(0));
        Assert.That(Run(["vae", "sample", "--out", o, "--count", "9", "--quiet"]), Is.EqualTo(0));
        AssertPng(Path.Combine(o, "samples.png"));
        Assert.That(Run(["vae", "reconstruct", "--synthetic", "--out", o, "--count", "4", "--file", "r.png", "--quiet"]), Is.EqualTo(0));
        AssertPng(Path.Combine(o, "r.png"));
    }

    [Test]
    public void MissingDataDirectoryIsOneClearError()
    {
        var (code, err) = RunCapturingErrors("vae", "train", "--data", Out("nowhere"), "--out", Out("x"), "--quiet");
        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(err, Does.Contain("nowhere"));
        Assert.That(err.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(Directory.Exists(Out("x")) && File.Exists(Path.Combine(Out("x"), "metrics.json")), Is.False);
    }

    [TestCase("--epochs", "-1", "--epochs")]
    [TestCase("--decoder", "poisson", "--decoder")]
    [TestCase("--objective", "kl", "--objective")]
    [TestCase("--estimator", "magic", "--estimator")]
    [TestCase("--hidden", "10,x", "--hidden")]
    [TestCase("--lr", "0", "--lr")]
    public void NonsenseOptionValuesNameTheOption(string option, string value, string named)
    {
        var (code, err) = RunCapturingErrors(["vae", "train", .. Small, option, value, "--out", Out("x")]);
        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(err, Does.Contain(named));
    }

    [Test]
    public void CorruptCheckpointIsReportedAndNothingIsOverwritten()
    {
        var o = Out("run");
        Directory.CreateDirectory(o);
        var model = Path.Combine(o, "model.safetensors");
        File.WriteAllBytes(model, [1, 2, 3]);
        var (code, err) = RunCapturingErrors("vae", "sample", "--out", o, "--quiet");
        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(err, Does.Contain("model.safetensors"));
        Assert.That(File.ReadAllBytes(model), Is.EqualTo(new byte[] { 1, 2, 3 }));
        Assert.That(File.Exists(Path.Combine(o, "samples.png")), Is.False);
    }

    [Test]
    public void GmmFitAndPredictWriteMetricsModelAndPictures()
    {
        var o = Out("gmm");
        Assert.That(Run("gmm", "fit", "--synthetic", "--train-limit", "1000", "--test-limit", "200", "--components", "10", "--pca", "8", "--out", o, "--quiet"), Is.EqualTo(0));
        var m = JsonNode.Parse(File.ReadAllText(Path.Combine(o, "metrics.json")))!.AsObject();
        var its = m["iterations"]!.AsArray();
        Assert.That(its, Is.Not.Empty);
        for (int i = 1; i < its.Count; i++)
            Assert.That((double)its[i]!["log_likelihood"]!, Is.GreaterThanOrEqualTo((double)its[i - 1]!["log_likelihood"]! - 1e-9), "EM never lowers the likelihood");
        Assert.That(m["converged"], Is.Not.Null);
        Assert.That(double.IsFinite((double)m["bic"]!));
        Assert.That((double)m["adjusted_rand_index"]!, Is.GreaterThan(0.3), "the synthetic shapes cluster by class");
        foreach (var png in new[] { "gmm_means.png", "gmm_samples.png", "gmm_log_likelihood.png" }) AssertPng(Path.Combine(o, png));
        Assert.That(Run("gmm", "predict", "--synthetic", "--test-limit", "200", "--out", o, "--quiet"), Is.EqualTo(0));
        var pred = JsonNode.Parse(File.ReadAllText(Path.Combine(o, "metrics.json")))!["predict"]!;
        Assert.That((double)pred["adjusted_rand_index"]!, Is.EqualTo((double)m["test_adjusted_rand_index"]!).Within(1e-12), "the saved mixture predicts as the fitted one");
        Assert.That(File.ReadAllLines(Path.Combine(o, "predictions.csv")), Has.Length.EqualTo(201));
    }

    [Test]
    public void GmmNonsenseOptionsNameTheOption()
    {
        var (code, err) = RunCapturingErrors("gmm", "fit", "--synthetic", "--covariance", "banana", "--out", Out("g"));
        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(err, Does.Contain("--covariance"));
        (code, err) = RunCapturingErrors("gmm", "predict", "--synthetic", "--out", Out("none"));
        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(err, Does.Contain("gmm.safetensors"));
    }

    [Test]
    public void TrainingOnTheIlgpuDeviceGivesTheCpusElbo()
    {
        // ILGPU's CPU accelerator simulates every GPU thread, so the model stays tiny; the numbers must match the CPU's.
        string[] tiny = ["vae", "train", "--synthetic", "--train-limit", "100", "--test-limit", "50", "--hidden", "8", "--latent", "2", "--batch-size", "50", "--epochs", "1", "--quiet"];
        var (c0, e0) = RunCapturingErrors([.. tiny, "--out", Out("cpu")]);
        Assert.That(c0, Is.EqualTo(0), e0);
        Assert.That(Run([.. tiny, "--device", "ilgpu-cpu", "--out", Out("dev")]), Is.EqualTo(0));
        JsonObject Metrics(string run) => JsonNode.Parse(File.ReadAllText(Path.Combine(Out(run), "metrics.json")))!.AsObject();
        var (cpu, dev) = (Metrics("cpu"), Metrics("dev"));
        Assert.That((string)cpu["device"]!, Is.EqualTo("cpu"));
        Assert.That((string)dev["device"]!, Is.EqualTo("ilgpu-cpu"));
        foreach (var key in new[] { "train_elbo", "test_elbo" })
            Assert.That((double)dev["epochs"]![0]![key]!, Is.EqualTo((double)cpu["epochs"]![0]![key]!).Within(1e-4).Percent, key);
        AssertPng(Path.Combine(Out("dev"), "samples.png"));
    }

    [Test]
    public void AnUnavailableDeviceIsAnErrorNotAFallback()
    {
        if (Engine.Devices.IlgpuDevice.IsAvailable(Engine.Devices.IlgpuKind.Cuda) || Engine.Devices.IlgpuDevice.IsAvailable(Engine.Devices.IlgpuKind.OpenCL))
            Assert.Ignore("A GPU is present: the error path cannot be provoked here.");
        var (code, err) = RunCapturingErrors(["vae", "train", .. Small, "--device", "gpu", "--out", Out("x")]);
        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(err, Does.Contain("--device gpu"));
        var (code2, err2) = RunCapturingErrors(["vae", "train", .. Small, "--device", "tpu", "--out", Out("y")]);
        Assert.That(code2, Is.Not.EqualTo(0));
        Assert.That(err2, Does.Contain("--device tpu"));
    }

    [Test]
    public void ResumeWithoutARunSaysSo()
    {
        var (code, err) = RunCapturingErrors(["vae", "train", .. Small, "--resume", "--out", Out("empty")]);
        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(err, Does.Contain("--resume"));
    }

    [Test]
    public void TrainsOnFashionMnist()
    {
        var dir = DataRequirement.FashionMnistDir();
        var o = Out("fm");
        Assert.That(Run("vae", "train", "--data", dir, "--train-limit", "2000", "--test-limit", "200", "--epochs", "1", "--hidden", "64", "--latent", "4", "--out", o, "--quiet"), Is.EqualTo(0));
        var m = JsonNode.Parse(File.ReadAllText(Path.Combine(o, "metrics.json")))!.AsObject();
        Assert.That((string)m["dataset"]!, Is.EqualTo("fashion-mnist"));
        Assert.That((double)m["epochs"]![0]!["test_elbo"]!, Is.LessThan(0).And.GreaterThan(-600));
        AssertPng(Path.Combine(o, "latent.png"));
    }
}
