namespace Engine.Tests.Autograd;

/// <summary>
/// Forward values against hand-computed cases, one small test per op family, in float32 and float64.
/// Elementwise inputs are tiled to 40 elements so the vectorized main loops run, not only the scalar tails.
/// Includes the numerically hard cases: huge logits, rows of -inf, saturated activations.
/// </summary>
[TestFixture(DType.Float32)]
[TestFixture(DType.Float64)]
public class ForwardTests(DType dtype)
{
    private static readonly double Ln2 = Math.Log(2);
    private static readonly double Log2Pi = Math.Log(2 * Math.PI);

    // ---- helpers ----

    private Tensor T(double[] v, params int[] dims) => Tensor.FromArray(v, dims.Length == 0 ? [v.Length] : dims).To(dtype);

    private Tensor Scalar(double v) => Tensor.Scalar(v, dtype);

    /// <summary>0, 1, ... reshaped.</summary>
    private Tensor Iota(params int[] dims) => Tensor.Arange(new Shape(dims).Count, dtype).Reshape(dims);

    private double Rel => dtype == DType.Float32 ? 2e-6 : 1e-13;
    private double Abs => dtype == DType.Float32 ? 1e-6 : 1e-14;

    private void Expect(Tensor t, int[] shape, double[] expected, double? tol = null)
    {
        Assert.That(t.DType, Is.EqualTo(dtype));
        Assert.That(t.Shape, Is.EqualTo(new Shape(shape)));
        var v = t.ToDoubleArray();
        Assert.That(v, Has.Length.EqualTo(expected.Length));
        for (int i = 0; i < v.Length; i++)
        {
            if (double.IsNaN(expected[i]) || double.IsInfinity(expected[i])) Assert.That(v[i], Is.EqualTo(expected[i]), $"element {i}");
            else Assert.That(v[i], Is.EqualTo(expected[i]).Within(tol ?? Abs + Rel * Math.Abs(expected[i])), $"element {i} of {t.Shape}");
        }
    }

    private static double[] Tile(double[] v, int n) => Enumerable.Range(0, n).Select(i => v[i % v.Length]).ToArray();

    // ---- elementwise, one argument ----

    public static IEnumerable<TestCaseData> UnaryCases()
    {
        double e = Math.E;
        TestCaseData C(string name, Func<Tensor, Tensor> f, double[] x, double[] y) => new TestCaseData(f, x, y).SetName(name);
        yield return C("Neg", t => t.Neg(), [1, -2, 0, 3.5], [-1, 2, 0, -3.5]);
        yield return C("operator -x", t => -t, [1, -2], [-1, 2]);
        yield return C("Exp", t => t.Exp(), [0, 1, -1, 2], [1, e, 1 / e, e * e]);
        yield return C("Exp underflow and overflow", t => t.Exp(), [-1000, 1000], [0, double.PositiveInfinity]);
        yield return C("Log", t => t.Log(), [1, e, 0.5, 0], [0, 1, -Ln2, double.NegativeInfinity]);
        yield return C("Log1p", t => t.Log1p(), [0, 1e-10, e - 1, -1], [0, 1e-10, 1, double.NegativeInfinity]);
        yield return C("Sqrt", t => t.Sqrt(), [4, 2, 0, 0.25], [2, Math.Sqrt(2), 0, 0.5]);
        yield return C("Square", t => t.Square(), [-3, 0.5, 0], [9, 0.25, 0]);
        yield return C("Abs", t => t.Abs(), [-2, 3, 0, -0.5], [2, 3, 0, 0.5]);
        yield return C("Pow 2", t => t.Pow(2), [-3, 2, 0], [9, 4, 0]);
        yield return C("Pow 3 of negatives", t => t.Pow(3), [-2, 1.5, -1], [-8, 3.375, -1]);
        yield return C("Pow 0.5", t => t.Pow(0.5), [4, 2, 0], [2, Math.Sqrt(2), 0]);
        yield return C("Pow -1", t => t.Pow(-1), [2, -4, 0.5], [0.5, -0.25, 2]);
        yield return C("Pow 0", t => t.Pow(0), [3, -2, 0.5], [1, 1, 1]);
        yield return C("Clamp(-1, 2)", t => t.Clamp(-1, 2), [-5, -1, 0.5, 2, 7], [-1, -1, 0.5, 2, 2]);
        yield return C("Relu", t => t.Relu(), [-1, 0, 2, -1e30], [0, 0, 2, 0]);
        yield return C("LeakyRelu(0.1)", t => t.LeakyRelu(0.1), [-2, 3, 0], [-0.2, 3, 0]);
        yield return C("LeakyRelu default slope", t => t.LeakyRelu(), [-100, 5], [-1, 5]);
        yield return C("Sigmoid", t => t.Sigmoid(), [0, Math.Log(3), -Math.Log(3)], [0.5, 0.75, 0.25]);
        yield return C("Sigmoid saturated", t => t.Sigmoid(), [-1000, 1000], [0, 1]);
        yield return C("Tanh", t => t.Tanh(), [0, Math.Log(2), -Math.Log(2), 100, -100], [0, 0.6, -0.6, 1, -1]);
        yield return C("Softplus", t => t.Softplus(), [0, Math.Log(3), -Math.Log(3)], [Ln2, Math.Log(4), Math.Log(4.0 / 3)]);
        yield return C("Softplus stable", t => t.Softplus(), [1000, -1000, 50], [1000, 0, 50]);
        yield return C("LogSigmoid", t => t.LogSigmoid(), [0, -Math.Log(3), Math.Log(3)], [-Ln2, -Math.Log(4), -Math.Log(4.0 / 3)]);
        yield return C("LogSigmoid stable", t => t.LogSigmoid(), [-1000, 1000, -50], [-1000, 0, -50]);
        yield return C("x * 2", t => t * 2, [1.5, -2], [3, -4]);
        yield return C("2 * x", t => 2 * t, [1.5, -2], [3, -4]);
        yield return C("x + 1", t => t + 1, [1.5, -2], [2.5, -1]);
        yield return C("1 + x", t => 1 + t, [1.5, -2], [2.5, -1]);
        yield return C("x - 1", t => t - 1, [1.5, -2], [0.5, -3]);
        yield return C("3 - x", t => 3 - t, [1.5, -2], [1.5, 5]);
        yield return C("2 / x", t => 2 / t, [4, -0.5], [0.5, -4]);
        yield return C("x / 4", t => t / 4, [2, -1], [0.5, -0.25]);
    }

