using Engine.Devices;

namespace Engine.Tests.Gpu;

/// <summary>
/// The device every test of this namespace runs on: ILGPU's CPU accelerator (CI has no GPU), opened once, so each
/// kernel is compiled once for the whole suite. Shapes stay tiny: the accelerator simulates every thread.
/// </summary>
public static class GpuTestDevice
{
    private static IlgpuDevice? s_device;

    /// <summary>The shared ILGPU CPU-accelerator device.</summary>
    public static IlgpuDevice Device => s_device ??= (IlgpuDevice)Engine.Devices.Device.Open("ilgpu-cpu");

    /// <summary>A float or double tensor on <paramref name="device"/> holding <paramref name="data"/> (rounded to float for Float32).</summary>
    public static Tensor Make(Engine.Devices.Device device, double[] data, DType dtype, params int[] dims)
    {
        var shape = new Shape(dims);
        var t = Tensor.Zeros(shape, dtype, device);
        if (dtype == DType.Float64) t.CopyFrom<double>(data);
        else t.CopyFrom<float>(data.Select(v => (float)v).ToArray());
        return t;
    }

    /// <summary>Uniform values in [lo, hi) from a seeded System.Random (test data, not the engine's stream).</summary>
    public static double[] Data(int seed, int n, double lo = -2, double hi = 2)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => lo + (hi - lo) * r.NextDouble()).ToArray();
    }

    /// <summary>Asserts elementwise closeness: |a - e| &lt;= atol + rtol |e|, NaN matching NaN and infinities matching exactly.</summary>
    public static void AssertClose(double[] actual, double[] expected, double rtol, double atol, string what)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what + ": length");
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            if (double.IsNaN(e)) { Assert.That(a, Is.NaN, $"{what}[{i}]"); continue; }
            if (double.IsInfinity(e)) { Assert.That(a, Is.EqualTo(e), $"{what}[{i}]"); continue; }
            Assert.That(a, Is.EqualTo(e).Within(atol + rtol * Math.Abs(e)), $"{what}[{i}]");
        }
    }
}
