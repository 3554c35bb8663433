using Engine.Optim;

namespace Engine.Tests.Core;

/// <summary>
/// A 2-hidden-1 tanh MLP on XOR, built by hand from leaf tensors, shared by the optimizer and scope tests.
/// </summary>
internal sealed class XorMlp
{
    public readonly Tensor W1, B1, W2, B2;
    public readonly Tensor X, Y;

    public XorMlp(ulong seed, int hidden = 8)
    {
        var gen = new Generator(seed);
        W1 = Tensor.RandNormal(new Shape(hidden, 2), gen, 0, 1.0).RequireGrad();
        B1 = Tensor.Zeros(hidden).RequireGrad();
        W2 = Tensor.RandNormal(new Shape(1, hidden), gen, 0, 1.0 / Math.Sqrt(hidden)).RequireGrad();
        B2 = Tensor.Zeros(1).RequireGrad();
        X = Tensor.FromArray(new float[] { 0, 0, 0, 1, 1, 0, 1, 1 }, 4, 2);
        Y = Tensor.FromArray(new float[] { 0, 1, 1, 0 }, 4, 1);
    }

    /// <summary>Parameters copied from a snapshot (same order as <see cref="Parameters"/>).</summary>
    public XorMlp(float[][] snapshot, int hidden = 8) : this(0, hidden)
    {
        var ps = Parameters;
        for (int i = 0; i < ps.Length; i++) ps[i].CopyFrom<float>(snapshot[i]);
    }

    public Tensor[] Parameters => [W1, B1, W2, B2];

    public float[][] Snapshot() => Parameters.Select(p => p.ToFloatArray()).ToArray();

    public Tensor Logits() => Tensor.Linear(Tensor.Linear(X, W1, B1).Tanh(), W2, B2);

    /// <summary>Mean binary cross-entropy of the four XOR cases (a scalar).</summary>
    public Tensor Loss() => Tensor.BceWithLogits(Logits(), Y).Mean();

    /// <summary>One scoped training step; returns the loss before the update.</summary>
    public double Step(Optimizer opt)
    {
        using var scope = TensorScope.Begin();
        opt.ZeroGrad();
        var loss = Loss();
        loss.Backward();
        opt.Step();
        return loss.Item();
    }

    /// <summary>
    /// A loss through more kinds of op: mean squared error of the sigmoid, an L2 penalty, a softmax term, a
    /// reshape, a slice and a division.
    /// </summary>
    public Tensor BroadLoss()
    {
        var p = Logits().Sigmoid();
        var mse = (p - Y).Square().Mean();
        var l2 = (W1 * W1).Sum() * 1e-4 + W2.Reshape(-1).Slice(0, 0, 2).Square().Sum() / 1e4;
        var soft = Tensor.Concat([Logits(), Logits() * 0.5], 1).Softmax(1).Max() * 1e-3;
        return mse + l2 + soft;
    }

    /// <summary>One scoped training step that reads nothing back (for allocation measurements).</summary>
    public void StepQuiet(Optimizer opt, bool broad = false)
    {
        using var scope = TensorScope.Begin();
        opt.ZeroGrad();
        (broad ? BroadLoss() : Loss()).Backward();
        opt.Step();
    }

    public float[] Predictions()
    {
        using var scope = TensorScope.Begin();
        using var ng = Engine.Autograd.GradMode.NoGrad();
        return Logits().ToFloatArray();
    }
}

