using Engine.Models.Data;
using Engine.Models.Vae;

namespace Engine.Tests.Models;

/// <summary>
/// The VAE and its trainer end to end on small synthetic image sets: 4x4 images made of four prototype
/// patterns, with bit-flip noise (binary, Bernoulli decoder) or Gaussian noise (continuous, Gaussian decoder).
/// Their entropy is known, which bounds the best achievable ELBO and makes "training helps" measurable.
/// </summary>
[TestFixture]
public class VaeTests
{
    private const double Z = 4.5;
    private const int Side = 4, Pixels = Side * Side, Prototypes = 4;
    private const double FlipProbability = 0.05, NoiseStd = 0.1;

    private static readonly bool[][] s_prototypes = MakePrototypes();

    private static bool[][] MakePrototypes()
    {
        // Top half, left half, the diagonal band and a checkerboard: far apart in Hamming distance.
        var p = new bool[Prototypes][];
        for (int k = 0; k < Prototypes; k++) p[k] = new bool[Pixels];
        for (int r = 0; r < Side; r++)
            for (int c = 0; c < Side; c++)
            {
                int i = r * Side + c;
                p[0][i] = r < Side / 2;
                p[1][i] = c < Side / 2;
                p[2][i] = Math.Abs(r - c) <= 1;
                p[3][i] = (r + c) % 2 == 0;
            }
        return p;
    }

