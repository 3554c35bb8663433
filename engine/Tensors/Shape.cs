using System.Runtime.CompilerServices;
using System.Text;

namespace Engine;

/// <summary>
/// The dimensions of a row-major tensor, stored inline (no heap allocation), rank 0 to <see cref="MaxRank"/>.
/// </summary>
public readonly struct Shape : IEquatable<Shape>
{
    /// <summary>The largest rank a tensor may have.</summary>
    public const int MaxRank = 6;

    [InlineArray(MaxRank)]
    private struct Dims { private int _e0; }

    private readonly Dims _dims;

    /// <summary>Number of dimensions.</summary>
    public int Rank { get; }

    /// <summary>Creates a shape from its dimensions; every dimension must be non-negative.</summary>
    public Shape(params ReadOnlySpan<int> dims)
    {
        if (dims.Length > MaxRank)
            throw new ArgumentException($"A tensor has at most {MaxRank} dimensions; got {dims.Length}.", nameof(dims));
        Rank = dims.Length;
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] < 0)
                throw new ArgumentException($"Dimension {i} is negative ({dims[i]}) in shape {Format(dims)}.", nameof(dims));
            _dims[i] = dims[i];
        }
    }

    /// <summary>The size of dimension <paramref name="axis"/> (negative counts from the end).</summary>
    public int this[int axis] => _dims[NormalizeAxis(axis, Rank)];

    /// <summary>Number of elements (1 for a scalar).</summary>
    public int Count
    {
        get
        {
            long n = 1;
            for (int i = 0; i < Rank; i++) n *= _dims[i];
            return checked((int)n);
        }
    }

    /// <summary>The scalar shape [].</summary>
    public static Shape Scalar => default;

    /// <summary>The dimensions as a span (copied into <paramref name="dst"/>).</summary>
    public void CopyTo(Span<int> dst)
    {
        for (int i = 0; i < Rank; i++) dst[i] = _dims[i];
    }

    /// <summary>The dimensions as a new array.</summary>
    public int[] ToArray()
    {
        var a = new int[Rank];
        CopyTo(a);
        return a;
    }

    /// <summary>Product of the dimensions in [start, end).</summary>
    public int Product(int start, int end)
    {
        int n = 1;
        for (int i = start; i < end; i++) n *= _dims[i];
        return n;
    }

    /// <summary>This shape with dimension <paramref name="axis"/> set to <paramref name="size"/>.</summary>
    public Shape With(int axis, int size)
    {
        Span<int> d = stackalloc int[MaxRank];
        CopyTo(d);
        d[NormalizeAxis(axis, Rank)] = size;
        return new Shape(d[..Rank]);
    }

    /// <summary>The last <paramref name="count"/> dimensions (a trailing part of the shape).</summary>
    public Shape Suffix(int count)
    {
        if ((uint)count > (uint)Rank)
            throw new ArgumentOutOfRangeException(nameof(count), $"A suffix of {count} dimensions does not exist in shape {this}.");
        Span<int> d = stackalloc int[MaxRank];
        CopyTo(d);
        return new Shape(d.Slice(Rank - count, count));
    }

    /// <summary>This shape without dimension <paramref name="axis"/>.</summary>
    public Shape Without(int axis)
    {
        axis = NormalizeAxis(axis, Rank);
        Span<int> d = stackalloc int[MaxRank];
        int r = 0;
        for (int i = 0; i < Rank; i++) if (i != axis) d[r++] = _dims[i];
        return new Shape(d[..r]);
    }

    /// <summary>This shape with a new dimension of size <paramref name="size"/> inserted before <paramref name="axis"/>.</summary>
    public Shape Insert(int axis, int size)
    {
        if (axis < 0) axis += Rank + 1;
        if ((uint)axis > (uint)Rank)
            throw new ArgumentOutOfRangeException(nameof(axis), $"Axis {axis} is out of range for inserting into shape {this}.");
        Span<int> d = stackalloc int[MaxRank + 1];
        int r = 0;
        for (int i = 0; i <= Rank; i++)
        {
            if (i == axis) d[r++] = size;
            if (i < Rank) d[r++] = _dims[i];
        }
        return new Shape(d[..r]);
    }

    /// <summary>Maps a possibly negative axis into [0, rank) or throws naming the axis and the rank.</summary>
    public static int NormalizeAxis(int axis, int rank)
    {
        int a = axis < 0 ? axis + rank : axis;
        if ((uint)a >= (uint)rank)
            throw new ArgumentOutOfRangeException(nameof(axis), $"Axis {axis} is out of range for a tensor of rank {rank}.");
        return a;
    }

    /// <summary>The NumPy broadcast of two shapes, or an exception naming the op and both shapes.</summary>
    public static Shape Broadcast(in Shape a, in Shape b, string op)
    {
        int rank = Math.Max(a.Rank, b.Rank);
        Span<int> d = stackalloc int[MaxRank];
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Rank ? 1 : a._dims[i - (rank - a.Rank)];
            int db = i < rank - b.Rank ? 1 : b._dims[i - (rank - b.Rank)];
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException($"{op}: shapes {a} and {b} cannot be broadcast together (dimension {i}: {da} vs {db}).");
            d[i] = da == 1 ? db : da;
        }
        return new Shape(d[..rank]);
    }

    public bool Equals(Shape other)
    {
        if (Rank != other.Rank) return false;
        for (int i = 0; i < Rank; i++) if (_dims[i] != other._dims[i]) return false;
        return true;
    }

    public override bool Equals(object? obj) => obj is Shape s && Equals(s);
    public override int GetHashCode()
    {
        var h = new HashCode();
        h.Add(Rank);
        for (int i = 0; i < Rank; i++) h.Add(_dims[i]);
        return h.ToHashCode();
    }
    public static bool operator ==(Shape a, Shape b) => a.Equals(b);
    public static bool operator !=(Shape a, Shape b) => !a.Equals(b);

    public override string ToString()
    {
        Span<int> d = stackalloc int[MaxRank];
        CopyTo(d);
        return Format(d[..Rank]);
    }

    private static string Format(ReadOnlySpan<int> dims)
    {
        var sb = new StringBuilder("[");
        for (int i = 0; i < dims.Length; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(dims[i]);
        }
        return sb.Append(']').ToString();
    }
}
