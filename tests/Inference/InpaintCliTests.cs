using System.Text.Json.Nodes;
using Engine.Cli;

namespace Engine.Tests.Inference;

/// <summary>`vae inpaint` in-process on the synthetic images: the files it writes and the numbers in them.</summary>
[Category("EndToEnd")]
[NonParallelizable]
public class InpaintCliTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("engine-inpaint").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void InpaintWritesAGridAndMetrics()
    {
        string[] data = ["--synthetic", "--train-limit", "600", "--quiet"];
        Assert.That(CliApp.Run(["vae", "train", .. data, "--test-limit", "100", "--hidden", "64", "--latent", "4", "--batch-size", "50", "--epochs", "3", "--out", _dir]), Is.EqualTo(0));
        Assert.That(CliApp.Run(["vae", "inpaint", .. data, "--test-limit", "40", "--k", "50", "--steps", "30", "--count", "4", "--out", _dir]), Is.EqualTo(0));

        var png = Path.Combine(_dir, "inpaint.png");
        Assert.That(File.ReadAllBytes(png).Take(4).ToArray(), Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47 }));
        var metrics = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, "metrics.json")))!.AsObject();
        Assert.That((string)metrics["command"]!, Is.EqualTo("vae train"), "the training metrics are kept");
        var m = metrics["inpaint"]!.AsObject();
        Assert.That((string)m["region"]!, Is.EqualTo("top"));
        Assert.That((double)m["missing_pixels_per_image"]!, Is.EqualTo(14 * 28));
        Assert.That((int)m["images"]!, Is.EqualTo(40));
        double logObs = (double)m["log_p_x_obs"]!, optimized = (double)m["elbo_optimized"]!, encoder = (double)m["elbo_encoder"]!;
        Assert.That(logObs, Is.LessThan(0).And.GreaterThan(optimized - 1), "log p(x_obs) lies above the ELBO");
        Assert.That(optimized, Is.GreaterThan(encoder));
        Assert.That((double)m["filled_accuracy"]!, Is.InRange(0.0, 1.0));
        foreach (var method in new[] { "per_data_point", "encoder", "factorized_pixels", "pixel_mean" })
            Assert.That((double)m["fill"]![method]!["accuracy"]!, Is.InRange(0.0, 1.0), method);
    }

    [Test]
    public void ABadRegionIsAUserError()
    {
        var old = Console.Error;
        var err = new StringWriter();
        Console.SetError(err);
        try
        {
            Assert.That(CliApp.Run(["vae", "train", "--synthetic", "--train-limit", "100", "--test-limit", "50", "--hidden", "16", "--latent", "2", "--epochs", "1", "--quiet", "--out", _dir]), Is.EqualTo(0));
            Assert.That(CliApp.Run(["vae", "inpaint", "--synthetic", "--train-limit", "100", "--region", "middle", "--quiet", "--out", _dir]), Is.EqualTo(2));
            Assert.That(err.ToString(), Does.Contain("--region").And.Contain("middle"));
        }
        finally { Console.SetError(old); }
    }
}