    [TestCaseSource(nameof(UnaryCases))]
    public void Unary(Func<Tensor, Tensor> f, double[] x, double[] expected)
    {
        // Whole: tiled to 40 elements (vector main loops and a tail). Also a single element and a rank-0 scalar.
        Expect(f(T(Tile(x, 40))), [40], Tile(expected, 40));
        Expect(f(T(Tile(x, 40), 5, 8)), [5, 8], Tile(expected, 40));
        Expect(f(Scalar(x[0])), [], [expected[0]]);
        // On a row view at an offset.
        var rows = T(Tile(x, 40), 8, 5).SliceRows(3, 2);
        Expect(f(rows), [2, 5], Tile(expected, 40).Skip(15).Take(10).ToArray());
    }

    [Test]
    public void Clamp_RejectsInvertedBounds() =>
        Assert.Throws<ArgumentException>(() => T([1.0]).Clamp(2, 1));

    // ---- elementwise, two arguments, broadcasting ----

    [Test]
    public void Binary_HandComputed()
    {
        var a = T([1, 2, 3], 3, 1);
        var b = T([10, 20, 30, 40]);
        Expect(a + b, [3, 4], [11, 21, 31, 41, 12, 22, 32, 42, 13, 23, 33, 43]);
        Expect(b - a, [3, 4], [9, 19, 29, 39, 8, 18, 28, 38, 7, 17, 27, 37]);
        Expect(a * b, [3, 4], [10, 20, 30, 40, 20, 40, 60, 80, 30, 60, 90, 120]);
        Expect(b / a, [3, 4], [10, 20, 30, 40, 5, 10, 15, 20, 10.0 / 3, 20.0 / 3, 10, 40.0 / 3]);

        var m = T([1, 2, 3, 2, 4, 6], 2, 3);
        var r = T([1, 2, 3]);
        Expect(r / m, [2, 3], [1, 1, 1, 0.5, 0.5, 0.5]);
        Expect(m - r, [2, 3], [0, 0, 0, 1, 2, 3]);
        Expect(Scalar(2) * m, [2, 3], [2, 4, 6, 4, 8, 12]);
        Expect(m.Sub(Scalar(1)), [2, 3], [0, 1, 2, 1, 3, 5]);
        Expect(T([10.0], 1) - m, [2, 3], [9, 8, 7, 8, 6, 4]);
        Expect(Scalar(3) + Scalar(4), [], [7]);
        Expect(m.Div(m), [2, 3], [1, 1, 1, 1, 1, 1]);
        Expect(T([1.0, -1.0]) / T([0.0, 0.0]), [2], [double.PositiveInfinity, double.NegativeInfinity]);
    }

