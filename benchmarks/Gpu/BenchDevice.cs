using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Engine.Devices;

namespace Engine.Benchmarks.Gpu;

/// <summary>
/// The accelerator the GPU benchmarks run on: <c>ENGINE_BENCH_DEVICE</c> names it as the CLI's --device does
/// ("gpu" by default: CUDA, else an OpenCL GPU). With no GPU the benchmarks fail in their setup with that message
/// rather than time something else; "ilgpu-cpu" runs them on ILGPU's CPU accelerator at toy sizes, to check that they
/// work, and its figures are simulator timings, not GPU figures.
/// </summary>
public static class BenchDevice
{
    /// <summary>The name from the environment ("gpu" unless set).</summary>
    public static string Name => Environment.GetEnvironmentVariable("ENGINE_BENCH_DEVICE") is { Length: > 0 } n ? n : "gpu";

    /// <summary>True when the run is a smoke run on ILGPU's CPU accelerator (toy sizes).</summary>
    public static bool IsSimulator => Name.Trim().Equals("ilgpu-cpu", StringComparison.OrdinalIgnoreCase);

    /// <summary>Opens the device (once per process), compiling its kernels up front so no case times a compilation.</summary>
    public static IlgpuDevice Open()
    {
        var d = IlgpuDevice.Open(Name) as IlgpuDevice
            ?? throw new InvalidOperationException("ENGINE_BENCH_DEVICE=cpu: the GPU benchmarks need an ILGPU device (gpu, cuda, opencl or ilgpu-cpu).");
        d.Preload();
        Console.WriteLine($"// GPU benchmarks on {d.Description}");
        return d;
    }
}

/// <summary>Adds a GFLOP/s column (2 m n k / median time) to a class whose cases have a GEMM shape parameter "Shape".</summary>
public sealed class GflopsColumnAttribute : ColumnConfigBaseAttribute
{
    public GflopsColumnAttribute() : base(new FunctionColumn("GFLOP/s", "2 m n k / median time", Value)) { }

    private static string? Value(Summary summary, BenchmarkCase c)
    {
        double? ns = summary[c]?.ResultStatistics?.Median;
        if (ns is not > 0 || c.Parameters["Shape"] is not string s) return null;
        var g = DeviceGemmShape.Parse(s);
        double gflops = 2.0 * g.M * g.N * g.K / ns.Value;
        return gflops >= 10 ? gflops.ToString("F1") : gflops.ToString("G3");
    }
}

/// <summary>A GEMM case "MxNxK/XY": C (M x N) = op(A) (M x K) op(B) (K x N), X and Y 'N' or 'T' for the transposes.</summary>
public readonly record struct DeviceGemmShape(int M, int N, int K, bool TransA, bool TransB)
{
    public static DeviceGemmShape Parse(string s)
    {
        var parts = s.Split('/');
        var d = parts[0].Split('x').Select(int.Parse).ToArray();
        return new DeviceGemmShape(d[0], d[1], d[2], parts[1][0] == 'T', parts[1][1] == 'T');
    }
}
