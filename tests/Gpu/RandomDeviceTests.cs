using Engine.Devices;
using Engine.Kernels.Cpu;
using Engine.Models.Distributions;

namespace Engine.Tests.Gpu;

/// <summary>
/// The device's Philox fills reproduce the CPU stream bit for bit: uniform and normal, float and double, lengths that
/// end anywhere inside a block, offsets near the 2^64 wrap, and the generator bookkeeping, so a seeded rsample draws
/// the same eps on both devices.
/// </summary>
public class RandomDeviceTests
{
    public static IEnumerable<TestCaseData> FillCases()
    {
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
            foreach (bool normal in new[] { false, true })
                foreach (var (n, seed, offset) in new (int, ulong, ulong)[] { (1, 0, 0), (2, 1, 3), (3, 42, 0), (5, 7, 1000), (8, 0xDEADBEEFCAFEUL, 12), (13, 9, ulong.MaxValue - 2), (333, 123456789, 77) })
                    yield return new TestCaseData(dtype, normal, n, seed, offset).SetName($"{(normal ? "Normal" : "Uniform")} {dtype} n={n} seed={seed} offset={offset}");
    }

    [TestCaseSource(nameof(FillCases))]
    public void FillsAreBitIdenticalToTheCpu(DType dtype, bool normal, int n, ulong seed, ulong offset)
    {
        double[] Run(Device d)
        {
            var t = Tensor.Zeros(new Shape(n), dtype, d);
            if (normal) d.Backend.RandomNormal(t, seed, offset, 0.25, 1.5);
            else d.Backend.RandomUniform(t, seed, offset, -1, 3);
            return t.ToDoubleArray();
        }
        var gpu = Run(GpuTestDevice.Device);
        var cpu = Run(Device.Cpu);
        Assert.That(gpu.Select(BitConverter.DoubleToInt64Bits), Is.EqualTo(cpu.Select(BitConverter.DoubleToInt64Bits)));
        Assert.That(GpuTestDevice.Device.Backend.RandomBlocks(dtype, n, normal), Is.EqualTo(RandomFill.BlocksUsed(n, dtype == DType.Float64, normal)));
    }

    [Test]
    public void ASeededRSampleDrawsTheSameEpsOnBothDevices()
    {
        var mu = GpuTestDevice.Data(70, 3 * 4);
        var lv = GpuTestDevice.Data(71, 3 * 4, -1, 1);
        (float[] Z, ulong Offset) Run(Device d)
        {
            var gen = new Generator(2024, 5);
            var q = new Normal(GpuTestDevice.Make(d, mu, DType.Float32, 3, 4), GpuTestDevice.Make(d, lv, DType.Float32, 3, 4));
            _ = Tensor.RandUniform(new Shape(7), gen, device: d);   // advance the stream by a partial block first
            var z = q.RSample(gen, 5);                              // [5, 3, 4]
            return (z.ToFloatArray(), gen.Offset);
        }
        var gpu = Run(GpuTestDevice.Device);
        var cpu = Run(Device.Cpu);
        Assert.That(gpu.Offset, Is.EqualTo(cpu.Offset), "generator offsets advance alike");
        // eps is identical; z = mu + exp(logvar / 2) eps then differs only by the exp of the two math libraries.
        GpuTestDevice.AssertClose(gpu.Z.Select(v => (double)v).ToArray(), cpu.Z.Select(v => (double)v).ToArray(), 1e-6, 1e-7, "z");
        var eps = Tensor.RandNormal(new Shape(60), new Generator(2024, 5), device: GpuTestDevice.Device).ToFloatArray();
        Assert.That(eps, Is.EqualTo(Tensor.RandNormal(new Shape(60), new Generator(2024, 5)).ToFloatArray()), "eps bit for bit");
    }
}
