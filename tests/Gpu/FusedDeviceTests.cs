using Engine.Devices;
using Engine.Optim;

namespace Engine.Tests.Gpu;

/// <summary>
/// The fused row losses with their gradients, the optimizer updates and the two diagnostics (sum of squares,
/// all-finite) of the ILGPU backend against the CPU backend. Adam and SGD use only IEEE-exact operations and sqrt, so
/// on ILGPU's CPU accelerator they must agree bit for bit.
/// </summary>
public class FusedDeviceTests
{
    [TestCase(3, 1, DType.Float32)]
    [TestCase(4, 70, DType.Float32)]
    [TestCase(2, 9, DType.Float64)]
    public void RowLossesAndTheirGradientsMatchTheCpu(int rows, int cols, DType dtype)
    {
        int n = rows * cols;
        var l = GpuTestDevice.Data(50, n, -6, 6);
        l[0] = 1e30; if (n > 1) l[1] = -1e30;
        var t = GpuTestDevice.Data(51, n, 0, 1);
        if (n > 1) { t[0] = 1; t[1] = 0; }
        var mu = GpuTestDevice.Data(52, n);
        var lv = GpuTestDevice.Data(53, n, -2, 2);
        var dy = GpuTestDevice.Data(54, rows);
        double[] Run(Device d)
        {
            var lt = GpuTestDevice.Make(d, l, dtype, rows, cols).RequireGrad();
            var tt = GpuTestDevice.Make(d, t, dtype, rows, cols).RequireGrad();
            var mt = GpuTestDevice.Make(d, mu, dtype, rows, cols).RequireGrad();
            var vt = GpuTestDevice.Make(d, lv, dtype, rows, cols).RequireGrad();
            var g = GpuTestDevice.Make(d, dy, dtype, rows);
            var bce = Tensor.BceWithLogits(lt, tt);
            var gauss = Tensor.GaussianLogDensity(tt, mt, vt);
            (bce * g + gauss * g).Sum().Backward();
            return [.. bce.ToDoubleArray(), .. gauss.ToDoubleArray(), .. lt.Grad!.ToDoubleArray(), .. tt.Grad!.ToDoubleArray(), .. mt.Grad!.ToDoubleArray(), .. vt.Grad!.ToDoubleArray()];
        }
        GpuTestDevice.AssertClose(Run(GpuTestDevice.Device), Run(Device.Cpu), dtype == DType.Float32 ? 2e-5 : 1e-12, 1e-4, "losses and gradients");
    }

    [Test]
    public void BackwardWithOnlySomeGradientsLeavesTheOthersAlone()
    {
        var d = GpuTestDevice.Device;
        var x = GpuTestDevice.Make(d, GpuTestDevice.Data(55, 6), DType.Float32, 2, 3);
        var mu = GpuTestDevice.Make(d, GpuTestDevice.Data(56, 6), DType.Float32, 2, 3).RequireGrad();
        var lv = GpuTestDevice.Make(d, GpuTestDevice.Data(57, 6), DType.Float32, 2, 3);
        Tensor.GaussianLogDensity(x, mu, lv).Sum().Backward();
        Assert.That(x.Grad, Is.Null);
        Assert.That(lv.Grad, Is.Null);
        Assert.That(mu.Grad!.ToDoubleArray(), Has.All.Not.NaN);
    }

    private static double[] Optimize(Device d, DType dtype, Func<Tensor[], Optimizer> make)
    {
        var p = GpuTestDevice.Make(d, GpuTestDevice.Data(60, 37), dtype, 37).RequireGrad();
        var q = GpuTestDevice.Make(d, GpuTestDevice.Data(61, 6), dtype, 2, 3).RequireGrad();
        var opt = make([p, q]);
        for (int step = 0; step < 3; step++)
        {
            using var scope = TensorScope.Begin();
            opt.ZeroGrad();
            (p.Square().Sum() + q.Exp().Sum()).Backward();
            opt.Step();
        }
        return [.. p.ToDoubleArray(), .. q.ToDoubleArray()];
    }

