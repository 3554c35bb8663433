using Engine.Devices;
using Engine.Kernels.Cpu;
using Engine.Kernels.Gpu;

namespace Engine.Tests.Gpu;

/// <summary>
/// Elementwise and broadcasting kernels of the ILGPU backend against the CPU backend, both element types, on data
/// that includes the special values each rule must handle. Exact operations (+, -, *, /, selects, copies, sums in a
/// fixed order) must agree bit for bit; transcendental rules to a few ulps of the two math libraries.
/// </summary>
public class ElementwiseDeviceTests
{
    private static readonly double[] Specials = [0, -0.0, 1, -1, 0.5, -3.5, 20, -20, 90, -90, 1e-8, -1e-8, double.NaN, double.PositiveInfinity, double.NegativeInfinity];

    private static double[] Input(int seed, int n) => Specials.Concat(GpuTestDevice.Data(seed, n - Specials.Length, -4, 4)).ToArray();

    private static double Rtol(DType t) => t == DType.Float32 ? 4e-6 : 1e-13;

    public static IEnumerable<TestCaseData> UnaryCases() =>
        from op in Enum.GetValues<UnaryOp>()
        from dtype in new[] { DType.Float32, DType.Float64 }
        select new TestCaseData(op, dtype).SetName($"Unary {op} {dtype}");

    [TestCaseSource(nameof(UnaryCases))]
    public void UnaryForwardAndBackwardMatchTheCpu(UnaryOp op, DType dtype)
    {
        int n = 41;
        var x = Input(1, n);
        var dy = GpuTestDevice.Data(2, n);
        var dx0 = GpuTestDevice.Data(3, n);
        double p0 = op switch { UnaryOp.Pow => 2.5, UnaryOp.Clamp => -1, UnaryOp.LeakyRelu => 0.1, UnaryOp.Scale => -1.5, UnaryOp.AddScalar => 0.25, _ => 0 };
        double p1 = op == UnaryOp.Clamp ? 2 : 0;
        double[] Run(Device d, bool backward)
        {
            var xt = GpuTestDevice.Make(d, x, dtype, n);
            var yt = Tensor.Zeros(new Shape(n), dtype, d);
            d.Backend.Unary(op, xt, yt, p0, p1);
            if (!backward) return yt.ToDoubleArray();
            var g = GpuTestDevice.Make(d, dy, dtype, n);
            var dxt = GpuTestDevice.Make(d, dx0, dtype, n);
            d.Backend.UnaryBackward(op, xt, yt, g, dxt, p0, p1);
            return dxt.ToDoubleArray();
        }
        GpuTestDevice.AssertClose(Run(GpuTestDevice.Device, false), Run(Device.Cpu, false), Rtol(dtype), 1e-30, $"{op} forward");
        GpuTestDevice.AssertClose(Run(GpuTestDevice.Device, true), Run(Device.Cpu, true), Rtol(dtype), 1e-30, $"{op} backward");
    }

