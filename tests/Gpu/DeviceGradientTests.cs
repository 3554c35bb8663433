namespace Engine.Tests.Gpu;

/// <summary>
/// Gradient checks that run entirely through the ILGPU backend: float64 leaves on the device, the analytic gradient
/// from Backward on the device, central differences from forward passes on the device (PyTorch's gradcheck settings:
/// eps 1e-6, atol 1e-5, rtol 1e-3). One case per op family, on small shapes with broadcasting and odd sizes.
/// </summary>
public class DeviceGradientTests
{
    public delegate Tensor Op(Tensor[] x);

    public sealed record Input(double[] Data, int[] Dims, bool Grad = true);

    private static Input U(int seed, params int[] dims) => new(GpuTestDevice.Data(seed, new Shape(dims).Count, -1, 1), dims);
    private static Input P(int seed, params int[] dims) => new(GpuTestDevice.Data(seed, new Shape(dims).Count, 0.5, 2), dims);
    private static Input C(int seed, double lo, double hi, params int[] dims) => new(GpuTestDevice.Data(seed, new Shape(dims).Count, lo, hi), dims, false);

    private static TestCaseData Case(string name, Op f, params Input[] inputs) => new TestCaseData(f, inputs).SetName(name);

    public static IEnumerable<TestCaseData> Cases()
    {
        yield return Case("Add and Mul with broadcasting", x => x[0] * x[1] + x[1], U(1, 2, 1, 3), U(2, 4, 1));
        yield return Case("Sub and Div with broadcasting", x => (x[0] - x[1]) / x[1], U(3, 3), P(4, 2, 3));
        yield return Case("Unary chain", x => x[0].Tanh().Exp() + x[0].Sigmoid().Log() + x[0].Softplus() * x[0].LogSigmoid(), U(5, 5));
        yield return Case("Sqrt Pow Log1p Abs", x => x[0].Sqrt() + x[0].Pow(1.5) + x[0].Log1p() + x[0].Neg().Abs(), P(6, 4));
        yield return Case("Matmul batched", x => Tensor.Matmul(x[0], x[1]), U(7, 2, 2, 3), U(8, 2, 3, 2));
        yield return Case("Linear with bias", x => Tensor.Linear(x[0], x[1], x[2]), U(9, 3, 2), U(10, 4, 2), U(11, 4));
        yield return Case("Sum Mean Max along axes", x => x[0].Sum(0) + x[0].Mean(1, keepDims: true).Sum(1) + x[0].Max(1), U(12, 3, 3));
        yield return Case("LogSumExp along rows and columns", x => x[0].LogSumExp(1) + x[0].LogSumExp(0), U(13, 3, 3));
        yield return Case("Softmax and LogSoftmax", x => x[0].Softmax(0) * x[0].LogSoftmax(1), U(14, 2, 3));
        yield return Case("Transpose Slice Concat", x => Tensor.Concat([x[0].Transpose(0, 1), x[0].Slice(0, 0, 1).Reshape(3, 1)], 1), U(15, 2, 3));
        yield return Case("Expand and GatherRows", x => x[0].Reshape(2, 1, 2).Expand(new Shape(2, 3, 2)).Reshape(6, 2).GatherRows([5, 0, 5]), U(16, 2, 2));
        yield return Case("Where", x => Tensor.Where(x[2], x[0], x[1]), U(17, 2, 3), U(18, 3), C(19, -1, 1, 2, 3));
        yield return Case("BceWithLogits", x => Tensor.BceWithLogits(x[0], x[1]), U(20, 2, 3), new Input(GpuTestDevice.Data(21, 6, 0, 1), [2, 3]));
        yield return Case("BceWithLogits, targets broadcast over samples", x => Tensor.BceWithLogits(x[0], x[1]), U(25, 3, 2, 3), C(26, 0, 1, 2, 3));
        yield return Case("GaussianLogDensity", x => Tensor.GaussianLogDensity(x[0], x[1], x[2]), U(22, 3, 2), U(23, 3, 2), U(24, 3, 2));
    }

    [TestCaseSource(nameof(Cases))]
    public void GradientsThroughTheDeviceMatchFiniteDifferences(Op f, Input[] inputs)
    {
        var device = GpuTestDevice.Device;
        Tensor[] Leaves(int k = -1, int i = -1, double delta = 0) => inputs.Select((x, j) =>
        {
            var data = (double[])x.Data.Clone();
            if (j == k) data[i] += delta;
            var t = GpuTestDevice.Make(device, data, DType.Float64, x.Dims);
            return x.Grad && k < 0 ? t.RequireGrad() : t;
        }).ToArray();

        var probe = f(Leaves(-2));
        var w = GpuTestDevice.Data(99, probe.Count);
        var wt = GpuTestDevice.Make(device, w, DType.Float64, probe.Shape.ToArray());
        double Loss(Tensor[] xs)
        {
            using var _ = Engine.Autograd.GradMode.NoGrad();
            using var scope = TensorScope.Begin();
            return (f(xs) * wt).Sum().Item();
        }

        var leaves = Leaves();
        (f(leaves) * wt).Sum().Backward();
        Assert.That(leaves.All(l => l.Device == device), "everything stays on the device");
        const double eps = 1e-6, atol = 1e-5, rtol = 1e-3;
        for (int k = 0; k < inputs.Length; k++)
        {
            if (!inputs[k].Grad) continue;
            var analytic = leaves[k].Grad?.ToDoubleArray() ?? new double[inputs[k].Data.Length];
            for (int i = 0; i < analytic.Length; i++)
            {
                double numeric = (Loss(Leaves(k, i, eps)) - Loss(Leaves(k, i, -eps))) / (2 * eps);
                Assert.That(analytic[i], Is.EqualTo(numeric).Within(atol + rtol * Math.Abs(numeric)), $"input {k}, element {i}");
            }
        }
    }
}
