using System.Numerics;
using Engine.Kernels.Rules;
using ILGPU;

namespace Engine.Kernels.Gpu;

/// <summary>
/// Broadcasting kernels over a <see cref="StridedIndex"/>: binary ops, three-way select and strided copies write a
/// contiguous output element per index; <see cref="SumIntoByThread{T}"/> and <see cref="SumIntoByGroup{T}"/> sum a
/// broadcast gradient back onto its operand with one owner per output element, so no two threads ever add into the
/// same place (no atomics, and the order of additions is fixed). Semantics are those of
/// <see cref="Cpu.Strided"/> and its twins in <see cref="Reference.ReferenceElementwise"/>; the binary ops evaluate
/// <see cref="BinaryRules"/>, the table the scalar reference evaluates too.
/// </summary>
public static class StridedKernels
{
    /// <summary>y[i] = a[i·A] op b[i·B] (operands A and B of <paramref name="s"/>). <paramref name="op"/> is a
    /// <see cref="Cpu.BinaryOp"/> the host has validated.</summary>
    public static void Binary<T>(ArrayView<T> a, ArrayView<T> b, ArrayView<T> y, StridedIndex s, int op) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = Grid.GlobalIndex.X; i < s.Count; i += Grid.DimX * Group.DimX)
        {
            s.Offsets(i, out int oa, out int ob, out _);
            y[i] = BinaryRules.Value((Cpu.BinaryOp)op, a[oa], b[ob]);
        }
    }

    /// <summary>y[i] = a[i] op b[i] on contiguous operands of one shape (the common case, without index arithmetic);
    /// <paramref name="op"/> as in <see cref="Binary{T}"/>.</summary>
    public static void BinaryContiguous<T>(ArrayView<T> a, ArrayView<T> b, ArrayView<T> y, int n, int op) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
            y[i] = BinaryRules.Value((Cpu.BinaryOp)op, a[i], b[i]);
    }

    /// <summary>y[i] = mask[i·A] != 0 ? a[i·B] : b[i·C] (a NaN mask selects a).</summary>
    public static void Where<T>(ArrayView<T> mask, ArrayView<T> a, ArrayView<T> b, ArrayView<T> y, StridedIndex s) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = Grid.GlobalIndex.X; i < s.Count; i += Grid.DimX * Group.DimX)
        {
            s.Offsets(i, out int om, out int oa, out int ob);
            y[i] = mask[om] != T.Zero ? a[oa] : b[ob];
        }
    }

    /// <summary>y[i] = x[i·A], or y[i] += x[i·A] when <paramref name="accumulate"/> is 1.</summary>
    public static void Copy<T>(ArrayView<T> x, ArrayView<T> y, StridedIndex s, int accumulate) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = Grid.GlobalIndex.X; i < s.Count; i += Grid.DimX * Group.DimX)
        {
            s.Offsets(i, out int ox, out _, out _);
            y[i] = accumulate != 0 ? y[i] + x[ox] : x[ox];
        }
    }

    /// <summary>
    /// dst[o] += sum over the reduced index space of src: one thread per kept index k (<paramref name="kept"/>: A = src
    /// offset, B = dst offset), adding the terms to dst[o] one at a time in row-major order of
    /// <paramref name="reduced"/> (A = src offset), exactly the order of the scalar twin.
    /// </summary>
    public static void SumIntoByThread<T>(ArrayView<T> src, ArrayView<T> dst, StridedIndex kept, StridedIndex reduced) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int k = Grid.GlobalIndex.X; k < kept.Count; k += Grid.DimX * Group.DimX)
        {
            kept.Offsets(k, out int sBase, out int o, out _);
            T acc = dst[o];
            for (int r = 0; r < reduced.Count; r++)
            {
                reduced.Offsets(r, out int so, out _, out _);
                acc += src[sBase + so];
            }
            dst[o] = acc;
        }
    }

    /// <summary>
    /// As <see cref="SumIntoByThread{T}"/> with one group per kept index: for a few outputs that each sum many terms
    /// (a bias gradient over a large batch), the group's threads split the terms and add them by a tree.
    /// </summary>
    public static void SumIntoByGroup<T>(ArrayView<T> src, ArrayView<T> dst, StridedIndex kept, StridedIndex reduced) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var shared = SharedMemory.GetDynamic<T>();
        for (int k = Grid.IdxX; k < kept.Count; k += Grid.DimX)
        {
            kept.Offsets(k, out int sBase, out int o, out _);
            T acc = T.Zero;
            for (int r = Group.IdxX; r < reduced.Count; r += Group.DimX)
            {
                reduced.Offsets(r, out int so, out _, out _);
                acc += src[sBase + so];
            }
            T total = GroupReduce.Sum(shared, acc);
            if (Group.IdxX == 0) dst[o] += total;
        }
    }
}
