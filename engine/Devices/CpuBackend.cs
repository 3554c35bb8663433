using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using Engine.Kernels.Cpu;

namespace Engine.Devices;

/// <summary>
/// The CPU implementation of <see cref="Backend"/>: each method picks the float or double instantiation of a
/// kernel from Engine.Kernels.Cpu. No loops over elements live here.
/// </summary>
internal sealed class CpuBackend : Backend
{
    private readonly Device _device;
    private readonly ExactSizePool<CpuStorage> _pool = new();

    public CpuBackend(Device device) => _device = device;

    private static Span<float> F(Tensor t) => Unsafe.As<float[]>(((CpuStorage)t.Storage).Array).AsSpan(t._offset, t.Count);
    private static Span<double> D(Tensor t) => Unsafe.As<double[]>(((CpuStorage)t.Storage).Array).AsSpan(t._offset, t.Count);
    private static Span<float> FAll(Tensor t) => Unsafe.As<float[]>(((CpuStorage)t.Storage).Array).AsSpan(t._offset);
    private static Span<double> DAll(Tensor t) => Unsafe.As<double[]>(((CpuStorage)t.Storage).Array).AsSpan(t._offset);
    private static bool IsF(Tensor t) => t.DType == DType.Float32;

    public override Storage Allocate(DType dtype, int length, bool pooled)
    {
        if (pooled && _pool.TryRent(dtype, length) is { } s) return s;
        Array a = dtype == DType.Float32 ? new float[length] : new double[length];
        return new CpuStorage(_device, dtype, a, length, pooled);
    }

    public override void Release(Storage storage)
    {
        if (storage is CpuStorage { Pooled: true } s) _pool.Return(s);
    }

    public override long PooledBytes => _pool.Bytes;

    public override void Fill(Tensor y, double value)
    {
        if (IsF(y)) F(y).Fill((float)value); else D(y).Fill(value);
    }

    public override void CopyFrom<T>(ReadOnlySpan<T> src, Tensor dst)
    {
        if (typeof(T) == typeof(float)) System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(src).CopyTo(F(dst));
        else System.Runtime.InteropServices.MemoryMarshal.Cast<T, double>(src).CopyTo(D(dst));
    }

    public override void CopyTo<T>(Tensor src, Span<T> dst)
    {
        if (typeof(T) == typeof(float)) F(src).CopyTo(System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(dst));
        else D(src).CopyTo(System.Runtime.InteropServices.MemoryMarshal.Cast<T, double>(dst));
    }

    public override void Copy(Tensor src, Tensor dst, bool accumulate)
    {
        if (IsF(src)) CopyCore(F(src), F(dst), accumulate); else CopyCore(D(src), D(dst), accumulate);
    }

