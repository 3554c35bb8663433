using System.Numerics;
using System.Numerics.Tensors;
using Engine.Kernels.Rules;

namespace Engine.Kernels.Cpu;

/// <summary>The elementwise functions of two arguments; the value rule of each, its backward and the kernels that run
/// it are in <see cref="BinaryRules"/>.</summary>
public enum BinaryOp { Add, Sub, Mul, Div }

/// <summary>
/// Kernels over an N-d index space given by a shape, reading operands through strides (0 on broadcast
/// dimensions): NumPy broadcasting, its reverse (summing a gradient back to an operand's shape), strided
/// copies (expand, permute) and a three-way select. The innermost dimension runs as one contiguous or
/// scalar-broadcast call to TensorPrimitives; the outer dimensions step an index counter. Every operation is exact
/// IEEE arithmetic on one element at a time, so results equal the scalar twins in
/// <see cref="Engine.Kernels.Reference.ReferenceElementwise"/> bit for bit (a NaN for a NaN, its sign and payload
/// aside; see <see cref="BinaryRules"/>), except <see cref="SumInto{T}"/> onto a
/// stride-0 innermost dimension, which sums each row with <c>TensorPrimitives.Sum</c> (a reordered sum).
/// </summary>
public static class Strided
{
    /// <summary>y[i] = a[i·aStrides] op b[i·bStrides] for every index i of <paramref name="shape"/>; y is contiguous.
    /// Rows whose innermost strides are 1 or 0 run as one TensorPrimitives call, the fast twin of
    /// <see cref="BinaryRules.Value{T}"/>; other rows and rank 0 evaluate the rule per element. An op outside
    /// <see cref="BinaryOp"/> throws before anything is written.</summary>
    public static void Binary<T>(BinaryOp op, ReadOnlySpan<T> a, ReadOnlySpan<int> aStrides, ReadOnlySpan<T> b, ReadOnlySpan<int> bStrides,
        Span<T> y, ReadOnlySpan<int> shape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        BinaryRules.Validate(op);
        int rank = shape.Length;
        int total = Count(shape);
        if (y.Length < total) throw new ArgumentException($"Output holds {y.Length} elements; the shape needs {total}.", nameof(y));
        if (total == 0) return;
        if (rank == 0) { y[0] = BinaryRules.Value(op, a[0], b[0]); return; }
        int inner = shape[rank - 1];
        int sa = aStrides[rank - 1], sb = bStrides[rank - 1];
        Span<int> idx = stackalloc int[rank];
        int ao = 0, bo = 0;
        for (int yo = 0; yo < total; yo += inner)
        {
            Row(op, a, ao, sa, b, bo, sb, y.Slice(yo, inner));
            Advance(idx, shape, aStrides, bStrides, ref ao, ref bo);
        }
    }

    private static void Row<T>(BinaryOp op, ReadOnlySpan<T> a, int ao, int sa, ReadOnlySpan<T> b, int bo, int sb, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = y.Length;
        if (sa == 1 && sb == 1)
        {
            var x1 = a.Slice(ao, n); var x2 = b.Slice(bo, n);
            switch (op)
            {
                case BinaryOp.Add: TensorPrimitives.Add(x1, x2, y); return;
                case BinaryOp.Sub: TensorPrimitives.Subtract(x1, x2, y); return;
                case BinaryOp.Mul: TensorPrimitives.Multiply(x1, x2, y); return;
                case BinaryOp.Div: TensorPrimitives.Divide(x1, x2, y); return;
            }
        }
        else if (sa == 1 && sb == 0)
        {
            var x1 = a.Slice(ao, n); T s = b[bo];
            switch (op)
            {
                case BinaryOp.Add: TensorPrimitives.Add(x1, s, y); return;
                case BinaryOp.Sub: TensorPrimitives.Subtract(x1, s, y); return;
                case BinaryOp.Mul: TensorPrimitives.Multiply(x1, s, y); return;
                case BinaryOp.Div: TensorPrimitives.Divide(x1, s, y); return;
            }
        }
        else if (sa == 0 && sb == 1)
        {
            T s = a[ao]; var x2 = b.Slice(bo, n);
            switch (op)
            {
                case BinaryOp.Add: TensorPrimitives.Add(x2, s, y); return;
                case BinaryOp.Sub: TensorPrimitives.Subtract(s, x2, y); return;
                case BinaryOp.Mul: TensorPrimitives.Multiply(x2, s, y); return;
                case BinaryOp.Div: TensorPrimitives.Divide(s, x2, y); return;
            }
        }
        for (int i = 0; i < n; i++) y[i] = BinaryRules.Value(op, a[ao + i * sa], b[bo + i * sb]);
    }

