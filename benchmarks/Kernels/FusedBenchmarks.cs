using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Perfolizer.Horology;
using BenchmarkDotNet.Jobs;
using Engine.Kernels.Cpu;
using Engine.Kernels.Reference;

namespace Engine.Benchmarks.Kernels;

/// <summary>
/// Each fused kernel against its scalar twin (Baseline = true) on VAE-sized shapes (MNIST VAE: batch 128,
/// 784 pixels, 32 latent; a 500k-parameter Adam), so the Ratio column is the speed-up measured in
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

    private const int Batch = 128, Pixels = 784, Latent = 32, Params = 500_000;

    private float[] _logits = null!, _targets = null!, _rows = null!;
    private float[] _gx = null!, _gmu = null!, _glv = null!;
    private float[] _p = null!, _g = null!, _m = null!, _v = null!;
    private double[] _logitsD = null!, _targetsD = null!, _rowsD = null!, _pD = null!, _gD = null!, _mD = null!, _vD = null!;
    private float[] _noise = null!, _noiseBig = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        float[] F(int n, double lo, double hi) => Enumerable.Range(0, n).Select(_ => (float)(lo + (hi - lo) * rng.NextDouble())).ToArray();
        _logits = F(Batch * Pixels, -8, 8);
        _targets = Enumerable.Range(0, Batch * Pixels).Select(_ => rng.Next(4) == 0 ? (float)rng.NextDouble() : rng.Next(2)).ToArray();
        _rows = new float[Batch];
        _gx = F(Batch * Pixels, 0, 1); _gmu = F(Batch * Pixels, 0, 1); _glv = F(Batch * Pixels, -3, 1);
        _p = F(Params, -0.1, 0.1); _g = F(Params, -1e-2, 1e-2); _m = new float[Params]; _v = new float[Params];
        _logitsD = _logits.Select(v => (double)v).ToArray(); _targetsD = _targets.Select(v => (double)v).ToArray(); _rowsD = new double[Batch];
        _pD = _p.Select(v => (double)v).ToArray(); _gD = _g.Select(v => (double)v).ToArray(); _mD = new double[Params]; _vD = new double[Params];
        _noise = new float[Batch * Latent]; _noiseBig = new float[Batch * Pixels];
    }

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