    [TestCase(new[] { 3, 1, 5 }, new[] { 4, 1 }, new[] { 3, 4, 5 })]
    [TestCase(new[] { 4, 1 }, new[] { 3, 1, 5 }, new[] { 3, 4, 5 })]
    [TestCase(new[] { 2, 3 }, new[] { 3 }, new[] { 2, 3 })]
    [TestCase(new[] { 1 }, new[] { 2, 3 }, new[] { 2, 3 })]
    [TestCase(new int[0], new[] { 2, 3 }, new[] { 2, 3 })]
    [TestCase(new[] { 2, 1, 3 }, new[] { 1, 4, 1 }, new[] { 2, 4, 3 })]
    [TestCase(new[] { 5, 1 }, new[] { 1, 37 }, new[] { 5, 37 })]
    [TestCase(new[] { 3, 37 }, new[] { 37 }, new[] { 3, 37 })]
    [TestCase(new[] { 37 }, new[] { 3, 37 }, new[] { 3, 37 })]
    [TestCase(new[] { 1, 1 }, new[] { 1 }, new[] { 1, 1 })]
    public void Binary_BroadcastShapesAndValues(int[] sa, int[] sb, int[] expectedShape)
    {
        // Integer-valued data, so float32 is exact; the reference is the broadcast rule evaluated index by index.
        var a = sa.Length == 0 ? Scalar(7) : Iota(sa) + 1;
        var b = sb.Length == 0 ? Scalar(7) : Iota(sb) * 2 + 3;
        var shape = new Shape(expectedShape);
        int r = shape.Rank;
        var av = a.ToDoubleArray();
        var bv = b.ToDoubleArray();
        double Read(double[] v, int[] dims, int[] idx)
        {
            int flat = 0;
            for (int d = 0; d < dims.Length; d++) flat = flat * dims[d] + (dims[d] == 1 ? 0 : idx[r - dims.Length + d]);
            return v[flat];
        }
        var sum = new double[shape.Count];
        var sub = new double[shape.Count];
        var mul = new double[shape.Count];
        var div = new double[shape.Count];
        var idx = new int[r];
        for (int i = 0; i < shape.Count; i++)
        {
            for (int d = r - 1, rem = i; d >= 0; d--) { idx[d] = rem % shape[d]; rem /= shape[d]; }
            double x = Read(av, sa, idx), y = Read(bv, sb, idx);
            sum[i] = x + y; sub[i] = x - y; mul[i] = x * y; div[i] = x / y;
        }
        Expect(a + b, expectedShape, sum);
        Expect(a - b, expectedShape, sub);
        Expect(a * b, expectedShape, mul);
        Expect(a / b, expectedShape, div);
        Expect(b + a, expectedShape, sum); // both directions
    }

    [Test]
    public void Binary_RejectsIncompatibleShapesAndTypes()
    {
        var ex = Assert.Throws<ArgumentException>(() => _ = T([1, 2, 3, 4, 5, 6], 2, 3) + T([1.0, 2.0]));
        Assert.That(ex!.Message, Does.Contain("[2, 3]").And.Contain("[2]"));
        var other = dtype == DType.Float32 ? DType.Float64 : DType.Float32;
        Assert.Throws<ArgumentException>(() => _ = T([1.0, 2.0]) * Tensor.Ones(new Shape(2), other));
    }

    [Test]
    public void Where_SelectsWithBroadcastMask()
    {
        var mask = T([1, 0, 1]);
        Expect(Tensor.Where(mask, T([1, 2, 3]), Scalar(10)), [3], [1, 10, 3]);
        var rowMask = T([0, 1], 2, 1);
        Expect(Tensor.Where(rowMask, T([1, 2, 3]), T([-1, -2, -3, -4, -5, -6], 2, 3)), [2, 3], [-1, -2, -3, 1, 2, 3]);
        Expect(Tensor.Where(T([0.5, -2, 0]), Scalar(1), Scalar(0)), [3], [1, 1, 0]); // any non-zero selects a
    }

    // ---- matrix products ----

