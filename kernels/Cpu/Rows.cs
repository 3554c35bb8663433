using System.Numerics;
using System.Numerics.Tensors;

namespace Engine.Kernels.Cpu;

/// <summary>Row gathers and scatters: embedding-style lookups of whole rows by index (copies and exact adds, identical
/// to the twins in <see cref="Engine.Kernels.Reference.ReferenceElementwise"/>).</summary>
public static class Rows
{
    /// <summary>dst[i, :] = src[indices[i], :], rows of <paramref name="rowLength"/> elements (zero-length rows copy nothing).</summary>
    public static void Gather<T>(ReadOnlySpan<T> src, int rowLength, ReadOnlySpan<int> indices, Span<T> dst) where T : unmanaged
    {
        int rows = rowLength == 0 ? 0 : src.Length / rowLength;
        for (int i = 0; i < indices.Length; i++)
        {
            int r = indices[i];
            if ((uint)r >= (uint)rows && rowLength != 0)
                throw new ArgumentOutOfRangeException(nameof(indices), $"Index {r} at position {i} is out of range for {rows} rows.");
            src.Slice(r * rowLength, rowLength).CopyTo(dst.Slice(i * rowLength, rowLength));
        }
    }

    /// <summary>dst[indices[i], :] += src[i, :] (repeated indices accumulate, in order).</summary>
    public static void ScatterAdd<T>(ReadOnlySpan<T> src, int rowLength, ReadOnlySpan<int> indices, Span<T> dst) where T : unmanaged, INumber<T>
    {
        int rows = rowLength == 0 ? 0 : dst.Length / rowLength;
        for (int i = 0; i < indices.Length; i++)
        {
            int r = indices[i];
            if ((uint)r >= (uint)rows && rowLength != 0)
                throw new ArgumentOutOfRangeException(nameof(indices), $"Index {r} at position {i} is out of range for {rows} rows.");
            var d = dst.Slice(r * rowLength, rowLength);
            TensorPrimitives.Add(d, src.Slice(i * rowLength, rowLength), d);
        }
    }
}
