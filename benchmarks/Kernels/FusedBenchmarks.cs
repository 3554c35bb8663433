using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Perfolizer.Horology;
using BenchmarkDotNet.Jobs;
using Engine.Kernels.Cpu;
using Engine.Kernels.Reference;

namespace Engine.Benchmarks.Kernels;

/// <summary>
/// Each fused kernel against its scalar twin (Baseline = true) on VAE-sized shapes (MNIST VAE: batch 128,
/// 784 pixels, 400 hidden, 32 latent; a 500k-parameter Adam), so the Ratio column is the speed-up measured in
/// the same run. The job is short (3 warm-ups, 5 iterations of about 100 ms) so the class runs in a few minutes:
/// run with <c>dotnet run -c Release --project benchmarks -- --filter "*FusedBenchmarks*"</c>.
/// </summary>
[Config(typeof(ShortConfig))]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
[MemoryDiagnoser(false)]
public class FusedBenchmarks
{
    private sealed class ShortConfig : ManualConfig
    {
        public ShortConfig() => AddJob(Job.Default
            .WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(5)
            .WithIterationTime(TimeInterval.FromMilliseconds(100)));
    }

    private const int Batch = 128, Pixels = 784, Hidden = 400, Latent = 32, Params = 500_000;

    private float[] _x = null!, _xh = null!, _bias = null!, _biasH = null!, _y = null!, _yh = null!, _dy = null!, _dPre = null!, _dBias = null!;
    private float[] _logits = null!, _targets = null!, _rows = null!, _mu = null!, _logvar = null!, _eps = null!, _z = null!;
    private float[] _gx = null!, _gmu = null!, _glv = null!;
    private float[] _p = null!, _g = null!, _m = null!, _v = null!;
    private double[] _logitsD = null!, _targetsD = null!, _rowsD = null!, _pD = null!, _gD = null!, _mD = null!, _vD = null!;
    private float[] _noise = null!, _noiseBig = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        float[] F(int n, double lo, double hi) => Enumerable.Range(0, n).Select(_ => (float)(lo + (hi - lo) * rng.NextDouble())).ToArray();
        _x = F(Batch * Pixels, -4, 4); _bias = F(Pixels, -0.5, 0.5); _y = new float[Batch * Pixels];
        _xh = F(Batch * Hidden, -4, 4); _biasH = F(Hidden, -0.5, 0.5); _yh = new float[Batch * Hidden];
        ReferenceFused.BiasActivation<float>(_xh, _biasH, _yh, Batch, Hidden, Fused.Activation.Relu, 0f);
        _dy = F(Batch * Hidden, -1, 1); _dPre = new float[Batch * Hidden]; _dBias = new float[Hidden];
        _logits = F(Batch * Pixels, -8, 8);
        _targets = Enumerable.Range(0, Batch * Pixels).Select(_ => rng.Next(4) == 0 ? (float)rng.NextDouble() : rng.Next(2)).ToArray();
        _rows = new float[Batch];
        _gx = F(Batch * Pixels, 0, 1); _gmu = F(Batch * Pixels, 0, 1); _glv = F(Batch * Pixels, -3, 1);
        _mu = F(Batch * Latent, -2, 2); _logvar = F(Batch * Latent, -4, 1); _eps = F(Batch * Latent, -3, 3); _z = new float[Batch * Latent];
        _p = F(Params, -0.1, 0.1); _g = F(Params, -1e-2, 1e-2); _m = new float[Params]; _v = new float[Params];
        _logitsD = _logits.Select(v => (double)v).ToArray(); _targetsD = _targets.Select(v => (double)v).ToArray(); _rowsD = new double[Batch];
        _pD = _p.Select(v => (double)v).ToArray(); _gD = _g.Select(v => (double)v).ToArray(); _mD = new double[Params]; _vD = new double[Params];
        _noise = new float[Batch * Latent]; _noiseBig = new float[Batch * Pixels];
    }

    // ---- bias + activation, decoder output layer (128 x 784) and hidden layer (128 x 400)

    [Benchmark(Baseline = true), BenchmarkCategory("BiasSigmoid 128x784")]
    public void BiasSigmoid_Scalar() => ReferenceFused.BiasActivation<float>(_x, _bias, _y, Batch, Pixels, Fused.Activation.Sigmoid, 0f);
    [Benchmark, BenchmarkCategory("BiasSigmoid 128x784")]
    public void BiasSigmoid_Fused() => Fused.BiasActivation(_x, _bias, _y, Batch, Pixels, Fused.Activation.Sigmoid, 0f);

    [Benchmark(Baseline = true), BenchmarkCategory("BiasRelu 128x400")]
    public void BiasRelu_Scalar() => ReferenceFused.BiasActivation<float>(_xh, _biasH, _yh, Batch, Hidden, Fused.Activation.Relu, 0f);
    [Benchmark, BenchmarkCategory("BiasRelu 128x400")]
    public void BiasRelu_Fused() => Fused.BiasActivation(_xh, _biasH, _yh, Batch, Hidden, Fused.Activation.Relu, 0f);

    [Benchmark(Baseline = true), BenchmarkCategory("BiasTanh 128x400")]
    public void BiasTanh_Scalar() => ReferenceFused.BiasActivation<float>(_xh, _biasH, _dPre, Batch, Hidden, Fused.Activation.Tanh, 0f);
    [Benchmark, BenchmarkCategory("BiasTanh 128x400")]
    public void BiasTanh_Fused() => Fused.BiasActivation(_xh, _biasH, _dPre, Batch, Hidden, Fused.Activation.Tanh, 0f);

    [Benchmark(Baseline = true), BenchmarkCategory("BiasReluBackward 128x400")]
    public void BiasReluBackward_Scalar() => ReferenceFused.BiasActivationBackward<float>(_yh, _dy, _dPre, _dBias, Batch, Hidden, Fused.Activation.Relu, 0f);
    [Benchmark, BenchmarkCategory("BiasReluBackward 128x400")]
    public void BiasReluBackward_Fused() => Fused.BiasActivationBackward(_yh, _dy, _dPre, _dBias, Batch, Hidden, Fused.Activation.Relu, 0f);

    [Benchmark(Baseline = true), BenchmarkCategory("BiasSoftplusBackward 128x400")]
    public void BiasSoftplusBackward_Scalar() => ReferenceFused.BiasActivationBackward<float>(_yh, _dy, _dPre, _dBias, Batch, Hidden, Fused.Activation.Softplus, 0f);
    [Benchmark, BenchmarkCategory("BiasSoftplusBackward 128x400")]
    public void BiasSoftplusBackward_Fused() => Fused.BiasActivationBackward(_yh, _dy, _dPre, _dBias, Batch, Hidden, Fused.Activation.Softplus, 0f);

    // ---- latent layer (128 x 32)

    [Benchmark(Baseline = true), BenchmarkCategory("Reparameterize 128x32")]
    public void Reparameterize_Scalar() => ReferenceFused.Reparameterize<float>(_mu, _logvar, _eps, _z);
    [Benchmark, BenchmarkCategory("Reparameterize 128x32")]
    public void Reparameterize_Fused() => Fused.Reparameterize(_mu, _logvar, _eps, _z);

    [Benchmark(Baseline = true), BenchmarkCategory("KlRows 128x32")]
    public void Kl_Scalar() => ReferenceFused.KlStandardNormalRows<float>(_mu, _logvar, _rows, Batch, Latent);
    [Benchmark, BenchmarkCategory("KlRows 128x32")]
    public void Kl_Fused() => Fused.KlStandardNormalRows(_mu, _logvar, _rows, Batch, Latent);

    // ---- reconstruction losses (128 x 784)

    [Benchmark(Baseline = true), BenchmarkCategory("BceRows 128x784")]
    public void Bce_Scalar() => ReferenceFused.BceWithLogitsRowSum<float>(_logits, _targets, _rows, Batch, Pixels);
    [Benchmark, BenchmarkCategory("BceRows 128x784")]
    public void Bce_Fused() => Fused.BceWithLogitsRowSum(_logits, _targets, _rows, Batch, Pixels);

    [Benchmark(Baseline = true), BenchmarkCategory("BceRows double 128x784")]
    public void BceDouble_Scalar() => ReferenceFused.BceWithLogitsRowSum<double>(_logitsD, _targetsD, _rowsD, Batch, Pixels);
    [Benchmark, BenchmarkCategory("BceRows double 128x784")]
    public void BceDouble_Fused() => Fused.BceWithLogitsRowSum(_logitsD, _targetsD, _rowsD, Batch, Pixels);

    [Benchmark(Baseline = true), BenchmarkCategory("GaussianRows 128x784")]
    public void Gaussian_Scalar() => ReferenceFused.GaussianLogDensityRows<float>(_gx, _gmu, _glv, _rows, Batch, Pixels);
    [Benchmark, BenchmarkCategory("GaussianRows 128x784")]
    public void Gaussian_Fused() => Fused.GaussianLogDensityRows(_gx, _gmu, _glv, _rows, Batch, Pixels);

    // ---- optimiser (500k parameters)

    [Benchmark(Baseline = true), BenchmarkCategory("AdamW 500k")]
    public void AdamW_Scalar() => ReferenceFused.AdamUpdate<float>(_p, _g, _m, _v, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, true, 10);
    [Benchmark, BenchmarkCategory("AdamW 500k")]
    public void AdamW_Fused() => Fused.AdamUpdate(_p, _g, _m, _v, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, true, 10);

    [Benchmark(Baseline = true), BenchmarkCategory("AdamW double 500k")]
    public void AdamWDouble_Scalar() => ReferenceFused.AdamUpdate<double>(_pD, _gD, _mD, _vD, 1e-3, 0.9, 0.999, 1e-8, 0.01, true, 10);
    [Benchmark, BenchmarkCategory("AdamW double 500k")]
    public void AdamWDouble_Fused() => Fused.AdamUpdate(_pD, _gD, _mD, _vD, 1e-3, 0.9, 0.999, 1e-8, 0.01, true, 10);

    // ---- random fills: the reference evaluates the stream definition element by element

    [Benchmark(Baseline = true), BenchmarkCategory("Uniform 128x784")]
    public void Uniform_Reference() => ReferenceRandom.Uniform(7, 0, _noiseBig, 0f, 1f);
    [Benchmark, BenchmarkCategory("Uniform 128x784")]
    public void Uniform_Fill() => RandomFill.Uniform(7, 0, _noiseBig, 0f, 1f);

    [Benchmark(Baseline = true), BenchmarkCategory("Normal 128x32")]
    public void Normal_Reference() => ReferenceRandom.Normal(7, 0, _noise, 0f, 1f);
    [Benchmark, BenchmarkCategory("Normal 128x32")]
    public void Normal_Fill() => RandomFill.Normal(7, 0, _noise, 0f, 1f);
}