    [Test]
    public void Matmul_HandComputed()
    {
        var a = T([1, 2, 3, 4, 5, 6], 2, 3);
        var b = T([7, 8, 9, 10, 11, 12], 3, 2);
        Expect(a.Matmul(b), [2, 2], [58, 64, 139, 154]);
        Expect(Tensor.Matmul(b, a), [3, 3], [39, 54, 69, 49, 68, 87, 59, 82, 105]);
        Expect(T([1, 2, 3], 1, 3).Matmul(T([4, 5, 6], 3, 1)), [1, 1], [32]);
        Expect(T([1, 2, 3], 3, 1).Matmul(T([4, 5], 1, 2)), [3, 2], [4, 5, 8, 10, 12, 15]);

        // Batched with equal batch dimensions, and a batch times one matrix.
        var x = T([1, 0, 0, 1, /**/ 1, 2, 3, 4], 2, 2, 2);
        var y = T([5, 6, 7, 8, /**/ 0, 1, 1, 0], 2, 2, 2);
        Expect(x.Matmul(y), [2, 2, 2], [5, 6, 7, 8, 2, 1, 4, 3]);
        Expect(x.Matmul(T([0, 1, 1, 0], 2, 2)), [2, 2, 2], [0, 1, 1, 0, 2, 1, 4, 3]);
        Expect(a.Reshape(1, 2, 3).Matmul(b), [1, 2, 2], [58, 64, 139, 154]);

        // On views at an offset.
        Expect(T([9, 9, 9, 1, 2, 3, 4, 5, 6], 3, 3).SliceRows(1, 2).Matmul(b), [2, 2], [58, 64, 139, 154]);
    }

    [TestCase(7, 13, 3)]
    [TestCase(37, 41, 29)]   // past the small-GEMM threshold: packed kernel with edge tiles
    [TestCase(130, 70, 120)] // past the parallel threshold
    [TestCase(1, 50, 33)]
    [TestCase(45, 50, 1)]
    public void Matmul_AgreesWithNaiveProduct(int m, int k, int n)
    {
        // Small integers: every product and partial sum is exact in float32.
        var av = Enumerable.Range(0, m * k).Select(i => (double)(i * 7 % 11 - 5)).ToArray();
        var bv = Enumerable.Range(0, k * n).Select(i => (double)(i * 5 % 9 - 4)).ToArray();
        var c = new double[m * n];
        for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
        {
            double s = 0;
            for (int p = 0; p < k; p++) s += av[i * k + p] * bv[p * n + j];
            c[i * n + j] = s;
        }
        Expect(T(av, m, k).Matmul(T(bv, k, n)), [m, n], c, 0);
        // Batched: two copies of the same problem.
        var a2 = Tensor.Stack([T(av, m, k), T(av, m, k)]);
        var b2 = Tensor.Stack([T(bv, k, n), T(bv, k, n)]);
        Expect(a2.Matmul(b2), [2, m, n], [.. c, .. c], 0);
        // Linear is x W^T: with W = B^T it gives the same product.
        Expect(Tensor.Linear(T(av, m, k), T(bv, k, n).T()), [m, n], c, 0);
    }

    [Test]
    public void Matmul_RejectsMismatchedShapes()
    {
        Assert.Throws<ArgumentException>(() => T([1, 2, 3, 4, 5, 6], 2, 3).Matmul(T([1, 2, 3, 4], 2, 2)));
        Assert.Throws<ArgumentException>(() => T([1, 2, 3]).Matmul(T([1, 2, 3], 3, 1)));
        Assert.Throws<ArgumentException>(() => Iota(2, 2, 3).Matmul(Iota(3, 3, 2)));
    }

    [Test]
    public void Linear_HandComputed()
    {
        var x = T([1, 2, 3, 4], 2, 2);
        var w = T([1, 0, 0, 1, 1, 1], 3, 2);
        var b = T([10, 20, 30]);
        Expect(Tensor.Linear(x, w, b), [2, 3], [11, 22, 33, 13, 24, 37]);
        Expect(Tensor.Linear(x, w), [2, 3], [1, 2, 3, 3, 4, 7]);
        Expect(Tensor.Linear(x.Reshape(2, 1, 2), w, b), [2, 1, 3], [11, 22, 33, 13, 24, 37]);
        Expect(Tensor.Linear(T([1, 2]), w, b), [3], [11, 22, 33]);
        Assert.Throws<ArgumentException>(() => Tensor.Linear(x, w, T([1, 2])));
        Assert.Throws<ArgumentException>(() => Tensor.Linear(T([1, 2, 3], 1, 3), w));
    }

