using BenchmarkDotNet.Attributes;
using Engine.Devices;
using Engine.Kernels.Gpu;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Engine.Benchmarks.Gpu;

/// <summary>
/// The device GEMM (Engine.Kernels.Gpu, tile chosen by shape) against cuBLAS SGEMM (ILGPU.Algorithms' bindings) in the
/// same run, float32, on the VAE's layer shapes (batch 128, 784 pixels, 400 hidden units: the forward product x W^T and
/// the two backward products) and at 4096^3. Ratio is ours / cuBLAS time; the GFLOP/s column is 2 m n k / median.
/// Every invocation enqueues one product and waits for it. Without CUDA the cuBLAS cases fail (NA) and ours still run.
/// Goal (issue): at least 60% of cuBLAS on the VAE shapes and at 4096^3.
/// </summary>
[Config(typeof(ShortConfig))]
[GflopsColumn]
public class GpuGemmBenchmarks
{
    public static IEnumerable<string> Shapes() => BenchDevice.IsSimulator
        ? ["32x48x16/NT", "48x32x40/TN"]
        : ["128x400x784/NT", "128x784x400/NN", "400x784x128/TN", "128x784x400/NT", "4096x4096x4096/NN"];

    [ParamsSource(nameof(Shapes))]
    public string Shape { get; set; } = "";

    private IlgpuDevice _device = null!;
    private MemoryBuffer1D<float, Stride1D.Dense> _a = null!, _b = null!, _c = null!;
    private DeviceGemmShape _s;
    private CuBlas? _cublas;

    [GlobalSetup]
    public void Setup()
    {
        _device = BenchDevice.Open();
        _s = DeviceGemmShape.Parse(Shape);
        var acc = _device.Accelerator;
        var r = new Random(1);
        float[] Rand(int n) => Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() - 0.5)).ToArray();
        _a = acc.Allocate1D(Rand(_s.M * _s.K));
        _b = acc.Allocate1D(Rand(_s.K * _s.N));
        _c = acc.Allocate1D<float>(_s.M * _s.N);
        if (acc is CudaAccelerator cuda)
        {
            _cublas = new CuBlas(cuda);
            if (cuda.DefaultStream is CudaStream stream) _cublas.Stream = stream;
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _cublas?.Dispose();
        _a.Dispose(); _b.Dispose(); _c.Dispose();
    }

    private GemmArgs<float> Args() => new()
    {
        M = _s.M, N = _s.N, K = _s.K, TransA = _s.TransA ? 1 : 0, TransB = _s.TransB ? 1 : 0,
        Lda = _s.TransA ? _s.M : _s.K, Ldb = _s.TransB ? _s.K : _s.N, Ldc = _s.N, Alpha = 1, Beta = 0,
    };

    [Benchmark]
    public void Ours()
    {
        ((IlgpuBackend)_device.Backend).GemmFloat(_a.View.BaseView, _b.View.BaseView, _c.View.BaseView, Args());
        _device.Synchronize();
    }

    /// <summary>Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: cuBLAS gets B first.</summary>
    [Benchmark(Baseline = true)]
    public void CuBlasSgemm()
    {
        var cublas = _cublas ?? throw new NotSupportedException("cuBLAS needs a CUDA accelerator; this run has " + _device.Name + ".");
        var p = Args();
        cublas.Gemm(_s.TransB ? CuBlasOperation.Transpose : CuBlasOperation.NonTranspose, _s.TransA ? CuBlasOperation.Transpose : CuBlasOperation.NonTranspose,
            _s.N, _s.M, _s.K, 1f, _b.View.BaseView, p.Ldb, _a.View.BaseView, p.Lda, 0f, _c.View.BaseView, p.Ldc);
        _device.Synchronize();
    }
}
