using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Engine.Kernels.Cpu;
using Engine.Kernels.Reference;

namespace Engine.Benchmarks.Kernels;

/// <summary>
/// The elementwise and axis kernels on a VAE-sized float32 input ([128, 784]: a batch of MNIST images), each against
/// its plain scalar twin (Baseline = true, in the same category), so the Ratio column is the time relative to
/// scalar (1/speed-up). For row logsumexp and softmax a third variant composes TensorPrimitives calls the way the
/// kernels did before they were fused (max, then subtract / exp / sum over 256-element stack chunks, and for
/// softmax exp(x - lse) as a second pass), to show what the hand-written fusion gains over it.
/// Run: <c>dotnet run -c Release --project benchmarks -- --filter '*ElementwiseBenchmarks*'</c>.
/// </summary>
[Config(typeof(ShortConfig))]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class ElementwiseBenchmarks
{
    private const int Rows = 128, Cols = 784;

    private float[] _x = null!, _y = null!, _sm = null!, _lsm = null!, _lse = null!, _dyRows = null!, _dy = null!, _dx = null!;
    private float[] _bias = null!, _col = null!;
    private static readonly int[] Shape = { Rows, Cols }, XStrides = { Cols, 1 }, BiasStrides = { 0, 1 };

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        float[] F(int n, double lo, double hi) => Enumerable.Range(0, n).Select(_ => (float)(lo + (hi - lo) * rng.NextDouble())).ToArray();
        _x = F(Rows * Cols, -6, 6);
        _y = new float[Rows * Cols];
        _sm = new float[Rows * Cols];
        _lsm = new float[Rows * Cols];
        _lse = new float[Rows];
        ReferenceAxis.Normalize<float>(NormalizeOp.Softmax, _x, Rows, Cols, 1, _sm);
        ReferenceAxis.Normalize<float>(NormalizeOp.LogSoftmax, _x, Rows, Cols, 1, _lsm);
        ReferenceAxis.Reduce<float>(ReduceOp.LogSumExp, _x, Rows, Cols, 1, _lse);
        _dyRows = F(Rows, -1, 1);
        _dy = F(Rows * Cols, -1, 1);
        _dx = new float[Rows * Cols];
        _bias = F(Cols, -0.5, 0.5);
        _col = new float[Cols];
    }

    // ---- row logsumexp [128, 784] -> [128]

    [Benchmark(Baseline = true), BenchmarkCategory("RowLogSumExp")]
    public void RowLogSumExp_Scalar() => ReferenceAxis.Reduce<float>(ReduceOp.LogSumExp, _x, Rows, Cols, 1, _lse);

    [Benchmark, BenchmarkCategory("RowLogSumExp")]
    public void RowLogSumExp_TensorPrimitives()
    {
        for (int r = 0; r < Rows; r++) _lse[r] = TpLogSumExp(_x.AsSpan(r * Cols, Cols));
    }

    [Benchmark, BenchmarkCategory("RowLogSumExp")]
    public void RowLogSumExp_Kernel() => Axis.Reduce<float>(ReduceOp.LogSumExp, _x, Rows, Cols, 1, _lse);

    // ---- row softmax and log-softmax

    [Benchmark(Baseline = true), BenchmarkCategory("RowSoftmax")]
    public void RowSoftmax_Scalar() => ReferenceAxis.Normalize<float>(NormalizeOp.Softmax, _x, Rows, Cols, 1, _y);

    [Benchmark, BenchmarkCategory("RowSoftmax")]
    public void RowSoftmax_TensorPrimitives()
    {
        for (int r = 0; r < Rows; r++)
        {
            var xr = _x.AsSpan(r * Cols, Cols);
            var yr = _y.AsSpan(r * Cols, Cols);
            TensorPrimitives.Subtract(xr, TpLogSumExp(xr), yr);
            TensorPrimitives.Exp(yr, yr);
        }
    }

    [Benchmark, BenchmarkCategory("RowSoftmax")]
    public void RowSoftmax_Kernel() => Axis.Normalize<float>(NormalizeOp.Softmax, _x, Rows, Cols, 1, _y);

    [Benchmark(Baseline = true), BenchmarkCategory("RowLogSoftmax")]
    public void RowLogSoftmax_Scalar() => ReferenceAxis.Normalize<float>(NormalizeOp.LogSoftmax, _x, Rows, Cols, 1, _y);

    [Benchmark, BenchmarkCategory("RowLogSoftmax")]
    public void RowLogSoftmax_Kernel() => Axis.Normalize<float>(NormalizeOp.LogSoftmax, _x, Rows, Cols, 1, _y);

    // ---- their backward rules (dx += ...)

    [Benchmark(Baseline = true), BenchmarkCategory("RowLogSumExpBackward")]
    public void RowLogSumExpBackward_Scalar() => ReferenceAxis.ReduceBackward<float>(ReduceOp.LogSumExp, _x, _lse, _dyRows, _dx, Rows, Cols, 1);

    [Benchmark, BenchmarkCategory("RowLogSumExpBackward")]
    public void RowLogSumExpBackward_Kernel() => Axis.ReduceBackward<float>(ReduceOp.LogSumExp, _x, _lse, _dyRows, _dx, Rows, Cols, 1);

    [Benchmark(Baseline = true), BenchmarkCategory("RowSoftmaxBackward")]
    public void RowSoftmaxBackward_Scalar() => ReferenceAxis.NormalizeBackward<float>(NormalizeOp.Softmax, _sm, _dy, _dx, Rows, Cols, 1);

    [Benchmark, BenchmarkCategory("RowSoftmaxBackward")]
    public void RowSoftmaxBackward_Kernel() => Axis.NormalizeBackward<float>(NormalizeOp.Softmax, _sm, _dy, _dx, Rows, Cols, 1);

    [Benchmark(Baseline = true), BenchmarkCategory("RowLogSoftmaxBackward")]
    public void RowLogSoftmaxBackward_Scalar() => ReferenceAxis.NormalizeBackward<float>(NormalizeOp.LogSoftmax, _lsm, _dy, _dx, Rows, Cols, 1);

    [Benchmark, BenchmarkCategory("RowLogSoftmaxBackward")]
    public void RowLogSoftmaxBackward_Kernel() => Axis.NormalizeBackward<float>(NormalizeOp.LogSoftmax, _lsm, _dy, _dx, Rows, Cols, 1);

    // ---- column sum [128, 784] -> [784] (a bias gradient)

    [Benchmark(Baseline = true), BenchmarkCategory("ColumnSum")]
    public void ColumnSum_Scalar() => ReferenceAxis.Reduce<float>(ReduceOp.Sum, _x, 1, Rows, Cols, _col);

    [Benchmark, BenchmarkCategory("ColumnSum")]
    public void ColumnSum_Kernel() => Axis.Reduce<float>(ReduceOp.Sum, _x, 1, Rows, Cols, _col);

    // ---- broadcast add of a row vector (a bias)

    [Benchmark(Baseline = true), BenchmarkCategory("BroadcastAddRow")]
    public void BroadcastAddRow_Scalar() => ReferenceElementwise.Binary<float>(BinaryOp.Add, _x, XStrides, _bias, BiasStrides, _y, Shape);

    [Benchmark, BenchmarkCategory("BroadcastAddRow")]
    public void BroadcastAddRow_Kernel() => Strided.Binary<float>(BinaryOp.Add, _x, XStrides, _bias, BiasStrides, _y, Shape);

    // ---- unary rules

    [Benchmark(Baseline = true), BenchmarkCategory("ReluBackward")]
    public void ReluBackward_Scalar() => ReferenceElementwise.UnaryBackwardAccumulate<float>(UnaryOp.Relu, _x, _x, _dy, _dx, 0, 0);

    [Benchmark, BenchmarkCategory("ReluBackward")]
    public void ReluBackward_Kernel() => Unary.BackwardAccumulate<float>(UnaryOp.Relu, _x, _x, _dy, _dx, 0, 0);

    [Benchmark(Baseline = true), BenchmarkCategory("SoftplusForward")]
    public void SoftplusForward_Scalar() => ReferenceElementwise.UnaryForward<float>(UnaryOp.Softplus, _x, _y, 0, 0);

    [Benchmark, BenchmarkCategory("SoftplusForward")]
    public void SoftplusForward_Kernel() => Unary.Forward<float>(UnaryOp.Softplus, _x, _y, 0, 0);

    [Benchmark(Baseline = true), BenchmarkCategory("SoftplusBackward")]
    public void SoftplusBackward_Scalar() => ReferenceElementwise.UnaryBackwardAccumulate<float>(UnaryOp.Softplus, _x, _x, _dy, _dx, 0, 0);

    [Benchmark, BenchmarkCategory("SoftplusBackward")]
    public void SoftplusBackward_Kernel() => Unary.BackwardAccumulate<float>(UnaryOp.Softplus, _x, _x, _dy, _dx, 0, 0);

    [Benchmark(Baseline = true), BenchmarkCategory("SquareBackward")]
    public void SquareBackward_Scalar() => ReferenceElementwise.UnaryBackwardAccumulate<float>(UnaryOp.Square, _x, _x, _dy, _dx, 0, 0);

    [Benchmark, BenchmarkCategory("SquareBackward")]
    public void SquareBackward_Kernel() => Unary.BackwardAccumulate<float>(UnaryOp.Square, _x, _x, _dy, _dx, 0, 0);

    // The row logsumexp as the kernel computed it before fusion: TensorPrimitives max, then subtract, exp and sum
    // over 256-element stack chunks.
    private static float TpLogSumExp(ReadOnlySpan<float> row)
    {
        float m = TensorPrimitives.Max(row);
        if (!float.IsFinite(m)) return m;
        Span<float> t = stackalloc float[256];
        float s = 0;
        for (int start = 0; start < row.Length; start += 256)
        {
            int len = Math.Min(256, row.Length - start);
            var ts = t[..len];
            TensorPrimitives.Subtract(row.Slice(start, len), m, ts);
            TensorPrimitives.Exp(ts, ts);
            s += TensorPrimitives.Sum(ts);
        }
        return m + MathF.Log(s);
    }
}