    // ---- shapes ----

    [Test]
    public void Transpose_HandComputed()
    {
        var m = T([1, 2, 3, 4, 5, 6], 2, 3);
        Expect(m.T(), [3, 2], [1, 4, 2, 5, 3, 6]);
        Expect(m.Transpose(1, 0), [3, 2], [1, 4, 2, 5, 3, 6]);
        Expect(m.T().T(), [2, 3], [1, 2, 3, 4, 5, 6]);

        // Rank 3, axes (0, 2): y[k, j, i] = x[i, j, k] = 12 i + 4 j + k.
        var y = Iota(2, 3, 4).Transpose(0, 2);
        var expected = new double[24];
        for (int k = 0; k < 4; k++)
        for (int j = 0; j < 3; j++)
        for (int i = 0; i < 2; i++) expected[(k * 3 + j) * 2 + i] = 12 * i + 4 * j + k;
        Expect(y, [4, 3, 2], expected);
        // T() of rank 3 swaps the last two: y[i, k, j] = 12 i + 4 j + k.
        var t = Iota(2, 3, 4).T();
        var e2 = new double[24];
        for (int i = 0; i < 2; i++)
        for (int k = 0; k < 4; k++)
        for (int j = 0; j < 3; j++) e2[(i * 4 + k) * 3 + j] = 12 * i + 4 * j + k;
        Expect(t, [2, 4, 3], e2);
        Expect(Iota(3, 4).SliceRows(1, 2).T(), [4, 2], [4, 8, 5, 9, 6, 10, 7, 11]); // of a view at an offset
        Assert.Throws<InvalidOperationException>(() => T([1, 2, 3]).T());
    }

    [Test]
    public void Reshape_Squeeze_Flatten()
    {
        var x = Iota(2, 3, 4);
        Expect(x.Reshape(4, -1), [4, 6], Enumerable.Range(0, 24).Select(i => (double)i).ToArray());
        Expect(x.Reshape(-1), [24], Enumerable.Range(0, 24).Select(i => (double)i).ToArray());
        Expect(x.Flatten(), [2, 12], Enumerable.Range(0, 24).Select(i => (double)i).ToArray());
        Expect(Scalar(5).Flatten(), [1], [5]);
        Expect(T([1, 2, 3]).Unsqueeze(0), [1, 3], [1, 2, 3]);
        Expect(T([1, 2, 3]).Unsqueeze(-1), [3, 1], [1, 2, 3]);
        Expect(T([1, 2, 3], 3, 1).Squeeze(1), [3], [1, 2, 3]);
        Expect(Scalar(4).Reshape(1, 1), [1, 1], [4]);
        Assert.Throws<ArgumentException>(() => x.Reshape(5, -1));
        Assert.Throws<ArgumentException>(() => x.Reshape(-1, -1));
        Assert.Throws<ArgumentException>(() => x.Squeeze(1));
    }

    [Test]
    public void Slice_Concat_Stack_Gather()
    {
        var x = Iota(3, 4);
        Expect(x.Slice(0, 1, 2), [2, 4], [4, 5, 6, 7, 8, 9, 10, 11]);
        Expect(x.SliceRows(2, 1), [1, 4], [8, 9, 10, 11]);
        Expect(x.Slice(1, 1, 2), [3, 2], [1, 2, 5, 6, 9, 10]);
        Expect(x.Slice(-1, 3, 1), [3, 1], [3, 7, 11]);
        Expect(x.Slice(1, 0, 0), [3, 0], []);
        Expect(Iota(2, 3, 2).Slice(1, 1, 2), [2, 2, 2], [2, 3, 4, 5, 8, 9, 10, 11]);
        Expect(x.SliceRows(1, 2).Slice(1, 2, 2), [2, 2], [6, 7, 10, 11]); // copy out of a view
        Assert.Throws<ArgumentOutOfRangeException>(() => x.Slice(1, 3, 2));

        Expect(Tensor.Concat([T([1, 2], 1, 2), T([3, 4, 5, 6], 2, 2)]), [3, 2], [1, 2, 3, 4, 5, 6]);
        Expect(Tensor.Concat([T([1, 2], 2, 1), T([3, 4, 5, 6], 2, 2), T([7, 8], 2, 1)], 1), [2, 4], [1, 3, 4, 7, 2, 5, 6, 8]);
        Expect(Tensor.Concat([T([1, 2]), T([3.0])], 0), [3], [1, 2, 3]);
        Expect(Tensor.Concat([x.SliceRows(2, 1), x.SliceRows(0, 1)]), [2, 4], [8, 9, 10, 11, 0, 1, 2, 3]);
        Assert.Throws<ArgumentException>(() => Tensor.Concat([T([1, 2], 1, 2), T([1, 2, 3], 1, 3)]));

        Expect(Tensor.Stack([T([1, 2]), T([3, 4])]), [2, 2], [1, 2, 3, 4]);
        Expect(Tensor.Stack([T([1, 2]), T([3, 4])], 1), [2, 2], [1, 3, 2, 4]);
        Expect(Tensor.Stack([Scalar(1), Scalar(2), Scalar(3)]), [3], [1, 2, 3]);
        Assert.Throws<ArgumentException>(() => Tensor.Stack([T([1, 2]), T([1, 2, 3])]));

        Expect(x.GatherRows([2, 0, 2]), [3, 4], [8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11]);
        Expect(x.GatherRows([]), [0, 4], []);
        Expect(x.SliceRows(1, 2).GatherRows([1, 1]), [2, 4], [8, 9, 10, 11, 8, 9, 10, 11]);
        Assert.Throws<ArgumentOutOfRangeException>(() => x.GatherRows([3]));
    }

