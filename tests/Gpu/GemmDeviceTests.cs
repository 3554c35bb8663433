using Engine.Devices;
using Engine.Kernels.Gpu;

namespace Engine.Tests.Gpu;

/// <summary>
/// The device GEMM against the CPU GEMM: every tile configuration, all four transpose combinations, shapes that end
/// inside a block and inside a k step (1, one less, one more than the block), leading dimensions wider than the
/// matrix, element offsets, alpha/beta, and the degenerate cases (k = 0, alpha = 0 with NaN inputs, beta = 0 with NaN in C).
/// The 256-thread tiles run on a second CPU accelerator whose groups hold 256 threads.
/// </summary>
public class GemmDeviceTests
{
    private static IlgpuDevice? s_wide;

    /// <summary>A CPU accelerator with 256-thread groups, for the 64x64 and 128x128 tiles.</summary>
    private static IlgpuDevice Wide => s_wide ??= IlgpuDevice.CreateCpu(16, 16, 1);

    [OneTimeTearDown]
    public void DisposeWide()
    {
        s_wide?.Dispose();
        s_wide = null;
    }

    /// <summary>C = alpha op(A) op(B) + beta C on <paramref name="device"/>, with padding around every matrix.</summary>
    private static double[] Run(Device device, GemmTile tile, bool ta, bool tb, int m, int n, int k, double alpha, double beta, DType dtype, double[]? cInit = null)
    {
        const int pad = 3, off = 5;
        int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
        int aRows = ta ? k : m, bRows = tb ? n : k;
        var a = GpuTestDevice.Make(device, GpuTestDevice.Data(30 + m, off + aRows * lda), dtype, off + aRows * lda);
        var b = GpuTestDevice.Make(device, GpuTestDevice.Data(31 + n, off + bRows * ldb), dtype, off + bRows * ldb);
        var c = GpuTestDevice.Make(device, cInit ?? GpuTestDevice.Data(32 + k, off + m * ldc), dtype, off + m * ldc);
        if (device.Backend is IlgpuBackend ib) ib.GemmTileOverride = tile;
        try
        {
            device.Backend.Gemm(ta, tb, m, n, k, alpha, a, off, lda, b, off, ldb, beta, c, off, ldc);
        }
        finally
        {
            if (device.Backend is IlgpuBackend ib2) ib2.GemmTileOverride = GemmTile.Auto;
        }
        return c.ToDoubleArray();
    }

    private static readonly (int M, int N, int K)[] SmallShapes = [(1, 1, 1), (17, 15, 9), (16, 33, 7), (33, 16, 17)];

    public static IEnumerable<TestCaseData> SmallCases() =>
        from tile in new[] { GemmTile.Tile16x16, GemmTile.Tile32x32Micro8, GemmTile.Tile32x32 }
        from s in SmallShapes
        from ta in new[] { false, true }
        from tb in new[] { false, true }
        select new TestCaseData(tile, ta, tb, s.M, s.N, s.K).SetName($"Gemm {tile} {(ta ? "T" : "N")}{(tb ? "T" : "N")} {s.M}x{s.N}x{s.K}");

    [TestCaseSource(nameof(SmallCases))]
    public void SmallTilesMatchTheCpu(GemmTile tile, bool ta, bool tb, int m, int n, int k)
    {
        // alpha/beta alternate with the shape so both the overwrite (beta 0) and the update path run on every tile.
        bool update = (m + n + k) % 2 == 1;
        double alpha = update ? 0.75 : 1, beta = update ? -0.5 : 0;
        var gpu = Run(GpuTestDevice.Device, tile, ta, tb, m, n, k, alpha, beta, DType.Float32);
        var cpu = Run(Device.Cpu, tile, ta, tb, m, n, k, alpha, beta, DType.Float32);
        GpuTestDevice.AssertClose(gpu, cpu, 1e-5, 1e-5, "C (padding and offsets untouched)");
    }

