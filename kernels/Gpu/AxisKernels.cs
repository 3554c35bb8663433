using System.Numerics;
using ILGPU;
using Engine.Kernels.Cpu;

namespace Engine.Kernels.Gpu;

/// <summary>
/// Kernels along the middle axis of a contiguous tensor viewed as [outer, n, inner], with the semantics of
/// <see cref="Cpu.Axis"/> and its twins in <see cref="Reference.ReferenceAxis"/> (PyTorch's conventions for empty axes,
/// infinities and NaN). Two shapes of parallelism: <c>*Rows</c> kernels (inner == 1) give each row to a group whose
/// threads split the row and combine by a tree (<see cref="GroupReduce"/>); <c>*Columns</c> kernels (inner &gt; 1)
/// give each (o, i) column to one thread, which walks j in order, so neighbouring threads read neighbouring
/// addresses and sums are taken left to right as the twins take them.
/// </summary>
public static class AxisKernels
{
    /// <summary>y[o] = reduce_j x[o, j] for <see cref="ReduceOp"/> <paramref name="op"/>; <paramref name="count"/> = n in T (for the mean).</summary>
    public static void ReduceRows<T>(ArrayView<T> x, ArrayView<T> y, int outer, int n, int op, T count) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var shared = SharedMemory.GetDynamic<T>();
        for (int o = Grid.IdxX; o < outer; o += Grid.DimX)
        {
            int b = o * n;
            T r;
            if (op == (int)ReduceOp.Sum || op == (int)ReduceOp.Mean)
            {
                T s = T.Zero;
                for (int j = Group.IdxX; j < n; j += Group.DimX) s += x[b + j];
                r = GroupReduce.Sum(shared, s);
                if (op == (int)ReduceOp.Mean) r /= count;
            }
            else
            {
                T m = T.NegativeInfinity;
                for (int j = Group.IdxX; j < n; j += Group.DimX) m = DeviceMath.Max(m, x[b + j]);
                r = GroupReduce.Max(shared, m);
                if (op == (int)ReduceOp.LogSumExp && DeviceMath.IsFinite(r))
                {
                    T s = T.Zero;
                    for (int j = Group.IdxX; j < n; j += Group.DimX) s += T.Exp(x[b + j] - r);
                    r += T.Log(GroupReduce.Sum(shared, s));
                }
            }
            if (Group.IdxX == 0) y[o] = r;
        }
    }

    /// <summary>y[o, i] = reduce_j x[o, j, i], one thread per (o, i).</summary>
    public static void ReduceColumns<T>(ArrayView<T> x, ArrayView<T> y, int outer, int n, int inner, int op, T count) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int total = outer * inner;
        for (int e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            int o = e / inner, i = e - o * inner;
            int b = o * n * inner + i;
            T r;
            if (op == (int)ReduceOp.Sum || op == (int)ReduceOp.Mean)
            {
                r = T.Zero;
                for (int j = 0; j < n; j++) r += x[b + j * inner];
                if (op == (int)ReduceOp.Mean) r /= count;
            }
            else
            {
                r = T.NegativeInfinity;
                for (int j = 0; j < n; j++) r = DeviceMath.Max(r, x[b + j * inner]);
                if (op == (int)ReduceOp.LogSumExp && DeviceMath.IsFinite(r))
                {
                    T s = T.Zero;
                    for (int j = 0; j < n; j++) s += T.Exp(x[b + j * inner] - r);
                    r += T.Log(s);
                }
            }
            y[e] = r;
        }
    }

    /// <summary>
    /// dx += the backward of sum (dy), mean (dy · invN) or logsumexp (dy · e^(x - y)), one thread per element of x.
    /// (Max has its own kernel: only the first maximal element of a column receives the gradient.)
    /// </summary>
    public static void ReduceBackward<T>(ArrayView<T> x, ArrayView<T> y, ArrayView<T> dy, ArrayView<T> dx, int outer, int n, int inner, int op, T invN)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int total = outer * n * inner;
        int block = n * inner;
        for (int e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            int o = e / block;
            int i = (e - o * block) % inner;
            int k = o * inner + i;
            T g = dy[k];
            if (op == (int)ReduceOp.Sum) dx[e] += g;
            else if (op == (int)ReduceOp.Mean) dx[e] += g * invN;
            else dx[e] += g * T.Exp(x[e] - y[k]);
        }
    }

    /// <summary>dx += dy at the first j with x == y (or both NaN) in each (o, i) column, one thread per column.</summary>
    public static void MaxBackward<T>(ArrayView<T> x, ArrayView<T> y, ArrayView<T> dy, ArrayView<T> dx, int outer, int n, int inner)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int total = outer * inner;
        for (int e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            int o = e / inner, i = e - o * inner;
            int b = o * n * inner + i;
            T r = y[e];
            for (int j = 0; j < n; j++)
            {
                T v = x[b + j * inner];
                if (v == r || (T.IsNaN(v) && T.IsNaN(r)))
                {
                    dx[b + j * inner] += dy[e];
                    break;
                }
            }
        }
    }

    /// <summary>y = softmax (e^(x - m) / s) or log-softmax ((x - m) - ln s) of each row, a group per row; NaN throughout
    /// when the row's max m is not finite.</summary>
    public static void NormalizeRows<T>(ArrayView<T> x, ArrayView<T> y, int outer, int n, int op) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var shared = SharedMemory.GetDynamic<T>();
        for (int o = Grid.IdxX; o < outer; o += Grid.DimX)
        {
            int b = o * n;
            T m = T.NegativeInfinity;
            for (int j = Group.IdxX; j < n; j += Group.DimX) m = DeviceMath.Max(m, x[b + j]);
            m = GroupReduce.Max(shared, m);
            if (!DeviceMath.IsFinite(m))
            {
                for (int j = Group.IdxX; j < n; j += Group.DimX) y[b + j] = T.NaN;
                continue;
            }
            T s = T.Zero;
            for (int j = Group.IdxX; j < n; j += Group.DimX) s += T.Exp(x[b + j] - m);
            s = GroupReduce.Sum(shared, s);
            if (op == (int)NormalizeOp.Softmax)
                for (int j = Group.IdxX; j < n; j += Group.DimX) y[b + j] = T.Exp(x[b + j] - m) / s;
            else
            {
                T ls = T.Log(s);
                for (int j = Group.IdxX; j < n; j += Group.DimX) y[b + j] = x[b + j] - m - ls;
            }
        }
    }

    /// <summary>Softmax or log-softmax along j of each (o, i) column, one thread per column.</summary>
    public static void NormalizeColumns<T>(ArrayView<T> x, ArrayView<T> y, int outer, int n, int inner, int op) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int total = outer * inner;
        for (int e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            int o = e / inner, i = e - o * inner;
            int b = o * n * inner + i;
            T m = T.NegativeInfinity;
            for (int j = 0; j < n; j++) m = DeviceMath.Max(m, x[b + j * inner]);
            T s = T.Zero;
            for (int j = 0; j < n; j++) s += T.Exp(x[b + j * inner] - m);
            T ls = T.Log(s);
            for (int j = 0; j < n; j++)
            {
                int k = b + j * inner;
                y[k] = op == (int)NormalizeOp.Softmax ? T.Exp(x[k] - m) / s : x[k] - m - ls;
            }
        }
    }

    /// <summary>dx += y (dy - sum_j dy y) (softmax) or dy - e^y sum_j dy (log-softmax) for each row, a group per row.</summary>
    public static void NormalizeBackwardRows<T>(ArrayView<T> y, ArrayView<T> dy, ArrayView<T> dx, int outer, int n, int op) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var shared = SharedMemory.GetDynamic<T>();
        bool softmax = op == (int)NormalizeOp.Softmax;
        for (int o = Grid.IdxX; o < outer; o += Grid.DimX)
        {
            int b = o * n;
            T s = T.Zero;
            for (int j = Group.IdxX; j < n; j += Group.DimX) s += softmax ? dy[b + j] * y[b + j] : dy[b + j];
            s = GroupReduce.Sum(shared, s);
            for (int j = Group.IdxX; j < n; j += Group.DimX)
            {
                int k = b + j;
                dx[k] += softmax ? y[k] * (dy[k] - s) : dy[k] - T.Exp(y[k]) * s;
            }
        }
    }

    /// <summary>The backward of softmax or log-softmax along j of each (o, i) column, one thread per column.</summary>
    public static void NormalizeBackwardColumns<T>(ArrayView<T> y, ArrayView<T> dy, ArrayView<T> dx, int outer, int n, int inner, int op)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool softmax = op == (int)NormalizeOp.Softmax;
        int total = outer * inner;
        for (int e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            int o = e / inner, i = e - o * inner;
            int b = o * n * inner + i;
            T s = T.Zero;
            for (int j = 0; j < n; j++) s += softmax ? dy[b + j * inner] * y[b + j * inner] : dy[b + j * inner];
            for (int j = 0; j < n; j++)
            {
                int k = b + j * inner;
                dx[k] += softmax ? y[k] * (dy[k] - s) : dy[k] - T.Exp(y[k]) * s;
            }
        }
    }

    /// <summary>
    /// small [outer, nSmall, inner] copied into big [outer, nBig, inner] at <paramref name="start"/> of the middle axis
    /// (<paramref name="intoBig"/> 1) or out of it (0), overwriting or adding; one thread per element of small.
    /// </summary>
    public static void CopyBlock<T>(ArrayView<T> small, ArrayView<T> big, int outer, int nSmall, int nBig, int start, int inner, int intoBig, int accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int len = nSmall * inner;
        int total = outer * len;
        for (int e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            int o = e / len;
            int kb = (o * nBig + start) * inner + (e - o * len);
            if (intoBig != 0) big[kb] = accumulate != 0 ? big[kb] + small[e] : small[e];
            else small[e] = accumulate != 0 ? small[e] + big[kb] : big[kb];
        }
    }

    /// <summary>dst[i, :] = src[indices[i], :], one thread per element of dst.</summary>
    public static void GatherRows<T>(ArrayView<T> src, ArrayView<int> indices, ArrayView<T> dst, int count, int rowLength) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int total = count * rowLength;
        for (int e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            int i = e / rowLength;
            dst[e] = src[indices[i] * rowLength + (e - i * rowLength)];
        }
    }

    /// <summary>dst[indices[i], :] += src[i, :] for i in order; one thread per column, so repeated indices accumulate
    /// in order without atomics.</summary>
    public static void ScatterAddRows<T>(ArrayView<T> src, ArrayView<int> indices, ArrayView<T> dst, int count, int rowLength) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int c = Grid.GlobalIndex.X; c < rowLength; c += Grid.DimX * Group.DimX)
            for (int i = 0; i < count; i++)
                dst[indices[i] * rowLength + c] += src[i * rowLength + c];
    }
}
