using BenchmarkDotNet.Attributes;
using Engine.Autograd;
using Engine.Devices;
using Engine.Models.Vae;

namespace Engine.Benchmarks.Gpu;

/// <summary>
/// IWAE evaluation speed: log p(x) by importance sampling with k = 1000 samples per image (Burda et al. 2016) for a
/// batch of 100 images, with the library's chunked estimator (<see cref="Estimators.LogLikelihood"/>, which reads one
/// row of per-image values per chunk back to the host), on the accelerator and, as the baseline, on the CPU. Op/s is
/// images per second; Ratio is device time / CPU time. Model 784-400-20 as in the training benchmark.
/// </summary>
[Config(typeof(ShortConfig))]
[OperationsPerSecond]
public class GpuIwaeBenchmarks
{
    private const int Images = 100;
    private static int K => BenchDevice.IsSimulator ? 8 : 1000;
    private static int Input => BenchDevice.IsSimulator ? 64 : 784;
    private static int Hidden => BenchDevice.IsSimulator ? 32 : 400;
    private static int Latent => BenchDevice.IsSimulator ? 8 : 20;

    private BenchVae _model = null!;
    private Tensor _x = null!;

    private void Setup(Device device)
    {
        _model = new BenchVae(device, Input, Hidden, Latent, seed: 1);
        _x = BenchVae.Images(device, Images, Input, seed: 2);
        Evaluate();
    }

    [GlobalSetup(Target = nameof(Cpu))]
    public void SetupCpu() => Setup(Device.Cpu);

    [GlobalSetup(Target = nameof(Accelerator))]
    public void SetupAccelerator() => Setup(BenchDevice.Open());

    [Benchmark(Baseline = true, OperationsPerInvoke = Images)]
    public double Cpu() => Evaluate();

    [Benchmark(OperationsPerInvoke = Images)]
    public double Accelerator() => Evaluate();

    private double Evaluate()
    {
        using var _ = GradMode.NoGrad();
        return Estimators.LogLikelihood(_model, _x, new Generator(4), k: K).Average();
    }
}