    private static void CopyCore<T>(Span<T> s, Span<T> d, bool acc) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (acc) TensorPrimitives.Add(d, s, d); else s.CopyTo(d);
    }

    public override void StridedCopy(Tensor x, ReadOnlySpan<int> xStrides, Tensor y, ReadOnlySpan<int> shape, bool accumulate)
    {
        if (IsF(x)) Strided.Copy<float>(FAll(x), xStrides, F(y), shape, accumulate);
        else Strided.Copy<double>(DAll(x), xStrides, D(y), shape, accumulate);
    }

    public override void SumInto(Tensor src, ReadOnlySpan<int> shape, Tensor dst, ReadOnlySpan<int> dstStrides)
    {
        if (IsF(src)) Strided.SumInto<float>(F(src), shape, F(dst), dstStrides);
        else Strided.SumInto<double>(D(src), shape, D(dst), dstStrides);
    }

    public override void Unary(UnaryOp op, Tensor x, Tensor y, double p0, double p1)
    {
        if (IsF(x)) Kernels.Cpu.Unary.Forward(op, F(x), F(y), (float)p0, (float)p1);
        else Kernels.Cpu.Unary.Forward(op, D(x), D(y), p0, p1);
    }

    public override void UnaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor dy, Tensor dx, double p0, double p1)
    {
        if (IsF(x)) Kernels.Cpu.Unary.BackwardAccumulate(op, F(x), F(y), F(dy), F(dx), (float)p0, (float)p1);
        else Kernels.Cpu.Unary.BackwardAccumulate(op, D(x), D(y), D(dy), D(dx), p0, p1);
    }

    public override void Binary(BinaryOp op, Tensor a, ReadOnlySpan<int> aStrides, Tensor b, ReadOnlySpan<int> bStrides, Tensor y, ReadOnlySpan<int> shape)
    {
        if (IsF(a)) Strided.Binary<float>(op, F(a), aStrides, F(b), bStrides, F(y), shape);
        else Strided.Binary<double>(op, D(a), aStrides, D(b), bStrides, D(y), shape);
    }

    public override void Where(Tensor mask, ReadOnlySpan<int> mStrides, Tensor a, ReadOnlySpan<int> aStrides, Tensor b, ReadOnlySpan<int> bStrides, Tensor y, ReadOnlySpan<int> shape)
    {
        if (IsF(a)) Strided.Where<float>(F(mask), mStrides, F(a), aStrides, F(b), bStrides, F(y), shape);
        else Strided.Where<double>(D(mask), mStrides, D(a), aStrides, D(b), bStrides, D(y), shape);
    }

    public override void Reduce(ReduceOp op, Tensor x, int outer, int n, int inner, Tensor y)
    {
        if (IsF(x)) Axis.Reduce<float>(op, F(x), outer, n, inner, F(y));
        else Axis.Reduce<double>(op, D(x), outer, n, inner, D(y));
    }

    public override void ReduceBackward(ReduceOp op, Tensor x, Tensor y, Tensor dy, Tensor dx, int outer, int n, int inner)
    {
        if (IsF(x)) Axis.ReduceBackward<float>(op, F(x), F(y), F(dy), F(dx), outer, n, inner);
        else Axis.ReduceBackward<double>(op, D(x), D(y), D(dy), D(dx), outer, n, inner);
    }

    public override void Normalize(NormalizeOp op, Tensor x, int outer, int n, int inner, Tensor y)
    {
        if (IsF(x)) Axis.Normalize<float>(op, F(x), outer, n, inner, F(y));
        else Axis.Normalize<double>(op, D(x), outer, n, inner, D(y));
    }

    public override void NormalizeBackward(NormalizeOp op, Tensor y, Tensor dy, Tensor dx, int outer, int n, int inner)
    {
        if (IsF(y)) Axis.NormalizeBackward<float>(op, F(y), F(dy), F(dx), outer, n, inner);
        else Axis.NormalizeBackward<double>(op, D(y), D(dy), D(dx), outer, n, inner);
    }

    public override void CopyBlock(Tensor small, int nSmall, Tensor big, int nBig, int start, int outer, int inner, bool intoBig, bool accumulate)
    {
        if (IsF(small)) Axis.CopyBlock<float>(F(small), nSmall, F(big), nBig, start, outer, inner, intoBig, accumulate);
        else Axis.CopyBlock<double>(D(small), nSmall, D(big), nBig, start, outer, inner, intoBig, accumulate);
    }

    public override void GatherRows(Tensor src, int rowLength, ReadOnlySpan<int> indices, Tensor dst)
    {
        if (IsF(src)) Rows.Gather<float>(F(src), rowLength, indices, F(dst));
        else Rows.Gather<double>(D(src), rowLength, indices, D(dst));
    }

    public override void ScatterAddRows(Tensor src, int rowLength, ReadOnlySpan<int> indices, Tensor dst)
    {
        if (IsF(src)) Rows.ScatterAdd<float>(F(src), rowLength, indices, F(dst));
        else Rows.ScatterAdd<double>(D(src), rowLength, indices, D(dst));
    }

    public override void Gemm(bool transA, bool transB, int m, int n, int k, double alpha,
        Tensor a, int aOffset, int lda, Tensor b, int bOffset, int ldb, double beta, Tensor c, int cOffset, int ldc)
    {
        if (IsF(a))
            Kernels.Cpu.Gemm.Compute(transA, transB, m, n, k, (float)alpha, FAll(a)[aOffset..], lda, FAll(b)[bOffset..], ldb, (float)beta, FAll(c)[cOffset..], ldc);
        else
            Kernels.Cpu.Gemm.Compute(transA, transB, m, n, k, alpha, DAll(a)[aOffset..], lda, DAll(b)[bOffset..], ldb, beta, DAll(c)[cOffset..], ldc);
    }

    public override void BceWithLogitsRows(Tensor logits, Tensor targets, Tensor outRows, int rows, int cols)
    {
        // Targets broadcast over leading sample axes are read in place, one block of targetRows rows at a time.
        int tRows = TargetRows(targets, rows, cols);
        for (int r0 = 0; r0 < rows; r0 += tRows)
        {
            if (IsF(logits)) Fused.BceWithLogitsRowSum(F(logits).Slice(r0 * cols, tRows * cols), F(targets), F(outRows).Slice(r0, tRows), tRows, cols);
            else Fused.BceWithLogitsRowSum(D(logits).Slice(r0 * cols, tRows * cols), D(targets), D(outRows).Slice(r0, tRows), tRows, cols);
        }
    }

    public override void BceWithLogitsRowsBackward(Tensor logits, Tensor targets, Tensor dyRows, Tensor? dLogits, Tensor? dTargets, int rows, int cols)
    {
        int tRows = TargetRows(targets, rows, cols);
        if (tRows != rows && dTargets is not null)
            throw new ArgumentException("bce_with_logits backward: broadcast targets take no gradient.", nameof(dTargets));
        for (int r0 = 0; r0 < rows; r0 += tRows)
        {
            int e0 = r0 * cols, len = tRows * cols;
            if (IsF(logits))
                LossGradients.BceWithLogitsRows<float>(F(logits).Slice(e0, len), F(targets), F(dyRows).Slice(r0, tRows),
                    dLogits is null ? default : F(dLogits).Slice(e0, len), dTargets is null ? default : F(dTargets), tRows, cols);
            else
                LossGradients.BceWithLogitsRows<double>(D(logits).Slice(e0, len), D(targets), D(dyRows).Slice(r0, tRows),
                    dLogits is null ? default : D(dLogits).Slice(e0, len), dTargets is null ? default : D(dTargets), tRows, cols);
        }
    }

    public override void GaussianLogDensityRows(Tensor x, Tensor mu, Tensor logvar, Tensor outRows, int rows, int cols)
    {
        if (IsF(x)) Fused.GaussianLogDensityRows(F(x), F(mu), F(logvar), F(outRows), rows, cols);
        else Fused.GaussianLogDensityRows(D(x), D(mu), D(logvar), D(outRows), rows, cols);
    }

    public override void GaussianLogDensityRowsBackward(Tensor x, Tensor mu, Tensor logvar, Tensor dyRows, Tensor? dx, Tensor? dMu, Tensor? dLogvar, int rows, int cols)
    {
        if (IsF(x))
            LossGradients.GaussianLogDensityRows<float>(F(x), F(mu), F(logvar), F(dyRows), dx is null ? default : F(dx), dMu is null ? default : F(dMu), dLogvar is null ? default : F(dLogvar), rows, cols);
        else
            LossGradients.GaussianLogDensityRows<double>(D(x), D(mu), D(logvar), D(dyRows), dx is null ? default : D(dx), dMu is null ? default : D(dMu), dLogvar is null ? default : D(dLogvar), rows, cols);
    }

    public override void RandomUniform(Tensor y, ulong seed, ulong offset, double low, double high)
    {
        if (IsF(y)) RandomFill.Uniform(seed, offset, F(y), (float)low, (float)high);
        else RandomFill.Uniform(seed, offset, D(y), low, high);
    }

    public override void RandomNormal(Tensor y, ulong seed, ulong offset, double mean, double std)
    {
        if (IsF(y)) RandomFill.Normal(seed, offset, F(y), (float)mean, (float)std);
        else RandomFill.Normal(seed, offset, D(y), mean, std);
    }

    public override ulong RandomBlocks(DType dtype, int count, bool normal) => RandomFill.BlocksUsed(count, dtype == DType.Float64, normal);

    public override void AdamUpdate(Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2, double eps, double weightDecay, bool decoupled, int step)
    {
        if (IsF(param))
            Fused.AdamUpdate(F(param), F(grad), F(m), F(v), (float)lr, (float)beta1, (float)beta2, (float)eps, (float)weightDecay, decoupled, step);
        else
            Fused.AdamUpdate(D(param), D(grad), D(m), D(v), lr, beta1, beta2, eps, weightDecay, decoupled, step);
    }

    public override void SgdUpdate(Tensor param, Tensor grad, Tensor? momentumBuffer, double lr, double momentum, double dampening, double weightDecay, bool nesterov, bool firstStep)
    {
        if (IsF(param))
            SgdKernel.Apply<float>(F(param), F(grad), momentumBuffer is null ? default : F(momentumBuffer), (float)lr, (float)momentum, (float)dampening, (float)weightDecay, nesterov, firstStep);
        else
            SgdKernel.Apply<double>(D(param), D(grad), momentumBuffer is null ? default : D(momentumBuffer), lr, momentum, dampening, weightDecay, nesterov, firstStep);
    }

    public override double SumOfSquares(Tensor x) => IsF(x) ? TensorPrimitives.SumOfSquares<float>(F(x)) : TensorPrimitives.SumOfSquares<double>(D(x));

    public override bool AllFinite(Tensor x) => IsF(x) ? TensorPrimitives.IsFiniteAll<float>(F(x)) : TensorPrimitives.IsFiniteAll<double>(D(x));
}
