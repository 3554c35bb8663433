namespace Engine.Tests.Autograd;

public class SmokeTests
{
    [Test]
    public void MulAddSumGradient()
    {
        var a = Tensor.FromArray(new double[] { 1, 2, 3 }).RequireGrad();
        var b = Tensor.FromArray(new double[] { 4, 5, 6 }).RequireGrad();
        var y = (a * b + a).Sum();
        Assert.That(y.Item(), Is.EqualTo(4 + 10 + 18 + 6));
        y.Backward();
        Assert.That(a.Grad!.ToDoubleArray(), Is.EqualTo(new double[] { 5, 6, 7 }));
        Assert.That(b.Grad!.ToDoubleArray(), Is.EqualTo(new double[] { 1, 2, 3 }));
    }

    [Test]
    public void GradCheckBroadcastMatmulLinear()
    {
        GradCheck.Check(x => x[0] * x[1], GradCheck.Rand(1, -1, 1, 3, 4), GradCheck.Rand(2, -1, 1, 1, 4));
        GradCheck.Check(x => x[0].Matmul(x[1]), GradCheck.Rand(3, -1, 1, 3, 5), GradCheck.Rand(4, -1, 1, 5, 2));
        GradCheck.Check(x => Tensor.Linear(x[0], x[1], x[2]), GradCheck.Rand(5, -1, 1, 3, 5), GradCheck.Rand(6, -1, 1, 4, 5), GradCheck.Rand(7, -1, 1, 4));
        GradCheck.Check(x => x[0].LogSumExp(1), GradCheck.Rand(8, -1, 1, 3, 5));
        GradCheck.Check(x => x[0].Div(x[1]), GradCheck.Rand(9, -1, 1, 2, 3), GradCheck.Rand(10, 0.5, 2, 3));
    }

    [Test]
    public void ScopeRecyclesTensors()
    {
        var w = Tensor.FromArray(new float[] { 1, 2, 3, 4 }, 2, 2).RequireGrad();
        for (int i = 0; i < 3; i++)
        {
            using var s = TensorScope.Begin();
            var x = Tensor.Ones(3, 2);
            var y = Tensor.Linear(x, w).Relu().Sum();
            y.Backward();
        }
        Assert.That(w.Grad!.ToFloatArray(), Is.EqualTo(new float[] { 9, 9, 9, 9 }));
    }
}
