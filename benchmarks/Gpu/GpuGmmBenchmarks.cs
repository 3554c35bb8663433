using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Engine.Benchmarks.Gmm;
using Engine.Devices;
using Engine.Kernels;
using Engine.Mixtures;
using Engine.Models.Gmm;

namespace Engine.Benchmarks.Gpu;

/// <summary>
/// One Gaussian-mixture EM iteration (E-step and M-step, with the precision factors) on the GMM benchmark's data
/// (60,000 x 50, <see cref="GmmBenchmarkData"/>), 10 components, on the accelerator (the ILGPU backend's <see cref="MixtureIterations"/>: kernels
/// only, then the one status read of an iteration, which waits for them) and, as the baseline of the same run, on the
/// CPU (the CPU backend's <see cref="MixtureEStep"/> and <see cref="MixtureMStep"/>, all cores). Both start from the same k-means initialization and keep iterating from
/// case to case, as a fit does. Ratio is device time / CPU time. On ilgpu-cpu: 512 x 8 points, 4 components.
/// </summary>
[Config(typeof(ShortConfig))]
public class GpuGmmBenchmarks
{
    [Params(CovarianceType.Full, CovarianceType.Diagonal)]
    public CovarianceType Type { get; set; }

    private static int K => BenchDevice.IsSimulator ? 4 : 10;

    private double[] _x = [];
    private int _rows, _d;
    private GCHandle _pin;
    private MixtureEStep? _cpu;
    private MixtureStatistics _stats = null!;
    private MixtureMStep _mStep = null!;
    private MixtureParameters _theta = null!;
    private MixtureIterations? _device;

    private void Load()
    {
        if (BenchDevice.IsSimulator)
        {
            (_rows, _d) = (512, 8);
            var r = new Random(3);
            _x = Enumerable.Range(0, _rows * _d).Select(i => (i / _d % K) * 3.0 + r.NextDouble()).ToArray();
        }
        else
        {
            (_x, _rows, _, _) = GmmBenchmarkData.Load();
            _d = GmmBenchmarkData.Dimensions;
        }
        var start = new GaussianMixture(K) { CovarianceType = Type, MaxIterations = 0, Seed = 0 }.Fit(_x, _rows, _d);
        _theta = new MixtureParameters(Type, K, _d);
        start.Weights.CopyTo(_theta.Weights, 0);
        start.Means.CopyTo(_theta.Means, 0);
        start.Covariances.CopyTo(_theta.Covariances, 0);
        start.PrecisionsCholesky.CopyTo(_theta.PrecisionsCholesky, 0);
    }

    [GlobalSetup(Target = nameof(Cpu))]
    public unsafe void SetupCpu()
    {
        Load();
        _pin = GCHandle.Alloc(_x, GCHandleType.Pinned);
        _cpu = Device.Cpu.Backend.Mixture((MixtureCovariance)Type, K, _d, (double*)_pin.AddrOfPinnedObject(), _rows);
        _stats = new MixtureStatistics((MixtureCovariance)Type, K, _d);
        _mStep = new MixtureMStep(Type, K, _d);
        Cpu();
    }

    [GlobalSetup(Target = nameof(Accelerator))]
    public void SetupAccelerator()
    {
        Load();
        var device = BenchDevice.Open();
        device.MixtureKernels.Preload();
        _device = device.Backend.MixtureIterations((MixtureCovariance)Type, K, _d, _x, _rows, 1e-6)!;
        _device.Upload(_theta.Weights, _theta.Means, _theta.Covariances, _theta.PrecisionsCholesky);
        Accelerator();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _device?.Dispose();
        _device = null;
        _cpu?.Dispose();
        _cpu = null;
        if (_pin.IsAllocated) _pin.Free();
    }

    [Benchmark(Baseline = true)]
    public double Cpu()
    {
        _cpu!.Expectation(_theta.Weights, _theta.Means, _theta.PrecisionsCholesky, _stats);
        _mStep.Maximization(_cpu, _stats, _theta, 1e-6);
        return _stats.MeanLogLikelihood;
    }

    [Benchmark]
    public double Accelerator() => _device!.Iterate().LowerBound;
}