    /// <summary>n images: a uniformly chosen prototype, each pixel flipped with probability 0.05 (binary), or
    /// 0.1 / 0.9 plus N(0, 0.1^2) noise (continuous). Labels are the prototypes.</summary>
    private static ImageDataSet MakeData(int n, int seed, bool binary)
    {
        var rng = new Random(seed);
        var px = new float[n * Pixels];
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            int k = rng.Next(Prototypes);
            labels[i] = k;
            for (int j = 0; j < Pixels; j++)
            {
                bool on = s_prototypes[k][j];
                if (binary) px[i * Pixels + j] = on ^ (rng.NextDouble() < FlipProbability) ? 1f : 0f;
                else
                {
                    double g = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
                    px[i * Pixels + j] = (float)((on ? 0.9 : 0.1) + NoiseStd * g);
                }
            }
        }
        return new ImageDataSet(px, n, Side, Side, labels, binary ? "synthetic-binary" : "synthetic-gaussian");
    }

    /// <summary>The entropy of the data distribution in nats (prototypes are far enough apart that the mixture's
    /// entropy is log K plus the noise's, to well under 0.01 nats): no model's expected log-likelihood exceeds -H.</summary>
    private static double DataEntropy(bool binary)
    {
        double noise = binary
            ? -Pixels * (FlipProbability * Math.Log(FlipProbability) + (1 - FlipProbability) * Math.Log(1 - FlipProbability))
            : Pixels * 0.5 * Math.Log(2 * Math.PI * Math.E * NoiseStd * NoiseStd);
        return Math.Log(Prototypes) + noise;
    }

    private static VaeOptions Options(DecoderKind decoder) => new()
    {
        InputSize = Pixels,
        Hidden = [32],
        LatentSize = 2,
        Decoder = decoder,
    };

    private static TrainingOptions Training(ObjectiveOptions? objective = null, Binarization binarization = Binarization.None) => new()
    {
        BatchSize = 32,
        LearningRate = 1e-2,
        Binarization = binarization,
        Objective = objective ?? new ObjectiveOptions(),
        Seed = 3,
        EvalBatchSize = 256,
    };

    private static (VariationalAutoencoder Model, VaeTrainer Trainer) Make(DecoderKind decoder, TrainingOptions training, ulong initSeed = 1)
    {
        var model = new VariationalAutoencoder(Options(decoder), new Generator(initSeed));
        return (model, new VaeTrainer(model, training));
    }

    private static float[] Flat(VariationalAutoencoder m) => m.Parameters().SelectMany(p => p.ToFloatArray()).ToArray();

    // ------------------------------------------------------------------ training improves the ELBO

    [TestCase(DecoderKind.Bernoulli, true)]
    [TestCase(DecoderKind.Gaussian, false)]
    public void TrainingImprovesTheTestElboSubstantially(DecoderKind decoder, bool binary)
    {
        var train = MakeData(1024, 1, binary);
        var test = MakeData(256, 2, binary);
        var (model, trainer) = Make(decoder, Training(binarization: binary ? Binarization.Static : Binarization.None));
        double before = trainer.EvaluateElbo(test);
        EpochResult? last = null;
        for (int e = 0; e < 6; e++)
        {
            last = trainer.TrainEpoch(train, test, e);
            TestContext.Out.WriteLine($"epoch {e}: train {last.TrainObjective:F3}, test ELBO {last.TestElbo:F3}, {last.SamplesPerSecond:F0} samples/s");
            Assert.That(double.IsFinite(last.TrainObjective) && double.IsFinite(last.TestElbo), Is.True);
        }
        double after = last!.TestElbo;
        double best = -DataEntropy(binary);
        TestContext.Out.WriteLine($"{decoder}: untrained {before:F3}, trained {after:F3}, best achievable about {best:F3} nats");
        // The margin: training must close at least three quarters of the gap between the untrained model and the data's
        // own entropy bound, the best any model can do in expectation.
        Assert.That(after - before, Is.GreaterThan(0.75 * (best - before)), $"untrained {before:F3}, trained {after:F3}, bound {best:F3}");
        Assert.That(trainer.EvaluateElbo(test), Is.EqualTo(after), "evaluation is deterministic");
    }

    [Test]
    public void ImportanceSampledLogLikelihoodOfTrainedVaeLiesAboveItsElbo()
    {
        var train = MakeData(512, 1, binary: true);
        var (model, trainer) = Make(DecoderKind.Bernoulli, Training(binarization: Binarization.Static));
        for (int e = 0; e < 3; e++) trainer.TrainEpoch(train, null, e);
        var x = Tensor.FromArray(MakeData(200, 4, binary: true).Pixels, 200, Pixels);
        double[] elbo, ll;
        using (Engine.Autograd.GradMode.NoGrad())
            elbo = Estimators.Elbo(model, x, new Generator(5), k: 64).ToDoubleArray();
        ll = Estimators.LogLikelihood(model, x, new Generator(6), k: 500);
        // L_500 >= ELBO in expectation, per data point (both estimated with many draws, so the estimates' own noise
        // is small next to the per-point gaps): the paired differences are significantly positive.
        var diff = Stats.Of(ll.Zip(elbo, (a, b) => a - b).ToArray());
        TestContext.Out.WriteLine($"log p-hat(x) - ELBO: {diff}");
        Assert.That(diff.Mean, Is.GreaterThan(Z * diff.Se));
        Assert.That(ll.All(double.IsFinite), Is.True);
    }

    // ------------------------------------------------------------------ reproducibility and persistence

    [Test]
    public void SameSeedGivesBitIdenticalParametersAndMetrics()
    {
        var train = MakeData(256, 1, binary: true);
        var test = MakeData(64, 2, binary: true);
        var opt = Training(new ObjectiveOptions(Objective.ImportanceWeighted, 3, GradientEstimator.DoublyReparameterized), Binarization.Dynamic);
        var runs = new List<(float[] Params, double[] Metrics)>();
        for (int run = 0; run < 2; run++)
        {
            var (model, trainer) = Make(DecoderKind.Bernoulli, opt);
            var metrics = new List<double>();
            for (int e = 0; e < 2; e++)
            {
                var r = trainer.TrainEpoch(train, test, e);
                metrics.Add(r.TrainObjective);
                metrics.Add(r.TestElbo);
            }
            runs.Add((Flat(model), metrics.ToArray()));
        }
        Assert.That(runs[1].Params, Is.EqualTo(runs[0].Params), "parameters");
        Assert.That(runs[1].Metrics, Is.EqualTo(runs[0].Metrics), "metrics");

        // Another seed gives another run (the test is not vacuous).
        var (m3, t3) = Make(DecoderKind.Bernoulli, opt with { Seed = 4 });
        t3.TrainEpoch(train, null, 0);
        t3.TrainEpoch(train, null, 1);
        Assert.That(Flat(m3), Is.Not.EqualTo(runs[0].Params));
    }

    [Test]
    public void ResumingFromACheckpointAtAnEpochBoundaryContinuesExactly()
    {
        // The noise and shuffling of epoch e depend on (seed, e) only: a fresh model and trainer restored from
        // epoch 0's weights and Adam state reproduce the uninterrupted run's epoch 1 bit for bit.
        var train = MakeData(128, 1, binary: true);
        var test = MakeData(32, 2, binary: true);
        var opt = Training(binarization: Binarization.Dynamic);
        var (a, ta) = Make(DecoderKind.Bernoulli, opt);
        ta.TrainEpoch(train, null, 0);
        var weights = Path.Combine(Path.GetTempPath(), $"vae-{Guid.NewGuid():N}.safetensors");
        var state = Path.Combine(Path.GetTempPath(), $"adam-{Guid.NewGuid():N}.safetensors");
        try
        {
            a.Save(weights);
            ta.Optimizer.SaveState(state);
            var r1 = ta.TrainEpoch(train, test, 1);

            var (b, tb) = Make(DecoderKind.Bernoulli, opt, initSeed: 42);
            b.Load(weights);
            tb.Optimizer.LoadState(state);
            Assert.That(tb.Optimizer.StepCount, Is.EqualTo(train.Count / opt.BatchSize));
            var r1b = tb.TrainEpoch(train, test, 1);
            Assert.That(r1b.TrainObjective, Is.EqualTo(r1.TrainObjective));
            Assert.That(r1b.TestElbo, Is.EqualTo(r1.TestElbo));
            Assert.That(Flat(b), Is.EqualTo(Flat(a)));
        }
        finally
        {
            File.Delete(weights);
            File.Delete(state);
        }
    }

    [TestCase(DecoderKind.Bernoulli)]
    [TestCase(DecoderKind.Gaussian)]
    public void SaveLoadRoundTripRestoresIdenticalOutputs(DecoderKind decoder)
    {
        var train = MakeData(128, 1, binary: decoder == DecoderKind.Bernoulli);
        var (model, trainer) = Make(decoder, Training());
        trainer.TrainEpoch(train, null, 0);
        var path = Path.Combine(Path.GetTempPath(), $"vae-{Guid.NewGuid():N}.safetensors");
        try
        {
            model.Save(path, new Dictionary<string, string> { ["note"] = "round trip" });
            var copy = new VariationalAutoencoder(Options(decoder), new Generator(99)); // other initial weights
            Assert.That(Flat(copy), Is.Not.EqualTo(Flat(model)));
            var meta = copy.Load(path);
            Assert.That(meta["note"], Is.EqualTo("round trip"));
            Assert.That(Flat(copy), Is.EqualTo(Flat(model)));
            Assert.That(copy.NamedParameters().Select(p => p.Name), Is.EqualTo(model.NamedParameters().Select(p => p.Name)));

            var x = Tensor.FromArray(train.Pixels.AsSpan(0, 8 * Pixels).ToArray(), 8, Pixels);
            using var _ = Engine.Autograd.GradMode.NoGrad();
            var q1 = (Engine.Models.Distributions.Normal)model.Posterior(x);
            var q2 = (Engine.Models.Distributions.Normal)copy.Posterior(x);
            Assert.That(q2.Mean.ToFloatArray(), Is.EqualTo(q1.Mean.ToFloatArray()));
            Assert.That(q2.LogVariance.ToFloatArray(), Is.EqualTo(q1.LogVariance.ToFloatArray()));
            Assert.That(copy.DecodeMean(q2.Mean).ToFloatArray(), Is.EqualTo(model.DecodeMean(q1.Mean).ToFloatArray()));
            Assert.That(Estimators.Elbo(copy, x, new Generator(7)).ToFloatArray(), Is.EqualTo(Estimators.Elbo(model, x, new Generator(7)).ToFloatArray()));

            // A model of another architecture refuses the file, naming the tensor and both shapes.
            var other = new VariationalAutoencoder(Options(decoder) with { Hidden = [8] }, new Generator(1));
            var ex = Assert.Throws<InvalidDataException>(() => other.Load(path));
            Assert.That(ex!.Message, Does.Contain(path).And.Contain("encoder.0.weight").And.Contain("[32, 16]").And.Contain("[8, 16]"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    // ------------------------------------------------------------------ every objective and estimator trains

    private static IEnumerable<TestCaseData> Combinations()
    {
        var objectives = new[] { (Objective.Elbo, 1), (Objective.ElboMonteCarlo, 3), (Objective.ImportanceWeighted, 5) };
        foreach (var (o, k) in objectives)
            foreach (var e in Enum.GetValues<GradientEstimator>())
                yield return new TestCaseData(o, k, e).SetName($"EveryObjectiveAndEstimatorTrains({o}, k={k}, {e})");
    }

    [TestCaseSource(nameof(Combinations))]
    public void EveryObjectiveAndEstimatorTrains(Objective objective, int k, GradientEstimator estimator)
    {
        var train = MakeData(128, 1, binary: true);
        var test = MakeData(64, 2, binary: true);
        var (model, trainer) = Make(DecoderKind.Bernoulli, Training(new ObjectiveOptions(objective, k, estimator)));
        var before = Flat(model);
        var r = trainer.TrainEpoch(train, test, 0);
        Assert.That(double.IsFinite(r.TrainObjective), Is.True, $"train objective {r.TrainObjective}");
        Assert.That(double.IsFinite(r.TestElbo), Is.True, $"test ELBO {r.TestElbo}");
        Assert.That(r.TrainObjective, Is.LessThan(0), "a log-likelihood bound of binary data is negative");
        var after = Flat(model);
        Assert.That(after.All(float.IsFinite), Is.True);
        Assert.That(after, Is.Not.EqualTo(before), "the parameters moved");
        foreach (var p in model.Parameters()) Assert.That(p.Grad, Is.Not.Null, "every parameter received a gradient");
    }

    // ------------------------------------------------------------------ bad inputs

    [Test]
    public void WrongInputSizesThrowArgumentExceptionsNamingTheShape()
    {
        var model = new VariationalAutoencoder(Options(DecoderKind.Bernoulli), new Generator(1));
        var ex = Assert.Throws<ArgumentException>(() => model.Posterior(Tensor.Zeros(4, 15)));
        Assert.That(ex!.Message, Does.Contain("[4, 15]").And.Contain("16"));
        ex = Assert.Throws<ArgumentException>(() => Estimators.Elbo(model, Tensor.Zeros(4, 15), new Generator(1)));
        Assert.That(ex!.Message, Does.Contain("[4, 15]"));
        ex = Assert.Throws<ArgumentException>(() => model.Likelihood(Tensor.Zeros(3, 4, 5)));
        Assert.That(ex!.Message, Does.Contain("[3, 4, 5]").And.Contain("2"));
        ex = Assert.Throws<ArgumentException>(() => Estimators.LogLikelihood(model, Tensor.Zeros(2, 3, 16), new Generator(1), 10));
        Assert.That(ex!.Message, Does.Contain("[2, 3, 16]"));

        var trainer = new VaeTrainer(model, Training());
        var wrong = new ImageDataSet(new float[10 * 25], 10, 5, 5, null, "five-by-five");
        ex = Assert.Throws<ArgumentException>(() => trainer.TrainEpoch(wrong, null, 0));
        Assert.That(ex!.Message, Does.Contain("five-by-five").And.Contain("25").And.Contain("16"));
        ex = Assert.Throws<ArgumentException>(() => trainer.EvaluateElbo(wrong));
        Assert.That(ex!.Message, Does.Contain("five-by-five"));
    }

    [Test]
    public void InvalidOptionsAreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new VariationalAutoencoder(Options(DecoderKind.Bernoulli) with { LatentSize = 0 }, new Generator(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new VariationalAutoencoder(Options(DecoderKind.Bernoulli) with { InputSize = -1 }, new Generator(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new VariationalAutoencoder(Options(DecoderKind.Bernoulli) with { Hidden = [8, 0] }, new Generator(1)));
        var model = new VariationalAutoencoder(Options(DecoderKind.Bernoulli), new Generator(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new VaeTrainer(model, Training() with { Epochs = -1 }));
        var x = Tensor.Zeros(2, Pixels);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Estimators.Loss(model, x, new Generator(1), new ObjectiveOptions(Objective.ImportanceWeighted, 0)));
        Assert.That(ex!.Message, Does.Contain("0"));
        Assert.Throws<ArgumentOutOfRangeException>(() => Estimators.ImportanceWeightedBound(model, x, new Generator(1), 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Estimators.LogLikelihood(model, x, new Generator(1), 0));
    }

    [Test]
    public void GaussianDecoderLogVarianceRespectsItsFloor()
    {
        var model = new VariationalAutoencoder(Options(DecoderKind.Gaussian) with { MinDecoderLogVariance = -3 }, new Generator(2));
        // Latents far out drive the raw outputs to large magnitudes; the soft floor still holds.
        var z = Tensor.FromArray(new float[] { 0, 0, 50, -50, -80, 30 }, 3, 2);
        var p = (Engine.Models.Distributions.Normal)model.Likelihood(z);
        Assert.That(p.Shape, Is.EqualTo(new Shape(3, Pixels)));
        Assert.That(p.LogVariance.ToDoubleArray().Min(), Is.GreaterThanOrEqualTo(-3));
    }
}
