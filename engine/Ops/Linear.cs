using Engine.Autograd;

namespace Engine;

// Matrix products on the GEMM kernel. Backward rules use the transposed products directly
// (dA = dY B^T, dB = A^T dY): the kernel handles the transposes while packing, no copies are made.
public sealed partial class Tensor
{
    /// <summary>
    /// Matrix product: [m, k] x [k, n] -> [m, n]; batched [..., m, k] x [..., k, n] with equal batch dimensions,
    /// or a batched left operand times a 2-D right operand.
    /// </summary>
    public static Tensor Matmul(Tensor a, Tensor b) => Ops.Matmul(a, b);

    /// <summary>Matrix product with <paramref name="other"/> (see <see cref="Matmul(Tensor, Tensor)"/>).</summary>
    public Tensor Matmul(Tensor other) => Ops.Matmul(this, other);

    /// <summary>
    /// The fused affine map of a linear layer: y = x W^T + b for x [..., in], W [out, in], b [out] (optional).
    /// </summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null) => Ops.Linear(x, weight, bias);
}

internal static partial class Ops
{
    public static Tensor Matmul(Tensor a, Tensor b)
    {
        CheckNotNull(a, "matmul", "a");
        CheckNotNull(b, "matmul", "b");
        CheckCompatible("matmul", a, b);
        if (a.Rank < 2 || b.Rank < 2)
            throw new ArgumentException($"matmul: both operands need rank 2 or more; got {a.Shape} and {b.Shape}.");
        int m = a.Shape[-2], k = a.Shape[-1], k2 = b.Shape[-2], n = b.Shape[-1];
        if (k != k2)
            throw new ArgumentException($"matmul: inner dimensions differ: {a.Shape} x {b.Shape} ({k} vs {k2}).");
        Shape outShape;
        if (b.Rank == 2) outShape = a.Shape.With(-1, n);
        else
        {
            if (a.Rank != b.Rank || a.Shape.Product(0, a.Rank - 2) != b.Shape.Product(0, b.Rank - 2) || !SameBatch(a.Shape, b.Shape))
                throw new ArgumentException($"matmul: batch dimensions differ: {a.Shape} x {b.Shape}; batched operands need equal batch dimensions (or a 2-D right operand).");
            outShape = a.Shape.With(-1, n);
        }
        var y = Tensor.Create(outShape, a.DType, a.Device);
        var be = a.Backend;
        if (b.Rank == 2)
        {
            // [..., m, k] x [k, n]: all rows of a at once.
            int rows = a.Count / Math.Max(k, 1);
            if (k == 0) be.Fill(y, 0);
            else be.Gemm(false, false, rows, n, k, 1, a, 0, k, b, 0, n, 0, y, 0, n);
        }
        else
        {
            int batch = a.Shape.Product(0, a.Rank - 2);
            for (int i = 0; i < batch; i++)
                be.Gemm(false, false, m, n, k, 1, a, i * m * k, k, b, i * k * n, n, 0, y, i * m * n, n);
        }
        return Record(y, OpKind.Matmul, a, b);
    }

    private static bool SameBatch(in Shape a, in Shape b)
    {
        for (int i = 0; i < a.Rank - 2; i++) if (a[i] != b[i]) return false;
        return true;
    }

    private static void MatmulBackward(Tensor y, Tensor g)
    {
        Tensor a = y.In0!, b = y.In1!;
        int k = a.Shape[-1], n = b.Shape[-1];
        var be = y.Backend;
        if (b.Rank == 2)
        {
            int rows = a.Count / Math.Max(k, 1);
            if (a.RequiresGradFlag) be.Gemm(false, true, rows, k, n, 1, g, 0, n, b, 0, n, 1, GradOf(a), 0, k);   // dA += dY B^T
            if (b.RequiresGradFlag) be.Gemm(true, false, k, n, rows, 1, a, 0, k, g, 0, n, 1, GradOf(b), 0, n);   // dB += A^T dY
            return;
        }
        int m = a.Shape[-2];
        int batch = a.Shape.Product(0, a.Rank - 2);
        for (int i = 0; i < batch; i++)
        {
            if (a.RequiresGradFlag) be.Gemm(false, true, m, k, n, 1, g, i * m * n, n, b, i * k * n, n, 1, GradOf(a), i * m * k, k);
            if (b.RequiresGradFlag) be.Gemm(true, false, k, n, m, 1, a, i * m * k, k, g, i * m * n, n, 1, GradOf(b), i * k * n, n);
        }
    }

    public static Tensor Linear(Tensor x, Tensor w, Tensor? bias)
    {
        CheckNotNull(x, "linear", "x");
        CheckNotNull(w, "linear", "weight");
        CheckCompatible("linear", x, w);
        if (w.Rank != 2)
            throw new ArgumentException($"linear: weight must be [out, in]; got {w.Shape}.", "weight");
        int outF = w.Shape[0], inF = w.Shape[1];
        if (x.Rank < 1 || x.Shape[-1] != inF)
            throw new ArgumentException($"linear: input {x.Shape} does not end in the weight's in-features {inF} (weight {w.Shape}).", nameof(x));
        if (bias is not null)
        {
            CheckCompatible("linear", x, bias);
            if (bias.Rank != 1 || bias.Shape[0] != outF)
                throw new ArgumentException($"linear: bias must be [{outF}] for weight {w.Shape}; got {bias.Shape}.", nameof(bias));
        }
        int rows = x.Count / Math.Max(inF, 1);
        var y = Tensor.Create(x.Shape.With(-1, outF), x.DType, x.Device);
        var be = x.Backend;
        double beta = 0;
        if (bias is not null)
        {
            // Start C from the bias broadcast over rows, then let GEMM accumulate onto it (beta = 1).
            Span<int> dims = stackalloc int[] { rows, outF };
            Span<int> strides = stackalloc int[] { 0, 1 };
            be.StridedCopy(bias, strides, y, dims, accumulate: false);
            beta = 1;
        }
        if (inF == 0) { if (bias is null) be.Fill(y, 0); }
        else be.Gemm(false, true, rows, outF, inF, 1, x, 0, inF, w, 0, inF, beta, y, 0, outF);
        var node = Record(y, OpKind.Linear, x, w, bias);
        return node;
    }

    // dx += dY W; dW += dY^T x; db += column sums of dY.
    private static void LinearBackward(Tensor y, Tensor g)
    {
        Tensor x = y.In0!, w = y.In1!;
        var bias = y.In2;
        int outF = w.Shape[0], inF = w.Shape[1];
        int rows = x.Count / Math.Max(inF, 1);
        var be = y.Backend;
        if (x.RequiresGradFlag) be.Gemm(false, false, rows, inF, outF, 1, g, 0, outF, w, 0, inF, 1, GradOf(x), 0, inF);
        if (w.RequiresGradFlag) be.Gemm(true, false, outF, inF, rows, 1, g, 0, outF, x, 0, inF, 1, GradOf(w), 0, inF);
        if (bias is { RequiresGradFlag: true })
        {
            Span<int> dims = stackalloc int[] { rows, outF };
            Span<int> strides = stackalloc int[] { 0, 1 };
            be.SumInto(g, dims, GradOf(bias), strides);
        }
    }
}