    // ---- reductions ----

    [Test]
    public void SumMeanMax_HandComputed()
    {
        var m = T([1, 2, 3, 4, 5, 6], 2, 3);
        Expect(m.Sum(), [], [21]);
        Expect(m.Sum(0), [3], [5, 7, 9]);
        Expect(m.Sum(1), [2], [6, 15]);
        Expect(m.Sum(-1, keepDims: true), [2, 1], [6, 15]);
        Expect(m.Sum([0, 1]), [], [21]);
        Expect(m.Mean(), [], [3.5]);
        Expect(m.Mean(0), [3], [2.5, 3.5, 4.5]);
        Expect(m.Mean(1, keepDims: true), [2, 1], [2, 5]);
        Expect(m.Mean([1, 0], keepDims: true), [1, 1], [3.5]);
        Expect(m.Max(), [], [6]);
        Expect(T([3, -1, 7, 2, 9, -4], 2, 3).Max(0), [3], [3, 9, 7]);
        Expect(T([3, -1, 7, 2, 9, -4], 2, 3).Max(1, keepDims: true), [2, 1], [7, 9]);
        Expect(T([-3, -1, -2]).Max(0), [], [-1]);
        Expect(Scalar(4).Sum(), [], [4]);

        var x = Iota(2, 3, 4);
        Expect(x.Sum(1), [2, 4], [12, 15, 18, 21, 48, 51, 54, 57]);
        Expect(x.Sum([0, 2], keepDims: true), [1, 3, 1], [60, 92, 124]);
        Expect(x.Mean([0, 2]), [3], [7.5, 11.5, 15.5]);
        Expect(x.Max(1), [2, 4], [8, 9, 10, 11, 20, 21, 22, 23]);
        Expect(x.Max(-1), [2, 3], [3, 7, 11, 15, 19, 23]);

        // Long rows (vectorized sums) and a view at an offset.
        Expect(Iota(3, 50).Sum(1), [3], [1225, 3725, 6225]);
        Expect(Iota(3, 50).Max(1), [3], [49, 99, 149]);
        Expect(Iota(4, 3).SliceRows(2, 2).Sum(0), [3], [15, 17, 19]);
        Assert.Throws<ArgumentException>(() => Scalar(1).Sum(0));
    }