    public static IEnumerable<TestCaseData> WideCases() =>
        from tile in new[] { GemmTile.Tile64x64, GemmTile.Tile128x128 }
        from ta in new[] { false, true }
        from tb in new[] { false, true }
        select new TestCaseData(tile, ta, tb).SetName($"Gemm {tile} {(ta ? "T" : "N")}{(tb ? "T" : "N")} 130x65x17");

    [TestCaseSource(nameof(WideCases))]
    public void WideTilesMatchTheCpu(GemmTile tile, bool ta, bool tb)
    {
        var gpu = Run(Wide, tile, ta, tb, 130, 65, 17, 1, 0.5, DType.Float32);
        var cpu = Run(Device.Cpu, tile, ta, tb, 130, 65, 17, 1, 0.5, DType.Float32);
        GpuTestDevice.AssertClose(gpu, cpu, 1e-5, 1e-5, "C");
    }

    [Test]
    public void DoubleMatchesTheCpu()
    {
        var gpu = Run(GpuTestDevice.Device, GemmTile.Tile16x16, true, false, 18, 7, 20, 1.5, 1, DType.Float64);
        var cpu = Run(Device.Cpu, GemmTile.Tile16x16, true, false, 18, 7, 20, 1.5, 1, DType.Float64);
        GpuTestDevice.AssertClose(gpu, cpu, 1e-13, 1e-13, "C");
    }

    [Test]
    public void DegenerateProductsFollowTheCpuConventions()
    {
        var nanC = Enumerable.Repeat(double.NaN, 5 + 4 * 7).ToArray();
        // beta == 0 overwrites a C full of NaN; k == 0 gives beta C; alpha == 0 never reads A or B.
        Assert.That(Run(GpuTestDevice.Device, GemmTile.Auto, false, false, 4, 4, 3, 1, 0, DType.Float32, nanC).Skip(5).Where((_, i) => i % 7 < 4), Has.None.NaN);
        var k0 = Run(GpuTestDevice.Device, GemmTile.Auto, false, false, 4, 4, 0, 1, 2, DType.Float32);
        Assert.That(k0, Is.EqualTo(Run(Device.Cpu, GemmTile.Auto, false, false, 4, 4, 0, 1, 2, DType.Float32)));
        var a0 = Run(GpuTestDevice.Device, GemmTile.Auto, true, true, 4, 4, 3, 0, 0, DType.Float64);
        Assert.That(a0, Is.EqualTo(Run(Device.Cpu, GemmTile.Auto, true, true, 4, 4, 3, 0, 0, DType.Float64)));
    }

    [TestCase(DType.Float32)]
    [TestCase(DType.Float64)]
    public void BatchedMatmulAndLinearWithTheirGradientsMatchTheCpu(DType dtype)
    {
        var av = GpuTestDevice.Data(40, 2 * 3 * 5);
        var bv = GpuTestDevice.Data(41, 2 * 5 * 4);
        var wv = GpuTestDevice.Data(42, 6 * 4);
        var biasv = GpuTestDevice.Data(43, 6);
        double[] Run(Device d)
        {
            var a = GpuTestDevice.Make(d, av, dtype, 2, 3, 5).RequireGrad();
            var b = GpuTestDevice.Make(d, bv, dtype, 2, 5, 4).RequireGrad();
            var w = GpuTestDevice.Make(d, wv, dtype, 6, 4).RequireGrad();
            var bias = GpuTestDevice.Make(d, biasv, dtype, 6).RequireGrad();
            var y = Tensor.Linear(Tensor.Matmul(a, b), w, bias).Tanh();
            y.Square().Sum().Backward();
            return [.. y.ToDoubleArray(), .. a.Grad!.ToDoubleArray(), .. b.Grad!.ToDoubleArray(), .. w.Grad!.ToDoubleArray(), .. bias.Grad!.ToDoubleArray()];
        }
        GpuTestDevice.AssertClose(Run(GpuTestDevice.Device), Run(Device.Cpu), dtype == DType.Float32 ? 1e-5 : 1e-13, dtype == DType.Float32 ? 1e-5 : 1e-12, "values and gradients");
    }
}
