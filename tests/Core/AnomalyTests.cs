using Engine.Autograd;

namespace Engine.Tests.Core;

// Anomaly mode is process-wide: these tests must not overlap with tests that expect NaN to flow.
[NonParallelizable]
public class AnomalyTests
{
    [Test]
    public void LogOfNegativeNamesLogAndTheInputShape()
    {
        var x = Tensor.FromArray(new float[] { 1, -2, 3, 4, 5, 6 }, 2, 3);
        using (Anomaly.Detect())
        {
            Assert.That(Anomaly.Enabled, Is.True);
            var ex = Assert.Throws<AnomalyException>(() => x.Log());
            Assert.That(ex!.Op, Is.EqualTo("log"));
            Assert.That(ex.Message, Does.Contain("'log'").And.Contain("[2, 3]").And.Contain("NaN"));
            // finite results pass
            Assert.That(x.Abs().Log().At(0, 0), Is.EqualTo(0));
        }
        Assert.That(Anomaly.Enabled, Is.False, "the handle restores the previous state");
    }

    [Test]
    public void SqrtOfMinusOneNamesSqrt()
    {
        var x = Tensor.FromArray(new double[] { 4, -1 });
        using var _ = Anomaly.Detect();
        var ex = Assert.Throws<AnomalyException>(() => x.Sqrt());
        Assert.That(ex!.Op, Is.EqualTo("sqrt"));
        Assert.That(ex.Message, Does.Contain("'sqrt'").And.Contain("[2]"));
    }

    [Test]
    public void InfinityFromBinaryOpIsCaught()
    {
        var a = Tensor.FromArray(new float[] { 1, 2 });
        var b = Tensor.FromArray(new float[] { 1, 0 });
        using var _ = Anomaly.Detect();
        var ex = Assert.Throws<AnomalyException>(() => a.Div(b));
        Assert.That(ex!.Op, Is.EqualTo("div"));
        Assert.That(ex.Message, Does.Contain("[2]"));
    }

    [Test]
    public void BackwardProducingInfinityNamesTheOp()
    {
        // sqrt is finite at 0, its derivative 1 / (2 sqrt x) is not.
        var x = Tensor.FromArray(new float[] { 0, 4 }).RequireGrad();
        using var _ = Anomaly.Detect();
        var y = x.Sqrt().Sum();
        Assert.That(y.Item(), Is.EqualTo(2));
        var ex = Assert.Throws<AnomalyException>(() => y.Backward());
        Assert.That(ex!.Op, Is.EqualTo("sqrt"));
        Assert.That(ex.Message, Does.Contain("backward").And.Contain("'sqrt'").And.Contain("[2]"));
    }

    [Test]
    public void WithoutAnomalyModeNaNFlowsThrough()
    {
        Assert.That(Anomaly.Enabled, Is.False);
        var x = Tensor.FromArray(new float[] { -1, 4 });
        var log = x.Log().ToFloatArray();
        Assert.That(float.IsNaN(log[0]), Is.True);
        Assert.That(log[1], Is.EqualTo(MathF.Log(4)).Within(1e-6));
        Assert.That(float.IsNaN(x.Sqrt().ToFloatArray()[0]), Is.True);

        var z = Tensor.FromArray(new float[] { 0, 4 }).RequireGrad();
        z.Sqrt().Sum().Backward();
        var g = z.Grad!.ToFloatArray();
        Assert.That(float.IsPositiveInfinity(g[0]), Is.True);
        Assert.That(g[1], Is.EqualTo(0.25f).Within(1e-6));
    }

    [Test]
    public void NestedDetectRestoresEnabledState()
    {
        using (Anomaly.Detect())
        {
            using (Anomaly.Detect()) Assert.That(Anomaly.Enabled, Is.True);
            Assert.That(Anomaly.Enabled, Is.True, "the inner handle restores 'enabled'");
        }
        Assert.That(Anomaly.Enabled, Is.False);
    }
}
