using BenchmarkDotNet.Attributes;
using Engine.Models.Vae;
using Engine.Optim;

namespace Engine.Benchmarks.Models;

/// <summary>
/// Issue 4's speed figures for 784-400-(20, 20) / 20-400-784, ReLU, Bernoulli decoder, batch 128:
/// TrainStep is one Adam step (OperationsPerInvoke = 128, so the mean is per sample: samples/s = 1e9 / ns);
/// LogLikelihood is log p(x) by importance sampling with k = 1000 (per image: images/s = 1e9 / ns).
/// The PyTorch peer (benchmarks/peers/vae_torch.py) is run by benchmarks/run-vae.sh in the same session.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(ShortConfig))]
public class VaeBenchmarks
{
    private VariationalAutoencoder _vae = null!;
    private Adam _opt = null!;
    private Tensor _x = null!, _x100 = null!;
    private Generator _gen = null!;
    private readonly ObjectiveOptions _objective = new();

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        global::Engine.Kernels.Cpu.CpuThreads.Max = Threads;
        _vae = new VariationalAutoencoder(new VaeOptions { InputSize = 784, Hidden = [400], LatentSize = 20 }, new Generator(0));
        _opt = new Adam(_vae.Parameters(), 1e-3);
        var rng = new Random(1);
        var px = new float[128 * 784];
        for (int i = 0; i < px.Length; i++) px[i] = rng.NextDouble() < 0.3 ? 1 : 0;
        _x = Tensor.FromArray(px, 128, 784);
        _x100 = Tensor.FromArray(px.AsSpan(0, 100 * 784).ToArray(), 100, 784);
        _gen = new Generator(2);
        for (int i = 0; i < 5; i++) TrainStep();
    }

    [Benchmark(OperationsPerInvoke = 128)]
    public void TrainStep()
    {
        using var scope = TensorScope.Begin();
        var (loss, _) = Estimators.Loss(_vae, _x, _gen, _objective);
        _opt.ZeroGrad();
        loss.Backward();
        _opt.Step();
    }

    [Benchmark(OperationsPerInvoke = 100)]
    public double LogLikelihoodK1000() => Estimators.LogLikelihood(_vae, _x100, _gen, k: 1000)[0];
}
