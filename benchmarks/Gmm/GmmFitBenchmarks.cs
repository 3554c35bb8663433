using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Engine.Kernels.Cpu;
using Engine.Models.Gmm;

namespace Engine.Benchmarks.Gmm;

/// <summary>
/// GaussianMixture.Fit against scikit-learn's GaussianMixture.fit on the same data (60,000 x 50: Fashion-MNIST
/// reduced by PCA), the same explicit start (from k-means) and the same work: 10 EM iterations with tol = 0, K = 10,
/// each covariance type, on 1 and 2 threads. scikit-learn is timed by benchmarks/gmm_peer.py in GlobalSetup of the
/// same process, right before the engine is measured, and the columns give the ratio of the two times
/// (<see cref="GmmBenchConfig"/>). Run with
/// <c>dotnet run -c Release --project benchmarks -- --filter '*GmmFitBenchmarks*'</c>.
/// </summary>
[Config(typeof(GmmBenchConfig))]
public class GmmFitBenchmarks
{
    public const int Components = 10, Iterations = 10, PeerRepeats = 3;
    public const double RegCovar = 1e-6;

    private static readonly ConcurrentDictionary<string, (PeerTiming? Peer, double EngineBound)> s_peers = new();

    [Params(CovarianceType.Full, CovarianceType.Tied, CovarianceType.Diagonal, CovarianceType.Spherical)]
    public CovarianceType Type { get; set; }

    [Params(1, 2)]
    public int Threads { get; set; }

    private double[] _x = [];
    private int _rows;
    private double[] _weights = [], _means = [], _precisions = [];
    private int _savedThreads;

    [GlobalSetup]
    public void Setup()
    {
        _savedThreads = CpuThreads.Max;
        CpuThreads.Max = Threads;
        (_x, _rows, string source, string path) = GmmBenchmarkData.Load();
        // The explicit start both sides use: scikit-learn's default initialization (k-means), computed once here.
        var start = new GaussianMixture(Components) { CovarianceType = Type, MaxIterations = 0, Seed = 0 }
            .Fit(_x, _rows, GmmBenchmarkData.Dimensions);
        _weights = start.Weights;
        _means = start.Means;
        _precisions = start.Precisions;

        double bound = Fit().LowerBound;   // also warms up
        PeerTiming? peer = SklearnPeer.Run(path, _rows, GmmBenchmarkData.Dimensions, Type, Components, RegCovar, Iterations, PeerRepeats,
            _weights, _means, _precisions, Threads);
        s_peers[Key(Type, Threads)] = (peer, bound);
        Console.WriteLine($"// data: {source}");
        if (peer != null)
        {
            Console.WriteLine($"// sklearn peer ({peer.Versions}): fit {string.Join(", ", peer.FitSeconds.Select(s => s.ToString("F3")))} s, " +
                $"EM only {string.Join(", ", peer.EmSeconds.Select(s => s.ToString("F3")))} s; final lower bound {peer.LowerBound:R} (engine {bound:R})");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => CpuThreads.Max = _savedThreads;

    [Benchmark]
    public GaussianMixture Fit() => new GaussianMixture(Components)
    {
        CovarianceType = Type,
        Tolerance = 0,               // exactly Iterations EM iterations, as the peer
        MaxIterations = Iterations,
        RegCovar = RegCovar,
        WeightsInit = _weights,
        MeansInit = _means,
        PrecisionsInit = _precisions,
    }.Fit(_x, _rows, GmmBenchmarkData.Dimensions);

    private static string Key(CovarianceType type, int threads) => $"{type}/{threads}";

    /// <summary>The peer's timing for a benchmark case (null when the peer could not run).</summary>
    public static (PeerTiming? Peer, double EngineBound)? PeerFor(BenchmarkCase c)
    {
        var type = (CovarianceType)c.Parameters["Type"];
        int threads = (int)c.Parameters["Threads"];
        return s_peers.TryGetValue(Key(type, threads), out var v) ? v : null;
    }
}

/// <summary>
/// In-process job (so GlobalSetup's peer timings reach the columns), 3 warm-ups and 10 measured iterations as
/// <see cref="ShortConfig"/>, and the columns: scikit-learn's median times and the speed-ups (scikit-learn time /
/// engine median time), for the whole fit and for scikit-learn's EM iterations alone (the conservative one:
/// the engine's time still includes its own setup).
/// </summary>
public sealed class GmmBenchConfig : ManualConfig
{
    public GmmBenchConfig()
    {
        AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(3).WithIterationCount(10).WithLaunchCount(1));
        AddColumn(new FunctionColumn("sklearn fit", "scikit-learn GaussianMixture.fit, median of 3 runs in GlobalSetup of the same process",
            (s, c) => GmmFitBenchmarks.PeerFor(c)?.Peer is { } p ? $"{p.FitMedian * 1e3:F0} ms" : null));
        AddColumn(new FunctionColumn("sklearn EM only", "scikit-learn's 10 EM iterations alone (_e_step + _m_step), median of 3",
            (s, c) => GmmFitBenchmarks.PeerFor(c)?.Peer is { } p ? $"{p.EmMedian * 1e3:F0} ms" : null));
        AddColumn(new FunctionColumn("Speed-up vs fit", "sklearn fit median / engine Fit median",
            (s, c) => Ratio(s, c, p => p.FitMedian)));
        AddColumn(new FunctionColumn("Speed-up vs EM only", "sklearn EM-only median / engine Fit median",
            (s, c) => Ratio(s, c, p => p.EmMedian)));
        AddColumn(new FunctionColumn("Bound match", "|engine - sklearn| / |sklearn| of the final lower bound (same computation on both sides)",
            (s, c) => GmmFitBenchmarks.PeerFor(c) is { Peer: { } p } v ? (Math.Abs(v.EngineBound - p.LowerBound) / Math.Abs(p.LowerBound)).ToString("E1") : null));
    }

    private static string? Ratio(Summary summary, BenchmarkCase c, Func<PeerTiming, double> seconds)
    {
        double? ns = summary[c]?.ResultStatistics?.Median;
        return ns is > 0 && GmmFitBenchmarks.PeerFor(c)?.Peer is { } p ? $"{seconds(p) * 1e9 / ns.Value:F1}x" : null;
    }
}
