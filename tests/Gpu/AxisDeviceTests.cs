using Engine.Devices;
using Engine.Kernels.Cpu;

namespace Engine.Tests.Gpu;

/// <summary>
/// Reductions, softmax and their backward rules along an axis, row gathers and scatters: the ILGPU backend against the
/// CPU backend. Views [outer, n, inner] cover the row kernels (inner 1: a group per row, rows shorter and longer than a
/// group) and the column kernels (inner &gt; 1), an empty axis, and rows of -inf, +inf and NaN.
/// </summary>
public class AxisDeviceTests
{
    private static readonly (int Outer, int N, int Inner)[] Views = [(3, 5, 1), (2, 150, 1), (1, 1, 1), (2, 0, 1), (2, 4, 3), (1, 7, 65), (3, 0, 2)];

    public static IEnumerable<TestCaseData> ReduceCases() =>
        from v in Views
        from op in Enum.GetValues<ReduceOp>()
        from dtype in new[] { DType.Float32, DType.Float64 }
        select new TestCaseData(op, v.Outer, v.N, v.Inner, dtype).SetName($"Reduce {op} [{v.Outer},{v.N},{v.Inner}] {dtype}");

    private static double[] Values(int seed, int outer, int n, int inner)
    {
        var v = GpuTestDevice.Data(seed, outer * n * inner, -3, 3);
        // Plant special rows in the row cases: all -inf, a +inf entry, a NaN entry (when there are rows enough).
        if (inner == 1 && outer >= 3 && n >= 2)
        {
            for (int j = 0; j < n; j++) v[j] = double.NegativeInfinity;
            v[n + 1] = double.PositiveInfinity;
            v[2 * n] = double.NaN;
        }
        return v;
    }

    [TestCaseSource(nameof(ReduceCases))]
    public void ReduceAndItsBackwardMatchTheCpu(ReduceOp op, int outer, int n, int inner, DType dtype)
    {
        var x = Values(20, outer, n, inner);
        var dy = GpuTestDevice.Data(21, outer * inner);
        var dx0 = GpuTestDevice.Data(22, outer * n * inner);
        (double[] Y, double[] Dx) Run(Device d)
        {
            var xt = GpuTestDevice.Make(d, x, dtype, outer * n * inner);
            var yt = Tensor.Zeros(new Shape(outer * inner), dtype, d);
            d.Backend.Reduce(op, xt, outer, n, inner, yt);
            var g = GpuTestDevice.Make(d, dy, dtype, outer * inner);
            var dxt = GpuTestDevice.Make(d, dx0, dtype, outer * n * inner);
            d.Backend.ReduceBackward(op, xt, yt, g, dxt, outer, n, inner);
            return (yt.ToDoubleArray(), dxt.ToDoubleArray());
        }
        var gpu = Run(GpuTestDevice.Device);
        var cpu = Run(Device.Cpu);
        double rtol = dtype == DType.Float32 ? 2e-5 : 1e-12;
        GpuTestDevice.AssertClose(gpu.Y, cpu.Y, rtol, 1e-5, "forward");
        GpuTestDevice.AssertClose(gpu.Dx, cpu.Dx, rtol, 1e-5, "backward");
    }

    public static IEnumerable<TestCaseData> NormalizeCases() =>
        from v in Views
        from op in Enum.GetValues<NormalizeOp>()
        from dtype in new[] { DType.Float32, DType.Float64 }
        where v.N > 0
        select new TestCaseData(op, v.Outer, v.N, v.Inner, dtype).SetName($"Normalize {op} [{v.Outer},{v.N},{v.Inner}] {dtype}");

    [TestCaseSource(nameof(NormalizeCases))]
    public void SoftmaxAndItsBackwardMatchTheCpu(NormalizeOp op, int outer, int n, int inner, DType dtype)
    {
        var x = Values(23, outer, n, inner);
        var dy = GpuTestDevice.Data(24, outer * n * inner);
        var dx0 = GpuTestDevice.Data(25, outer * n * inner);
        (double[] Y, double[] Dx) Run(Device d)
        {
            int count = outer * n * inner;
            var xt = GpuTestDevice.Make(d, x, dtype, count);
            var yt = Tensor.Zeros(new Shape(count), dtype, d);
            d.Backend.Normalize(op, xt, outer, n, inner, yt);
            var g = GpuTestDevice.Make(d, dy, dtype, count);
            var dxt = GpuTestDevice.Make(d, dx0, dtype, count);
            d.Backend.NormalizeBackward(op, yt, g, dxt, outer, n, inner);
            return (yt.ToDoubleArray(), dxt.ToDoubleArray());
        }
        var gpu = Run(GpuTestDevice.Device);
        var cpu = Run(Device.Cpu);
        double rtol = dtype == DType.Float32 ? 2e-5 : 1e-12;
        GpuTestDevice.AssertClose(gpu.Y, cpu.Y, rtol, 1e-6, "forward");
        GpuTestDevice.AssertClose(gpu.Dx, cpu.Dx, rtol, 1e-5, "backward");
    }

    [TestCase(DType.Float32)]
    [TestCase(DType.Float64)]
    public void SliceConcatGatherAndScatterMatchTheCpu(DType dtype)
    {
        var x = GpuTestDevice.Data(26, 5 * 3 * 4);
        int[] rows = [4, 0, 4, 2, 4];
        (double[] Y, double[] G) Run(Device d)
        {
            var xt = GpuTestDevice.Make(d, x, dtype, 5, 3, 4).RequireGrad();
            var s = xt.Slice(1, 1, 2);                      // [5, 2, 4], copied along the middle axis
            var g = xt.GatherRows(rows);                    // [5, 3, 4] with a repeated row
            var c = Tensor.Concat([s, g.Slice(1, 0, 1)], 1); // [5, 3, 4]
            var y = c * g;
            y.Sum().Backward();
            return (y.ToDoubleArray(), xt.Grad!.ToDoubleArray());
        }
        var gpu = Run(GpuTestDevice.Device);
        var cpu = Run(Device.Cpu);
        Assert.That(gpu.Y, Is.EqualTo(cpu.Y), "forward (exact)");
        GpuTestDevice.AssertClose(gpu.G, cpu.G, dtype == DType.Float32 ? 1e-6 : 1e-15, 1e-7, "gradient (repeated rows accumulate in order)");
    }

    [Test]
    public void GatherChecksIndicesOnTheHostAndCountsTheUpload()
    {
        var d = GpuTestDevice.Device;
        var x = GpuTestDevice.Make(d, GpuTestDevice.Data(27, 6), DType.Float32, 3, 2);
        var into = Tensor.Zeros(new Shape(2, 2), DType.Float32, d);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => d.Backend.GatherRows(x, 2, [0, 3], into));
        Assert.That(ex!.Message, Does.Contain("Index 3 at position 1 is out of range for 3 rows"));
        d.ResetTransfers();
        var y = x.GatherRows([2, 2, 0]);
        Assert.That(d.Transfers, Is.EqualTo(new TransferCounts(1, 0, 12, 0)), "one upload of the three indices");
        Assert.That(y.ToDoubleArray(), Is.EqualTo(new[] { 4, 5, 4, 5, 0, 1 }.Select(i => x.ToDoubleArray()[i]).ToArray()));
    }
}