    [Test]
    public void LogSumExp_HandComputedAndStable()
    {
        double lse123 = 3 + Math.Log(1 + Math.Exp(-1) + Math.Exp(-2));
        Expect(T([1, 2, 3]).LogSumExp(0), [], [lse123]);
        Expect(T([1, 2, 3, 3, 2, 1], 2, 3).LogSumExp(1), [2], [lse123, lse123]);
        Expect(T([1, 3, 2, 2, 3, 1], 3, 2).LogSumExp(0), [2], [lse123, lse123]); // inner > 1
        Expect(T([1, 3, 2, 2, 3, 1], 3, 2).LogSumExp(0, keepDims: true), [1, 2], [lse123, lse123]);
        Expect(T([1, 2, 3], 1, 3).LogSumExp(1, keepDims: true), [1, 1], [lse123]);

        Expect(T([1000, 1000]).LogSumExp(0), [], [1000 + Ln2], 1e-3);
        Expect(T([-1000, -1000]).LogSumExp(0), [], [-1000 + Ln2], 1e-3);
        Expect(T([1000, 0]).LogSumExp(0), [], [1000]);
        Expect(T([1000, 1000, 1000, 1000], 2, 2).LogSumExp(0), [2], [1000 + Ln2, 1000 + Ln2], 1e-3);

        double ninf = double.NegativeInfinity;
        Expect(T([ninf, ninf]).LogSumExp(0), [], [ninf]);
        Expect(T([ninf, ninf, 1, 2], 2, 2).LogSumExp(1), [2], [ninf, 2 + Math.Log(1 + Math.Exp(-1))]);
        Expect(T([ninf, 5, ninf, 5], 2, 2).LogSumExp(0), [2], [ninf, 5 + Ln2]); // inner > 1 column of -inf
        Expect(T([ninf, 0]).LogSumExp(0), [], [0]);
        Expect(T([double.PositiveInfinity, 0]).LogSumExp(0), [], [double.PositiveInfinity]);

        // A long row: log(sum_{i<64} e^i) = 63 + log(sum_j e^-j).
        double tail = Enumerable.Range(0, 64).Sum(j => Math.Exp(-j));
        Expect(Iota(64).LogSumExp(0), [], [63 + Math.Log(tail)], dtype == DType.Float32 ? 1e-4 : 1e-12);
    }

    [Test]
    public void Softmax_HandComputedAndStable()
    {
        double z = 1 + Math.Exp(1) + Math.Exp(2);
        double[] sm = [1 / z, Math.E / z, Math.Exp(2) / z];
        Expect(T([1, 2, 3]).Softmax(), [3], sm);
        Expect(T([1, 2, 3]).Softmax(0), [3], sm);
        Expect(T([1, 2, 3]).LogSoftmax(0), [3], sm.Select(v => Math.Log(v)).ToArray());
        Expect(T([1, 1, 2, 2, 3, 3], 3, 2).Softmax(0), [3, 2], [sm[0], sm[0], sm[1], sm[1], sm[2], sm[2]]);
        Expect(T([1, 1, 2, 2, 3, 3], 3, 2).LogSoftmax(0), [3, 2], [.. new[] { sm[0], sm[0], sm[1], sm[1], sm[2], sm[2] }.Select(v => Math.Log(v))]);
        Expect(T([5, 5, 5, 5], 2, 2).Softmax(1), [2, 2], [0.5, 0.5, 0.5, 0.5]);
        Expect(T([7.0], 1).Softmax(0), [1], [1]);

        Expect(T([1000, 0]).Softmax(0), [2], [1, 0]);
        Expect(T([1000, 0]).LogSoftmax(0), [2], [0, -1000]);
        Expect(T([-1000, -1000]).Softmax(0), [2], [0.5, 0.5]);
        Expect(T([1000, 1000, 0, 0], 2, 2).Softmax(0), [2, 2], [1, 1, 0, 0]);
        Expect(T([double.NegativeInfinity, 0]).Softmax(0), [2], [0, 1]);

        // Sums to one along the chosen axis, for every axis of a rank-3 tensor and a long row.
        var x = T(Enumerable.Range(0, 24).Select(i => 2 * Math.Sin(0.37 * i)).ToArray(), 2, 3, 4);
        foreach (int axis in new[] { 0, 1, 2, -1 })
        {
            var s = x.Softmax(axis);
            Expect(s.Sum(axis), axis == 0 ? [3, 4] : axis == 1 ? [2, 4] : [2, 3], Enumerable.Repeat(1.0, axis == 0 ? 12 : axis == 1 ? 8 : 6).ToArray(), 1e-6);
            Expect(x.LogSoftmax(axis).Exp(), [2, 3, 4], s.ToDoubleArray(), 1e-6);
        }
        Expect(Iota(3, 40).Softmax(1).Sum(1), [3], [1, 1, 1], 1e-6);
    }

    // ---- fused losses ----

