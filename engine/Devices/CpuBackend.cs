using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Engine.Kernels;
using Engine.Kernels.Cpu;
using Engine.Mixtures;

namespace Engine.Devices;

/// <summary>
/// The CPU implementation of <see cref="Backend"/>: managed arrays from an exact-size pool, and one generic class
/// (<see cref="Typed{T}"/>, instantiated for float and double) that maps tensors to spans and calls the kernels of
/// Engine.Kernels.Cpu. No loops over elements live here.
/// </summary>
internal sealed class CpuBackend : Backend
{
    private readonly Device _device;
    private readonly ExactSizePool<CpuStorage> _pool = new();

    public CpuBackend(Device device)
    {
        _device = device;
        UseKernels(new Typed<float>(), new Typed<double>());
    }

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

    private protected override unsafe MixtureEStep CreateMixture(MixtureCovariance type, int components, int dimensions, double* x, int rows, bool scoring) =>
        new CpuMixtureEStep(type, components, dimensions, x, rows, scoring);

    /// <summary>The kernels on element type <typeparamref name="T"/>: float or double.</summary>
    private sealed class Typed<T> : DTypeKernels where T : unmanaged, IFloatingPointIeee754<T>
    {
        private static Span<T> S(Tensor t) => Unsafe.As<T[]>(((CpuStorage)t.Storage).Array).AsSpan(t._offset, t.Count);
        private static Span<T> All(Tensor t) => Unsafe.As<T[]>(((CpuStorage)t.Storage).Array).AsSpan(t._offset);
        private static Span<T> SOrEmpty(Tensor? t) => t is null ? default : S(t);
        private static T C(double v) => T.CreateTruncating(v);

        // Kernels with separate float and double overloads (no generic entry point): the type test is a constant
        // of each instantiation, so the JIT keeps one branch.
        private static bool IsFloat => typeof(T) == typeof(float);
        private static Span<float> F(Span<T> s) => MemoryMarshal.Cast<T, float>(s);
        private static Span<double> D(Span<T> s) => MemoryMarshal.Cast<T, double>(s);

        public override void Fill(Tensor y, double value) => S(y).Fill(C(value));
        public override void CopyFrom(ReadOnlySpan<byte> src, Tensor dst) => MemoryMarshal.Cast<byte, T>(src).CopyTo(S(dst));
        public override void CopyTo(Tensor src, Span<byte> dst) => S(src).CopyTo(MemoryMarshal.Cast<byte, T>(dst));

        public override void Copy(Tensor src, Tensor dst, bool accumulate)
        {
            Span<T> s = S(src), d = S(dst);
            if (accumulate) TensorPrimitives.Add(d, s, d); else s.CopyTo(d);
        }

        public override void StridedCopy(Tensor x, ReadOnlySpan<int> xStrides, Tensor y, ReadOnlySpan<int> shape, bool accumulate) =>
            Strided.Copy<T>(All(x), xStrides, S(y), shape, accumulate);

        public override void SumInto(Tensor src, ReadOnlySpan<int> shape, Tensor dst, ReadOnlySpan<int> dstStrides) =>
            Strided.SumInto<T>(S(src), shape, S(dst), dstStrides);

        public override void Unary(UnaryOp op, Tensor x, Tensor y, double p0, double p1) =>
            Kernels.Cpu.Unary.Forward<T>(op, S(x), S(y), C(p0), C(p1));

        public override void UnaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor dy, Tensor dx, double p0, double p1) =>
            Kernels.Cpu.Unary.BackwardAccumulate<T>(op, S(x), S(y), S(dy), S(dx), C(p0), C(p1));

        public override void Binary(BinaryOp op, Tensor a, ReadOnlySpan<int> aStrides, Tensor b, ReadOnlySpan<int> bStrides, Tensor y, ReadOnlySpan<int> shape) =>
            Strided.Binary<T>(op, S(a), aStrides, S(b), bStrides, S(y), shape);

        public override void Where(Tensor mask, ReadOnlySpan<int> mStrides, Tensor a, ReadOnlySpan<int> aStrides, Tensor b, ReadOnlySpan<int> bStrides, Tensor y, ReadOnlySpan<int> shape) =>
            Strided.Where<T>(S(mask), mStrides, S(a), aStrides, S(b), bStrides, S(y), shape);

        public override void Reduce(ReduceOp op, Tensor x, int outer, int n, int inner, Tensor y) => Axis.Reduce<T>(op, S(x), outer, n, inner, S(y));

        public override void ReduceBackward(ReduceOp op, Tensor x, Tensor y, Tensor dy, Tensor dx, int outer, int n, int inner) =>
            Axis.ReduceBackward<T>(op, S(x), S(y), S(dy), S(dx), outer, n, inner);

        public override void Normalize(NormalizeOp op, Tensor x, int outer, int n, int inner, Tensor y) => Axis.Normalize<T>(op, S(x), outer, n, inner, S(y));

        public override void NormalizeBackward(NormalizeOp op, Tensor y, Tensor dy, Tensor dx, int outer, int n, int inner) =>
            Axis.NormalizeBackward<T>(op, S(y), S(dy), S(dx), outer, n, inner);

