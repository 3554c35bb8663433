using System.Runtime.CompilerServices;

namespace Engine.Kernels.Gpu;

/// <summary>
/// An N-d index space (rank &lt;= 6) with the strides of up to three operands, as a plain struct that travels to the
/// device as a kernel parameter. Dimensions are right-aligned: slot 5 is the innermost. <see cref="Create"/> drops
/// size-1 dimensions and merges neighbours that every operand walks contiguously ([rows, cols] + [cols] stays 2-D,
/// a contiguous copy becomes 1-D), so a kernel pays one division per dimension that really exists.
/// </summary>
public struct StridedIndex
{
    /// <summary>Number of dimensions after merging (0: a single element).</summary>
    public int Rank;
    /// <summary>Number of elements.</summary>
    public int Count;
    public int D0, D1, D2, D3, D4, D5;
    public int A0, A1, A2, A3, A4, A5;
    public int B0, B1, B2, B3, B4, B5;
    public int C0, C1, C2, C3, C4, C5;

    /// <summary>
    /// The index space of <paramref name="shape"/> with operand strides <paramref name="a"/>, <paramref name="b"/>,
    /// <paramref name="c"/> (an empty span: that operand is unused).
    /// </summary>
    public static StridedIndex Create(ReadOnlySpan<int> shape, ReadOnlySpan<int> a, ReadOnlySpan<int> b, ReadOnlySpan<int> c)
    {
        int rank = shape.Length;
        if (rank > 6) throw new ArgumentException($"Rank {rank} exceeds the 6 dimensions a device index supports.", nameof(shape));
        Span<int> d = stackalloc int[6], sa = stackalloc int[6], sb = stackalloc int[6], sc = stackalloc int[6];
        int count = 1, r = 0;
        for (int i = 0; i < rank; i++)
        {
            count *= shape[i];
            if (shape[i] == 1) continue;
            int na = a.IsEmpty ? 0 : a[i], nb = b.IsEmpty ? 0 : b[i], nc = c.IsEmpty ? 0 : c[i];
            if (r > 0 && sa[r - 1] == na * shape[i] && sb[r - 1] == nb * shape[i] && sc[r - 1] == nc * shape[i])
            {
                // The previous dimension steps over exactly one run of this one in every operand: merge them.
                d[r - 1] *= shape[i];
                sa[r - 1] = na; sb[r - 1] = nb; sc[r - 1] = nc;
                continue;
            }
            d[r] = shape[i]; sa[r] = na; sb[r] = nb; sc[r] = nc;
            r++;
        }
        var s = new StridedIndex { Rank = count == 0 ? 0 : r, Count = count };
        for (int i = 0; i < r; i++) s.Set(6 - r + i, d[i], sa[i], sb[i], sc[i]);
        for (int i = r; i < 6; i++) s.Set(5 - i, 1, 0, 0, 0);
        return s;
    }

    private void Set(int slot, int dim, int a, int b, int c)
    {
        switch (slot)
        {
            case 0: D0 = dim; A0 = a; B0 = b; C0 = c; break;
            case 1: D1 = dim; A1 = a; B1 = b; C1 = c; break;
            case 2: D2 = dim; A2 = a; B2 = b; C2 = c; break;
            case 3: D3 = dim; A3 = a; B3 = b; C3 = c; break;
            case 4: D4 = dim; A4 = a; B4 = b; C4 = c; break;
            default: D5 = dim; A5 = a; B5 = b; C5 = c; break;
        }
    }

    /// <summary>The offsets of flat (row-major) index <paramref name="flat"/> in operands A, B and C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Offsets(int flat, out int oa, out int ob, out int oc)
    {
        oa = 0; ob = 0; oc = 0;
        int r = flat;
        if (Rank > 0) Step(ref r, D5, A5, B5, C5, ref oa, ref ob, ref oc);
        if (Rank > 1) Step(ref r, D4, A4, B4, C4, ref oa, ref ob, ref oc);
        if (Rank > 2) Step(ref r, D3, A3, B3, C3, ref oa, ref ob, ref oc);
        if (Rank > 3) Step(ref r, D2, A2, B2, C2, ref oa, ref ob, ref oc);
        if (Rank > 4) Step(ref r, D1, A1, B1, C1, ref oa, ref ob, ref oc);
        if (Rank > 5) Step(ref r, D0, A0, B0, C0, ref oa, ref ob, ref oc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step(ref int r, int dim, int a, int b, int c, ref int oa, ref int ob, ref int oc)
    {
        int q = r / dim;
        int k = r - q * dim;
        r = q;
        oa += k * a; ob += k * b; oc += k * c;
    }
}