public class OptimizerTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "engine-core-opt-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static Optimizer Make(string kind, IEnumerable<Tensor> ps) => kind switch
    {
        "sgd" => new Sgd(ps, learningRate: 1.0),
        "sgd-momentum" => new Sgd(ps, learningRate: 0.2, momentum: 0.9),
        "sgd-nesterov" => new Sgd(ps, learningRate: 0.2, momentum: 0.9, nesterov: true),
        "adam" => new Adam(ps, learningRate: 0.05),
        "adamw" => new AdamW(ps, learningRate: 0.05, weightDecay: 1e-4),
        _ => throw new ArgumentException(kind),
    };

    [TestCase("sgd", 1500)]
    [TestCase("sgd-momentum", 600)]
    [TestCase("sgd-nesterov", 600)]
    [TestCase("adam", 600)]
    [TestCase("adamw", 600)]
    public void MlpLearnsXor(string kind, int steps)
    {
        var model = new XorMlp(seed: 7);
        var opt = Make(kind, model.Parameters);
        double first = model.Step(opt), last = first;
        for (int i = 1; i < steps; i++) last = model.Step(opt);
        using (TensorScope.Begin())
            last = model.Loss().Item();

        TestContext.Out.WriteLine($"{kind}: loss {first:G4} -> {last:G4} after {steps} steps");
        Assert.That(first, Is.GreaterThan(0.5), "an untrained net is near chance (log 2 = 0.69)");
        Assert.That(last, Is.LessThan(0.05), $"{kind}: final loss");
        var logits = model.Predictions();
        Assert.That(logits.Select(l => l > 0 ? 1 : 0).ToArray(), Is.EqualTo(new[] { 0, 1, 1, 0 }), $"{kind}: XOR predictions");
        Assert.That(opt.StepCount, Is.EqualTo(steps));
    }

    [Test]
    public void SgdStepIsPMinusLrTimesGradient()
    {
        var p = Tensor.FromArray(new double[] { 1, 2, 3 }).RequireGrad();
        var c = Tensor.FromArray(new double[] { 0.5, -1, 2 });
        (p * c).Sum().Backward();
        var before = p.ToDoubleArray();
        var g = p.Grad!.ToDoubleArray();
        Assert.That(g, Is.EqualTo(new[] { 0.5, -1, 2 }));
        const double lr = 0.1;
        new Sgd([p], lr).Step();
        var expected = before.Select((v, i) => v - lr * g[i]).ToArray();
        Assert.That(p.ToDoubleArray(), Is.EqualTo(expected), "exact: p - lr g in float64");
    }

    [Test]
    public void SgdMomentumSecondStepUsesBuffer()
    {
        // PyTorch: b1 = g; b2 = m b1 + g; p2 = p0 - lr g - lr (m g + g) for a constant gradient g.
        var p = Tensor.FromArray(new double[] { 1, -1 }).RequireGrad();
        var c = Tensor.FromArray(new double[] { 2, 3 });
        var opt = new Sgd([p], 0.1, momentum: 0.5);
        for (int i = 0; i < 2; i++)
        {
            opt.ZeroGrad();
            (p * c).Sum().Backward();
            opt.Step();
        }
        Assert.That(p.ToDoubleArray(), Is.EqualTo(new[] { 1 - 0.1 * 2 - 0.1 * (0.5 * 2 + 2), -1 - 0.1 * 3 - 0.1 * (0.5 * 3 + 3) }).Within(1e-12));
    }

    [Test]
    public void AdamFirstStepMovesByLrTimesSignOfGradient()
    {
        var p = Tensor.FromArray(new float[] { 1, 2, 3, -4 }).RequireGrad();
        var c = Tensor.FromArray(new float[] { 0.001f, -5, 300, -0.2f });
        (p * c).Sum().Backward();
        var before = p.ToFloatArray();
        const double lr = 0.01;
        new Adam([p], lr).Step();
        var after = p.ToFloatArray();
        var sign = new[] { 1, -1, 1, -1 };
        for (int i = 0; i < 4; i++)
            Assert.That(before[i] - after[i], Is.EqualTo(lr * sign[i]).Within(1e-5), $"element {i}: bias-corrected first step is lr sign(g) whatever |g|");
    }

    [Test]
    public void AdamWDecaysWeightsWithZeroGradientAdamDoesNot()
    {
        Tensor MakeZeroGradParam()
        {
            var p = Tensor.FromArray(new float[] { 1, -2, 4 }).RequireGrad();
            p.Mul(0.0).Sum().Backward();
            Assert.That(p.Grad!.ToFloatArray(), Is.EqualTo(new float[] { 0, 0, 0 }));
            return p;
        }

        var pw = MakeZeroGradParam();
        var adamw = new AdamW([pw], learningRate: 0.1, weightDecay: 0.5);
        adamw.Step();
        Assert.That(pw.ToFloatArray(), Is.EqualTo(new[] { 1 * 0.95f, -2 * 0.95f, 4 * 0.95f }).Within(1e-6), "p *= 1 - lr wd");

        var pa = MakeZeroGradParam();
        var adam = new Adam([pa], learningRate: 0.1, weightDecay: 0);
        for (int i = 0; i < 3; i++) adam.Step();
        Assert.That(pa.ToFloatArray(), Is.EqualTo(new float[] { 1, -2, 4 }), "no gradient and no decay: no movement");
    }

    [Test]
    public void StepSkipsParametersWithoutGradient()
    {
        var a = Tensor.FromArray(new float[] { 1, 2 }).RequireGrad();
        var b = Tensor.FromArray(new float[] { 3, 4 }).RequireGrad();
        a.Sum().Backward();
        var opt = new Adam([a, b], 0.1);
        opt.Step();
        Assert.That(b.Grad, Is.Null);
        Assert.That(b.ToFloatArray(), Is.EqualTo(new float[] { 3, 4 }));
        Assert.That(a.ToFloatArray()[0], Is.EqualTo(0.9f).Within(1e-6));
    }

    [TestCase("adam")]
    [TestCase("adamw")]
    [TestCase("sgd-momentum")]
    [TestCase("sgd-nesterov")]
    public void SaveStateLoadStateResumesBitwise(string kind)
    {
        var model = new XorMlp(seed: 3);
        var opt = Make(kind, model.Parameters);
        for (int i = 0; i < 5; i++) model.Step(opt);
        var path = Path.Combine(_dir, "opt.safetensors");
        opt.SaveState(path);
        var snapshot = model.Snapshot();
        for (int i = 0; i < 5; i++) model.Step(opt);
        var a = model.Snapshot();

        var resumed = new XorMlp(snapshot);
        var opt2 = Make(kind, resumed.Parameters);
        opt2.LearningRate = 123; // LoadState restores the saved rate
        opt2.LoadState(path);
        Assert.That(opt2.StepCount, Is.EqualTo(5));
        Assert.That(opt2.LearningRate, Is.EqualTo(opt.LearningRate));
        for (int i = 0; i < 5; i++) resumed.Step(opt2);
        var b = resumed.Snapshot();

        Assert.That(a.Length, Is.EqualTo(b.Length));
        for (int i = 0; i < a.Length; i++)
        {
            Assert.That(b[i].Select(BitConverter.SingleToInt32Bits).ToArray(),
                Is.EqualTo(a[i].Select(BitConverter.SingleToInt32Bits).ToArray()), $"parameter {i} bitwise");
            Assert.That(a[i], Is.Not.EqualTo(snapshot[i]), $"parameter {i} moved in the last 5 steps");
        }
    }

    [Test]
    public void LoadStateRejectsOtherOptimizerKind()
    {
        var model = new XorMlp(seed: 3);
        var adam = new Adam(model.Parameters, 0.01);
        model.Step(adam);
        var path = Path.Combine(_dir, "adam.safetensors");
        adam.SaveState(path);
        var sgd = new Sgd(model.Parameters, 0.1, momentum: 0.9);
        var ex = Assert.Throws<InvalidDataException>(() => sgd.LoadState(path));
        Assert.That(ex!.Message, Does.Contain("adam").And.Contain("sgd").And.Contain(path));
    }

    [Test]
    public void ClipGradNormRescalesLargeGradients()
    {
        var a = Tensor.FromArray(new double[] { 1, 1 }).RequireGrad();
        var b = Tensor.FromArray(new double[] { 1 }).RequireGrad();
        ((a * Tensor.FromArray(new double[] { 3, 0 })).Sum() + (b * Tensor.FromArray(new double[] { 4 })).Sum()).Backward();
        double norm = GradClip.ClipGradNorm([a, b], maxNorm: 1.0);
        Assert.That(norm, Is.EqualTo(5.0).Within(1e-12), "total norm over both gradients, before clipping");
        var ga = a.Grad!.ToDoubleArray();
        var gb = b.Grad!.ToDoubleArray();
        double after = Math.Sqrt(ga.Sum(x => x * x) + gb.Sum(x => x * x));
        Assert.That(after, Is.EqualTo(1.0).Within(1e-5));
        Assert.That(ga[0] / gb[0], Is.EqualTo(3.0 / 4.0).Within(1e-12), "direction is preserved");
        Assert.That(ga[1], Is.EqualTo(0));
    }

    [Test]
    public void ClipGradNormLeavesSmallGradientsAlone()
    {
        var a = Tensor.FromArray(new float[] { 1, 1 }).RequireGrad();
        var unused = Tensor.FromArray(new float[] { 1 }).RequireGrad(); // no gradient: ignored
        (a * Tensor.FromArray(new float[] { 0.3f, -0.4f })).Sum().Backward();
        double norm = GradClip.ClipGradNorm([a, unused], maxNorm: 10);
        Assert.That(norm, Is.EqualTo(0.5).Within(1e-6));
        Assert.That(a.Grad!.ToFloatArray(), Is.EqualTo(new[] { 0.3f, -0.4f }));
        Assert.That(unused.Grad, Is.Null);
    }
}