    [Test]
    public void BceWithLogits_HandComputedAndStable()
    {
        // max(l, 0) - l t + log(1 + e^-|l|)
        double Bce(double l, double t) => Math.Max(l, 0) - l * t + Math.Log(1 + Math.Exp(-Math.Abs(l)));
        Expect(Tensor.BceWithLogits(T([0, 0, 0], 1, 3), T([0, 0.3, 1], 1, 3)), [1], [3 * Ln2]);
        Expect(Tensor.BceWithLogits(T([2.0]), T([0.25])), [], [Bce(2, 0.25)]);
        Expect(Tensor.BceWithLogits(T([2, -1, 0.5, 3], 2, 2), T([1, 0, 0.5, 0.1], 2, 2)), [2], [Bce(2, 1) + Bce(-1, 0), Bce(0.5, 0.5) + Bce(3, 0.1)]);

        var big = Tensor.BceWithLogits(T([1e4]), T([1.0]));
        Assert.That(double.IsFinite(big.Item()), Is.True);
        Assert.That(big.Item(), Is.EqualTo(0).Within(1e-30));
        Expect(Tensor.BceWithLogits(T([-1e4]), T([0.0])), [], [0], 1e-30);
        Expect(Tensor.BceWithLogits(T([1e4]), T([0.0])), [], [1e4]);
        Expect(Tensor.BceWithLogits(T([-1e4]), T([1.0])), [], [1e4]);

        // Wide rows (vector lanes and a tail), huge logits among them.
        double[] l = [1e4, -1e4, 0, 2, -3, 40, -40];
        double[] t = [1, 0, 0.5, 0.25, 1, 1, 0];
        var lt = Tile(l, 74);
        var tt = Tile(t, 74);
        var rows = new double[2];
        for (int i = 0; i < 74; i++) rows[i / 37] += Bce(lt[i], tt[i]);
        var y = Tensor.BceWithLogits(T(lt, 2, 37), T(tt, 2, 37));
        Assert.That(y.ToDoubleArray().All(double.IsFinite), Is.True);
        Expect(y, [2], rows, dtype == DType.Float32 ? 1e-4 : 1e-12);
    }

    [Test]
    public void GaussianLogDensity_HandComputed()
    {
        // x = mu, logvar = 0: -0.5 log(2 pi) per dimension.
        var mu = T([0.3, -1, 2, 0.3, -1, 2], 2, 3);
        Expect(Tensor.GaussianLogDensity(mu, mu, T(new double[6], 2, 3)), [2], [-1.5 * Log2Pi, -1.5 * Log2Pi]);
        Expect(Tensor.GaussianLogDensity(T([0.0]), T([0.0]), T([0.0])), [], [-0.5 * Log2Pi]);
        // x = 1, mu = 0, variance 4: -0.5 (log 2pi + log 4 + 1/4).
        Expect(Tensor.GaussianLogDensity(T([1.0]), T([0.0]), T([Math.Log(4)])), [], [-0.5 * (Log2Pi + Math.Log(4) + 0.25)]);
        // Rank 3, rows of 37 (vector lanes and a tail) against the formula.
        var xv = Enumerable.Range(0, 2 * 2 * 37).Select(i => Math.Sin(i)).ToArray();
        var mv = Enumerable.Range(0, 2 * 2 * 37).Select(i => Math.Cos(i) * 0.5).ToArray();
        var lv = Enumerable.Range(0, 2 * 2 * 37).Select(i => (i % 5 - 2) * 0.4).ToArray();
        var expected = new double[4];
        for (int i = 0; i < xv.Length; i++)
            expected[i / 37] += -0.5 * (Log2Pi + lv[i] + (xv[i] - mv[i]) * (xv[i] - mv[i]) * Math.Exp(-lv[i]));
        Expect(Tensor.GaussianLogDensity(T(xv, 2, 2, 37), T(mv, 2, 2, 37), T(lv, 2, 2, 37)), [2, 2], expected, dtype == DType.Float32 ? 1e-4 : 1e-12);
        Assert.Throws<ArgumentException>(() => Tensor.GaussianLogDensity(T([1.0, 2.0]), T([1.0]), T([1.0])));
    }

    [Test]
    public void To_ConvertsAndKeepsShape()
    {
        var s = Scalar(2.5);
        var other = dtype == DType.Float32 ? DType.Float64 : DType.Float32;
        var c = s.To(other);
        Assert.That(c.DType, Is.EqualTo(other));
        Assert.That(c.Shape, Is.EqualTo(Shape.Scalar));
        Assert.That(c.Item(), Is.EqualTo(2.5));
        var m = Iota(2, 3).To(other);
        Assert.That(m.Shape, Is.EqualTo(new Shape(2, 3)));
        Assert.That(m.ToDoubleArray(), Is.EqualTo(new double[] { 0, 1, 2, 3, 4, 5 }));
    }
}