    /// <summary>
    /// dst[i·dstStrides] += src[i] for every index i of <paramref name="shape"/> (src contiguous): sums a
    /// broadcast result back onto an operand whose broadcast dimensions have stride 0.
    /// </summary>
    public static void SumInto<T>(ReadOnlySpan<T> src, ReadOnlySpan<int> shape, Span<T> dst, ReadOnlySpan<int> dstStrides)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rank = shape.Length;
        int total = Count(shape);
        if (src.Length < total) throw new ArgumentException($"Source holds {src.Length} elements; the shape needs {total}.", nameof(src));
        if (total == 0) return;
        if (rank == 0) { dst[0] += src[0]; return; }
        int inner = shape[rank - 1];
        int sd = dstStrides[rank - 1];
        Span<int> idx = stackalloc int[rank];
        int d = 0, unused = 0;
        for (int so = 0; so < total; so += inner)
        {
            var row = src.Slice(so, inner);
            if (sd == 1) { var t = dst.Slice(d, inner); TensorPrimitives.Add(t, row, t); }
            else if (sd == 0) dst[d] += TensorPrimitives.Sum(row);
            else for (int i = 0; i < inner; i++) dst[d + i * sd] += row[i];
            Advance(idx, shape, dstStrides, default, ref d, ref unused);
        }
    }

    /// <summary>
    /// y[i] = x[i·xStrides] (or y[i] += when <paramref name="accumulate"/>) for every index i of
    /// <paramref name="shape"/>, y contiguous: broadcast expansion and permuted copies.
    /// </summary>
    public static void Copy<T>(ReadOnlySpan<T> x, ReadOnlySpan<int> xStrides, Span<T> y, ReadOnlySpan<int> shape, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rank = shape.Length;
        int total = Count(shape);
        if (y.Length < total) throw new ArgumentException($"Output holds {y.Length} elements; the shape needs {total}.", nameof(y));
        if (total == 0) return;
        if (rank == 0) { y[0] = accumulate ? y[0] + x[0] : x[0]; return; }
        int inner = shape[rank - 1];
        int sx = xStrides[rank - 1];
        Span<int> idx = stackalloc int[rank];
        int xo = 0, unused = 0;
        for (int yo = 0; yo < total; yo += inner)
        {
            var row = y.Slice(yo, inner);
            if (sx == 1)
            {
                if (accumulate) TensorPrimitives.Add(row, x.Slice(xo, inner), row);
                else x.Slice(xo, inner).CopyTo(row);
            }
            else if (sx == 0)
            {
                if (accumulate) TensorPrimitives.Add(row, x[xo], row);
                else row.Fill(x[xo]);
            }
            else if (accumulate) for (int i = 0; i < inner; i++) row[i] += x[xo + i * sx];
            else for (int i = 0; i < inner; i++) row[i] = x[xo + i * sx];
            Advance(idx, shape, xStrides, default, ref xo, ref unused);
        }
    }

    /// <summary>y[i] = mask[i·mStrides] != 0 ? a[i·aStrides] : b[i·bStrides], y contiguous (a NaN mask selects a).</summary>
    public static void Where<T>(ReadOnlySpan<T> mask, ReadOnlySpan<int> mStrides, ReadOnlySpan<T> a, ReadOnlySpan<int> aStrides,
        ReadOnlySpan<T> b, ReadOnlySpan<int> bStrides, Span<T> y, ReadOnlySpan<int> shape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rank = shape.Length;
        int total = Count(shape);
        if (y.Length < total) throw new ArgumentException($"Output holds {y.Length} elements; the shape needs {total}.", nameof(y));
        if (total == 0) return;
        if (rank == 0) { y[0] = mask[0] != T.Zero ? a[0] : b[0]; return; }
        int inner = shape[rank - 1];
        int sm = mStrides[rank - 1], sa = aStrides[rank - 1], sb = bStrides[rank - 1];
        Span<int> idx = stackalloc int[rank];
        int mo = 0, ao = 0, bo = 0;
        for (int yo = 0; yo < total; yo += inner)
        {
            var row = y.Slice(yo, inner);
            for (int i = 0; i < inner; i++) row[i] = mask[mo + i * sm] != T.Zero ? a[ao + i * sa] : b[bo + i * sb];
            // Step the outer index once, keeping all three offsets in step.
            for (int d = rank - 2; d >= 0; d--)
            {
                idx[d]++;
                mo += mStrides[d]; ao += aStrides[d]; bo += bStrides[d];
                if (idx[d] < shape[d]) break;
                mo -= mStrides[d] * shape[d]; ao -= aStrides[d] * shape[d]; bo -= bStrides[d] * shape[d];
                idx[d] = 0;
            }
        }
    }

    /// <summary>Number of elements of a shape.</summary>
    public static int Count(ReadOnlySpan<int> shape)
    {
        int n = 1;
        foreach (int d in shape) n *= d;
        return n;
    }

    // Steps the index over all dimensions but the last, keeping two strided offsets in step.
    private static void Advance(Span<int> idx, ReadOnlySpan<int> shape, ReadOnlySpan<int> s1, ReadOnlySpan<int> s2, ref int o1, ref int o2)
    {
        bool two = !s2.IsEmpty;
        for (int d = shape.Length - 2; d >= 0; d--)
        {
            idx[d]++;
            o1 += s1[d];
            if (two) o2 += s2[d];
            if (idx[d] < shape[d]) return;
            o1 -= s1[d] * shape[d];
            if (two) o2 -= s2[d] * shape[d];
            idx[d] = 0;
        }
    }
}