    public static IEnumerable<TestCaseData> OptimizerCases()
    {
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            yield return new TestCaseData(dtype, (Func<Tensor[], Optimizer>)(ps => new Adam(ps, 0.05))).SetName($"Adam {dtype}");
            yield return new TestCaseData(dtype, (Func<Tensor[], Optimizer>)(ps => new Adam(ps, 0.05, weightDecay: 0.1))).SetName($"Adam L2 {dtype}");
            yield return new TestCaseData(dtype, (Func<Tensor[], Optimizer>)(ps => new AdamW(ps, 0.05, weightDecay: 0.1))).SetName($"AdamW {dtype}");
            yield return new TestCaseData(dtype, (Func<Tensor[], Optimizer>)(ps => new Sgd(ps, 0.01))).SetName($"Sgd {dtype}");
            yield return new TestCaseData(dtype, (Func<Tensor[], Optimizer>)(ps => new Sgd(ps, 0.01, momentum: 0.9, dampening: 0.1, weightDecay: 0.01, nesterov: false))).SetName($"Sgd momentum {dtype}");
            yield return new TestCaseData(dtype, (Func<Tensor[], Optimizer>)(ps => new Sgd(ps, 0.01, momentum: 0.9, nesterov: true))).SetName($"Sgd Nesterov {dtype}");
        }
    }

    [TestCaseSource(nameof(OptimizerCases))]
    public void OptimizerStepsMatchTheCpu(DType dtype, Func<Tensor[], Optimizer> make)
    {
        var gpu = Optimize(GpuTestDevice.Device, dtype, make);
        var cpu = Optimize(Device.Cpu, dtype, make);
        // The update itself is exact on both; the gradients of exp differ by the math libraries' ulps.
        GpuTestDevice.AssertClose(gpu, cpu, dtype == DType.Float32 ? 1e-6 : 1e-14, 1e-7, "parameters after three steps");
    }

    [TestCase(DType.Float32)]
    [TestCase(DType.Float64)]
    public void AdamUpdateIsBitIdenticalToTheCpu(DType dtype)
    {
        double[] Run(Device d)
        {
            var p = GpuTestDevice.Make(d, GpuTestDevice.Data(62, 45), dtype, 45);
            var g = GpuTestDevice.Make(d, GpuTestDevice.Data(63, 45), dtype, 45);
            var m = GpuTestDevice.Make(d, GpuTestDevice.Data(64, 45), dtype, 45);
            var v = GpuTestDevice.Make(d, GpuTestDevice.Data(65, 45, 0, 1), dtype, 45);
            d.Backend.AdamUpdate(p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 0.01, decoupled: true, step: 7);
            d.Backend.AdamUpdate(p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 0.01, decoupled: false, step: 8);
            return [.. p.ToDoubleArray(), .. m.ToDoubleArray(), .. v.ToDoubleArray()];
        }
        Assert.That(Run(GpuTestDevice.Device), Is.EqualTo(Run(Device.Cpu)));
    }

    [Test]
    public void SumOfSquaresAndAllFiniteMatchTheCpuAndReadOneScalar()
    {
        var d = GpuTestDevice.Device;
        var data = GpuTestDevice.Data(66, 1000);
        var x = GpuTestDevice.Make(d, data, DType.Float64, 1000);
        d.ResetTransfers();
        Assert.That(d.Backend.SumOfSquares(x), Is.EqualTo(data.Sum(v => v * v)).Within(1e-10));
        Assert.That(d.Backend.AllFinite(x), Is.True);
        Assert.That(d.Transfers.ToHost, Is.EqualTo(2), "one scalar each");
        data[777] = double.NegativeInfinity;
        Assert.That(d.Backend.AllFinite(GpuTestDevice.Make(d, data, DType.Float32, 1000)), Is.False);
        Assert.That(d.Backend.SumOfSquares(Tensor.Zeros(new Shape(0), DType.Float32, d)), Is.Zero);
    }
}