    [Test]
    public void AnUnknownUnaryOrBinaryOpIsRejectedBeforeALaunch([Values] DType dtype)
    {
        var d = GpuTestDevice.Device;
        var x = GpuTestDevice.Make(d, [1, 2, 3], dtype, 3);
        var y = GpuTestDevice.Make(d, [4, 5, 6], dtype, 3);
        var unary = (UnaryOp)999;
        var binary = (BinaryOp)999;
        Assert.Throws<ArgumentOutOfRangeException>(() => d.Backend.Unary(unary, x, y, 0.25, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => d.Backend.UnaryBackward(unary, x, x, x, y, 0.25, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => d.Backend.Binary(binary, x, [1], x, [1], y, [3]), "contiguous kernel");
        Assert.Throws<ArgumentOutOfRangeException>(() => d.Backend.Binary(binary, x, [0], x, [1], y, [3]), "strided kernel");
        Assert.That(y.ToDoubleArray(), Is.EqualTo(new double[] { 4, 5, 6 }), "nothing was launched");
    }

    [Test]
    public void GpuKernelsRejectAnUnknownBinaryOpWithoutLoadingAKernel()
    {
        var accelerator = GpuTestDevice.Device.Accelerator;
        var kernels = new GpuKernels<double>(accelerator, new LaunchGeometry(accelerator));
        using var buffer = accelerator.Allocate1D<double>(3);
        var v = buffer.View;
        var contiguous = StridedIndex.Create([3], [1], [1], default);
        var broadcast = StridedIndex.Create([3], [0], [1], default);
        var unknown = (BinaryOp)(-1);
        Assert.Throws<ArgumentOutOfRangeException>(() => kernels.Binary(unknown, v, v, v, contiguous));
        Assert.Throws<ArgumentOutOfRangeException>(() => kernels.Binary(unknown, v, v, v, broadcast));
        Assert.That(kernels.LoadedCount, Is.Zero, "no kernel was compiled, so none was launched");
        kernels.Binary(BinaryOp.Add, v, v, v, contiguous);
        Assert.That(kernels.LoadedCount, Is.EqualTo(1), "a valid op loads its kernel");
    }

    private static readonly (string Name, int[] A, int[] B)[] BroadcastPairs =
    [
        ("same [37]", [37], [37]),
        ("[3,1,5] with [4,1]", [3, 1, 5], [4, 1]),
        ("[2,3] with [3]", [2, 3], [3]),
        ("[1] with [2,3]", [1], [2, 3]),
        ("rank-0 with [2,3]", [], [2, 3]),
        ("[2,1,3] with [1,4,1]", [2, 1, 3], [1, 4, 1]),
        ("[2,1,2,1,2,3] with [3,1,2,1,3]", [2, 1, 2, 1, 2, 3], [3, 1, 2, 1, 3]),
    ];

    public static IEnumerable<TestCaseData> BinaryCases() =>
        from p in BroadcastPairs
        from op in Enum.GetValues<BinaryOp>()
        from dtype in new[] { DType.Float32, DType.Float64 }
        select new TestCaseData(p.A, p.B, op, dtype).SetName($"Binary {op} {p.Name} {dtype}");

    [TestCaseSource(nameof(BinaryCases))]
    public void BinaryWithBroadcastingAndItsGradientMatchTheCpuExactly(int[] a, int[] b, BinaryOp op, DType dtype)
    {
        var av = GpuTestDevice.Data(4, new Shape(a).Count);
        var bv = GpuTestDevice.Data(5, new Shape(b).Count, 0.5, 2);
        (double[] Y, double[] Ga, double[] Gb) Run(Device d)
        {
            var at = GpuTestDevice.Make(d, av, dtype, a).RequireGrad();
            var bt = GpuTestDevice.Make(d, bv, dtype, b).RequireGrad();
            var y = op switch { BinaryOp.Add => at + bt, BinaryOp.Sub => at - bt, BinaryOp.Mul => at * bt, _ => at / bt };
            y.Sum().Backward();
            return (y.ToDoubleArray(), at.Grad!.ToDoubleArray(), bt.Grad!.ToDoubleArray());
        }
        var gpu = Run(GpuTestDevice.Device);
        var cpu = Run(Device.Cpu);
        Assert.That(gpu.Y, Is.EqualTo(cpu.Y), "forward");
        // The gradient of a broadcast operand is a sum; summation orders may differ from the CPU's vector sums.
        GpuTestDevice.AssertClose(gpu.Ga, cpu.Ga, 1e-5, 1e-6, "grad a");
        GpuTestDevice.AssertClose(gpu.Gb, cpu.Gb, 1e-5, 1e-6, "grad b");
    }

    [TestCase(DType.Float32)]
    [TestCase(DType.Float64)]
    public void WhereTransposeExpandAndConcatMatchTheCpuExactly(DType dtype)
    {
        var m = Enumerable.Range(0, 12).Select(i => i % 3 == 0 ? 0.0 : i % 3 == 1 ? double.NaN : 2.0).ToArray();
        var a = GpuTestDevice.Data(6, 12);
        var b = GpuTestDevice.Data(7, 4);
        var c = GpuTestDevice.Data(8, 24);
        double[] Run(Device d)
        {
            var mt = GpuTestDevice.Make(d, m, dtype, 3, 4);
            var at = GpuTestDevice.Make(d, a, dtype, 3, 4).RequireGrad();
            var bt = GpuTestDevice.Make(d, b, dtype, 4).RequireGrad();
            var ct = GpuTestDevice.Make(d, c, dtype, 2, 3, 4).RequireGrad();
            var w = Tensor.Where(mt, at, bt);                                 // broadcast b over rows
            var t = ct.Transpose(0, 2);                                       // [4, 3, 2]
            var e = bt.Reshape(4, 1, 1).Expand(new Shape(4, 3, 2));
            var cat = Tensor.Concat([t, e, t.Slice(2, 1, 1)], 2);             // [4, 3, 5]
            var y = w.Sum() + cat.Mul(cat).Sum();
            y.Backward();
            return [.. w.ToDoubleArray(), .. cat.ToDoubleArray(), .. at.Grad!.ToDoubleArray(), .. bt.Grad!.ToDoubleArray(), .. ct.Grad!.ToDoubleArray()];
        }
        GpuTestDevice.AssertClose(Run(GpuTestDevice.Device), Run(Device.Cpu), dtype == DType.Float32 ? 1e-6 : 1e-14, 0, "where/transpose/expand/concat");
    }

    [TestCase(3, 100, DType.Float32, TestName = "Bias gradient summed by groups: 3 outputs of 100 terms")]
    [TestCase(3000, 2, DType.Float64, TestName = "Bias gradient summed by threads: 3000 outputs of 2 terms")]
    public void SumIntoMatchesTheCpu(int cols, int rows, DType dtype)
    {
        var src = GpuTestDevice.Data(9, rows * cols);
        var init = GpuTestDevice.Data(10, cols);
        double[] Run(Device d)
        {
            var s = GpuTestDevice.Make(d, src, dtype, rows, cols);
            var dst = GpuTestDevice.Make(d, init, dtype, cols);
            d.Backend.SumInto(s, [rows, cols], dst, [0, 1]);
            return dst.ToDoubleArray();
        }
        GpuTestDevice.AssertClose(Run(GpuTestDevice.Device), Run(Device.Cpu), dtype == DType.Float32 ? 1e-5 : 1e-13, 1e-5, "sum into");
    }

    [Test]
    public void FillCopyAndAccumulateMatchTheCpu()
    {
        var x = GpuTestDevice.Make(GpuTestDevice.Device, GpuTestDevice.Data(11, 130), DType.Float32, 130);
        var y = Tensor.Full(new Shape(130), 1.5, DType.Float32, GpuTestDevice.Device);
        GpuTestDevice.Device.Backend.Copy(x, y, accumulate: true);
        var expected = x.ToDoubleArray().Select(v => (double)((float)v + 1.5f)).ToArray();
        Assert.That(y.ToDoubleArray(), Is.EqualTo(expected));
        GpuTestDevice.Device.Backend.Copy(x, y, accumulate: false);
        Assert.That(y.ToDoubleArray(), Is.EqualTo(x.ToDoubleArray()));
    }
}