        public override void CopyBlock(Tensor small, int nSmall, Tensor big, int nBig, int start, int outer, int inner, bool intoBig, bool accumulate) =>
            Axis.CopyBlock<T>(S(small), nSmall, S(big), nBig, start, outer, inner, intoBig, accumulate);

        public override void GatherRows(Tensor src, int rowLength, ReadOnlySpan<int> indices, Tensor dst) => Rows.Gather<T>(S(src), rowLength, indices, S(dst));

        public override void ScatterAddRows(Tensor src, int rowLength, ReadOnlySpan<int> indices, Tensor dst) => Rows.ScatterAdd<T>(S(src), rowLength, indices, S(dst));

        public override void Gemm(bool transA, bool transB, int m, int n, int k, double alpha,
            Tensor a, int aOffset, int lda, Tensor b, int bOffset, int ldb, double beta, Tensor c, int cOffset, int ldc)
        {
            Span<T> sa = All(a)[aOffset..], sb = All(b)[bOffset..], sc = All(c)[cOffset..];
            if (IsFloat) Kernels.Cpu.Gemm.Compute(transA, transB, m, n, k, (float)alpha, F(sa), lda, F(sb), ldb, (float)beta, F(sc), ldc);
            else Kernels.Cpu.Gemm.Compute(transA, transB, m, n, k, alpha, D(sa), lda, D(sb), ldb, beta, D(sc), ldc);
        }

        public override void BceWithLogitsRows(Tensor logits, Tensor targets, Tensor outRows, int row0, int rows, int cols)
        {
            Span<T> l = S(logits).Slice(row0 * cols, rows * cols), t = S(targets), o = S(outRows).Slice(row0, rows);
            if (IsFloat) Fused.BceWithLogitsRowSum(F(l), F(t), F(o), rows, cols);
            else Fused.BceWithLogitsRowSum(D(l), D(t), D(o), rows, cols);
        }

        public override void BceWithLogitsRowsBackward(Tensor logits, Tensor targets, Tensor dyRows, Tensor? dLogits, Tensor? dTargets, int row0, int rows, int cols)
        {
            int e0 = row0 * cols, len = rows * cols;
            LossGradients.BceWithLogitsRows<T>(S(logits).Slice(e0, len), S(targets), S(dyRows).Slice(row0, rows),
                dLogits is null ? default : S(dLogits).Slice(e0, len), SOrEmpty(dTargets), rows, cols);
        }

        public override void GaussianLogDensityRows(Tensor x, Tensor mu, Tensor logvar, Tensor outRows, int rows, int cols)
        {
            if (IsFloat) Fused.GaussianLogDensityRows(F(S(x)), F(S(mu)), F(S(logvar)), F(S(outRows)), rows, cols);
            else Fused.GaussianLogDensityRows(D(S(x)), D(S(mu)), D(S(logvar)), D(S(outRows)), rows, cols);
        }

        public override void GaussianLogDensityRowsBackward(Tensor x, Tensor mu, Tensor logvar, Tensor dyRows, Tensor? dx, Tensor? dMu, Tensor? dLogvar, int rows, int cols) =>
            LossGradients.GaussianLogDensityRows<T>(S(x), S(mu), S(logvar), S(dyRows), SOrEmpty(dx), SOrEmpty(dMu), SOrEmpty(dLogvar), rows, cols);

        public override void RandomUniform(Tensor y, ulong seed, ulong offset, double low, double high)
        {
            if (IsFloat) RandomFill.Uniform(seed, offset, F(S(y)), (float)low, (float)high);
            else RandomFill.Uniform(seed, offset, D(S(y)), low, high);
        }

        public override void RandomNormal(Tensor y, ulong seed, ulong offset, double mean, double std)
        {
            if (IsFloat) RandomFill.Normal(seed, offset, F(S(y)), (float)mean, (float)std);
            else RandomFill.Normal(seed, offset, D(S(y)), mean, std);
        }

        public override void AdamUpdate(Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2, double eps, double weightDecay, bool decoupled, int step)
        {
            if (IsFloat)
                Fused.AdamUpdate(F(S(param)), F(S(grad)), F(S(m)), F(S(v)), (float)lr, (float)beta1, (float)beta2, (float)eps, (float)weightDecay, decoupled, step);
            else
                Fused.AdamUpdate(D(S(param)), D(S(grad)), D(S(m)), D(S(v)), lr, beta1, beta2, eps, weightDecay, decoupled, step);
        }

        public override void SgdUpdate(Tensor param, Tensor grad, Tensor? momentumBuffer, double lr, double momentum, double dampening, double weightDecay, bool nesterov, bool firstStep) =>
            SgdKernel.Apply<T>(S(param), S(grad), SOrEmpty(momentumBuffer), C(lr), C(momentum), C(dampening), C(weightDecay), nesterov, firstStep);

        public override double SumOfSquares(Tensor x) => double.CreateTruncating(TensorPrimitives.SumOfSquares<T>(S(x)));

        public override bool AllFinite(Tensor x) => TensorPrimitives.IsFiniteAll<T>(S(x));
    }
}
