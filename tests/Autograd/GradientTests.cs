namespace Engine.Tests.Autograd;

/// <summary>
/// Gradient checks of every differentiable op against central finite differences in float64 (see <see cref="GradCheck"/>),
/// on shapes chosen to include broadcasting in both directions, size-1 dimensions, rank 0 and odd sizes.
/// One test per op family; each case is named after the expression it checks.
/// </summary>
public class GradientTests
{
    public delegate Tensor Op(Tensor[] x);

    public delegate Tensor[] Inputs();

    // ---- inputs ----

    /// <summary>A float64 leaf requiring grad, uniform in [lo, hi).</summary>
    private static Tensor R(int seed, double lo, double hi, params int[] dims) => GradCheck.Rand(seed, lo, hi, dims);

    /// <summary>A float64 leaf requiring grad, uniform in [-1, 1).</summary>
    private static Tensor U(int seed, params int[] dims) => GradCheck.Rand(seed, -1, 1, dims);

    /// <summary>A float64 leaf requiring grad, uniform in [0.5, 2): safe for log, sqrt, division.</summary>
    private static Tensor P(int seed, params int[] dims) => GradCheck.Rand(seed, 0.5, 2, dims);

    /// <summary>A float64 constant (no gradient), uniform in [lo, hi).</summary>
    private static Tensor C(int seed, double lo, double hi, params int[] dims) => GradCheck.Rand(seed, lo, hi, dims).Detach();

    /// <summary>
    /// A float64 leaf requiring grad, uniform in [lo, hi), with every element at least <paramref name="margin"/> away from
    /// each kink in <paramref name="kinks"/> (so central differences with eps 1e-6 never straddle one).
    /// </summary>
    private static Tensor Away(int seed, double lo, double hi, double[] kinks, int[] dims, double margin = 0.05)
    {
        var rng = new Random(seed);
        var shape = new Shape(dims);
        var v = new double[shape.Count];
        for (int i = 0; i < v.Length; i++)
        {
            double s;
            do s = lo + (hi - lo) * rng.NextDouble();
            while (kinks.Any(k => Math.Abs(s - k) < margin));
            v[i] = s;
        }
        var t = dims.Length == 0 ? Tensor.FromArray(v).Reshape(Shape.Scalar).Detach() : Tensor.FromArray(v, dims);
        return t.RequireGrad();
    }

    private static TestCaseData Case(string name, Op f, Inputs inputs) => new TestCaseData(f, inputs).SetName(name);

    private static void Run(Op f, Inputs inputs) => GradCheck.Check(x => f(x), inputs());

    // ---- binary ops with broadcasting ----

    private static readonly (string Name, int[] A, int[] B)[] BroadcastPairs =
    [
        ("same [2,3]", [2, 3], [2, 3]),
        ("[3,1,5] with [4,1]", [3, 1, 5], [4, 1]),
        ("[4,1] with [3,1,5]", [4, 1], [3, 1, 5]),
        ("[2,3] with [3]", [2, 3], [3]),
        ("[3] with [2,3]", [3], [2, 3]),
        ("[1] with [2,3]", [1], [2, 3]),
        ("[2,3] with [1]", [2, 3], [1]),
        ("rank-0 with [2,3]", [], [2, 3]),
        ("[2,3] with rank-0", [2, 3], []),
        ("[2,1,3] with [1,4,1]", [2, 1, 3], [1, 4, 1]),
        ("[7,1] with [1,5]", [7, 1], [1, 5]),
        ("rank-0 with rank-0", [], []),
    ];

    public static IEnumerable<TestCaseData> BinaryCases()
    {
        int seed = 100;
        foreach (var (name, a, b) in BroadcastPairs)
        {
            int s = seed += 2;
            yield return Case($"Add {name}", x => x[0] + x[1], () => [U(s, a), U(s + 1, b)]);
            yield return Case($"Sub {name}", x => x[0] - x[1], () => [U(s, a), U(s + 1, b)]);
            yield return Case($"Mul {name}", x => x[0] * x[1], () => [U(s, a), U(s + 1, b)]);
            yield return Case($"Div {name}", x => x[0] / x[1], () => [U(s, a), P(s + 1, b)]);
            yield return Case($"Div negative denominator {name}", x => x[0].Div(x[1]), () => [U(s, a), R(s + 1, -2, -0.5, b)]);
        }
        // Only one side requires grad (the other side's backward branch is skipped).
        yield return Case("Mul constant [3,1] * x [4]", x => x[0] * x[1], () => [C(150, -1, 1, 3, 1), U(151, 4)]);
        yield return Case("Div x [2,3] / constant [3]", x => x[0] / x[1], () => [U(152, 2, 3), C(153, 0.5, 2, 3)]);
        yield return Case("Sub constant [2,3] - x [1,3]", x => x[0] - x[1], () => [C(154, -1, 1, 2, 3), U(155, 1, 3)]);
    }

    [TestCaseSource(nameof(BinaryCases))]
    public void Binary(Op f, Inputs inputs) => Run(f, inputs);

    // ---- ops with a scalar ----

    public static IEnumerable<TestCaseData> ScalarCases()
    {
        yield return Case("x * 2", x => x[0] * 2, () => [U(200, 3, 4)]);
        yield return Case("2 * x", x => 2 * x[0], () => [U(201, 2, 1, 3)]);
        yield return Case("x + 1", x => x[0] + 1, () => [U(202, 5)]);
        yield return Case("1 + x", x => 1 + x[0], () => [U(203)]);
        yield return Case("x - 1", x => x[0] - 1, () => [U(204, 3, 1)]);
        yield return Case("3 - x", x => 3 - x[0], () => [U(205, 3, 4)]);
        yield return Case("2 / x", x => 2 / x[0], () => [P(206, 3, 4)]);
        yield return Case("2 / x negative", x => 2 / x[0], () => [R(207, -2, -0.5, 5)]);
        yield return Case("x / 4", x => x[0] / 4, () => [U(208, 2, 3)]);
        yield return Case("Mul(-0.5)", x => x[0].Mul(-0.5), () => [U(209, 7)]);
        yield return Case("Add(-3)", x => x[0].Add(-3.0), () => [U(210, 1)]);
    }

    [TestCaseSource(nameof(ScalarCases))]
    public void Scalar(Op f, Inputs inputs) => Run(f, inputs);

    // ---- elementwise functions of one argument ----

    public static IEnumerable<TestCaseData> UnaryCases()
    {
        int[][] shapes = [[3, 5], [1], [], [2, 1, 3], [7], [5, 7]]; // [5,7]: 35 elements reach the SIMD main loops
        int seed = 300;
        foreach (var d in shapes)
        {
            string sh = "[" + string.Join(",", d) + "]";
            int s = seed += 20;
            yield return Case($"Neg {sh}", x => -x[0], () => [U(s, d)]);
            yield return Case($"Exp {sh}", x => x[0].Exp(), () => [R(s + 1, -2, 2, d)]);
            yield return Case($"Log {sh}", x => x[0].Log(), () => [P(s + 2, d)]);
            yield return Case($"Log1p {sh}", x => x[0].Log1p(), () => [R(s + 3, -0.5, 2, d)]);
            yield return Case($"Sqrt {sh}", x => x[0].Sqrt(), () => [P(s + 4, d)]);
            yield return Case($"Square {sh}", x => x[0].Square(), () => [R(s + 5, -2, 2, d)]);
            yield return Case($"Pow 2 {sh}", x => x[0].Pow(2), () => [R(s + 6, -2, 2, d)]);
            yield return Case($"Pow 0.5 {sh}", x => x[0].Pow(0.5), () => [P(s + 7, d)]);
            yield return Case($"Pow -1 {sh}", x => x[0].Pow(-1), () => [Away(s + 8, -2, 2, [0], d, 0.3)]);
            yield return Case($"Pow 3 {sh}", x => x[0].Pow(3), () => [R(s + 9, -2, 2, d)]);
            yield return Case($"Abs {sh}", x => x[0].Abs(), () => [Away(s + 10, -2, 2, [0], d)]);
            yield return Case($"Clamp(-0.5, 0.7) {sh}", x => x[0].Clamp(-0.5, 0.7), () => [Away(s + 11, -1.5, 1.5, [-0.5, 0.7], d)]);
            yield return Case($"Relu {sh}", x => x[0].Relu(), () => [Away(s + 12, -2, 2, [0], d)]);
            yield return Case($"LeakyRelu(0.1) {sh}", x => x[0].LeakyRelu(0.1), () => [Away(s + 13, -2, 2, [0], d)]);
            yield return Case($"LeakyRelu default {sh}", x => x[0].LeakyRelu(), () => [Away(s + 14, -2, 2, [0], d)]);
            yield return Case($"Sigmoid {sh}", x => x[0].Sigmoid(), () => [R(s + 15, -4, 4, d)]);
            yield return Case($"Tanh {sh}", x => x[0].Tanh(), () => [R(s + 16, -3, 3, d)]);
            yield return Case($"Softplus {sh}", x => x[0].Softplus(), () => [R(s + 17, -6, 6, d)]);
            yield return Case($"LogSigmoid {sh}", x => x[0].LogSigmoid(), () => [R(s + 18, -6, 6, d)]);
        }
        // Saturated regions: the stable formulations must still give the right (tiny or unit) slopes.
        yield return Case("Softplus large |x|", x => x[0].Softplus(), () => [Tensor.FromArray(new double[] { -30, -12, 12, 30 }).RequireGrad()]);
        yield return Case("LogSigmoid large |x|", x => x[0].LogSigmoid(), () => [Tensor.FromArray(new double[] { -30, -12, 12, 30 }).RequireGrad()]);
        yield return Case("Clamp all inside", x => x[0].Clamp(-10, 10), () => [U(399, 2, 3)]);
        yield return Case("Clamp all outside", x => x[0].Clamp(-0.1, 0.1), () => [Tensor.FromArray(new double[] { -2, -0.5, 0.5, 2 }).RequireGrad()]);
    }

    [TestCaseSource(nameof(UnaryCases))]
    public void Unary(Op f, Inputs inputs) => Run(f, inputs);

    // ---- matrix products ----

    public static IEnumerable<TestCaseData> MatmulCases()
    {
        yield return Case("Matmul [3,5]@[5,2]", x => x[0].Matmul(x[1]), () => [U(400, 3, 5), U(401, 5, 2)]);
        yield return Case("Matmul [1,4]@[4,6]", x => x[0].Matmul(x[1]), () => [U(402, 1, 4), U(403, 4, 6)]);
        yield return Case("Matmul [6,4]@[4,1]", x => x[0].Matmul(x[1]), () => [U(404, 6, 4), U(405, 4, 1)]);
        yield return Case("Matmul [5,1]@[1,4] outer", x => x[0].Matmul(x[1]), () => [U(406, 5, 1), U(407, 1, 4)]);
        yield return Case("Matmul [1,7]@[7,1] inner", x => x[0].Matmul(x[1]), () => [U(408, 1, 7), U(409, 7, 1)]);
        yield return Case("Matmul [1,1]@[1,1]", x => x[0].Matmul(x[1]), () => [U(410, 1, 1), U(411, 1, 1)]);
        yield return Case("Matmul [7,13]@[13,3]", x => x[0].Matmul(x[1]), () => [U(412, 7, 13), U(413, 13, 3)]);
        yield return Case("Matmul static [2,3]@[3,4]", x => Tensor.Matmul(x[0], x[1]), () => [U(414, 2, 3), U(415, 3, 4)]);
        yield return Case("Matmul batched [2,3,4]@[2,4,5]", x => x[0].Matmul(x[1]), () => [U(416, 2, 3, 4), U(417, 2, 4, 5)]);
        yield return Case("Matmul batched [2,3,4]@[4,5]", x => x[0].Matmul(x[1]), () => [U(418, 2, 3, 4), U(419, 4, 5)]);
        yield return Case("Matmul batched [2,1,3,2]@[2,1,2,3]", x => x[0].Matmul(x[1]), () => [U(420, 2, 1, 3, 2), U(421, 2, 1, 2, 3)]);
        yield return Case("Matmul batched [3,1,4]@[3,4,1]", x => x[0].Matmul(x[1]), () => [U(422, 3, 1, 4), U(423, 3, 4, 1)]);
        yield return Case("Matmul constant [3,4]@x [4,2]", x => x[0].Matmul(x[1]), () => [C(424, -1, 1, 3, 4), U(425, 4, 2)]);
        yield return Case("Matmul x [3,4]@constant [4,2]", x => x[0].Matmul(x[1]), () => [U(426, 3, 4), C(427, -1, 1, 4, 2)]);
        yield return Case("Matmul x@x [4,4]", x => x[0].Matmul(x[0]), () => [U(428, 4, 4)]);

        yield return Case("Linear x[5,3] W[4,3] b[4]", x => Tensor.Linear(x[0], x[1], x[2]), () => [U(440, 5, 3), U(441, 4, 3), U(442, 4)]);
        yield return Case("Linear x[5,3] W[4,3] no bias", x => Tensor.Linear(x[0], x[1]), () => [U(443, 5, 3), U(444, 4, 3)]);
        yield return Case("Linear x[2,3,4] W[5,4] b[5]", x => Tensor.Linear(x[0], x[1], x[2]), () => [U(445, 2, 3, 4), U(446, 5, 4), U(447, 5)]);
        yield return Case("Linear x[2,3,4] W[5,4] no bias", x => Tensor.Linear(x[0], x[1]), () => [U(448, 2, 3, 4), U(449, 5, 4)]);
        yield return Case("Linear x[1,7] W[1,7] b[1]", x => Tensor.Linear(x[0], x[1], x[2]), () => [U(450, 1, 7), U(451, 1, 7), U(452, 1)]);
        yield return Case("Linear x[3] W[2,3] b[2] rank-1", x => Tensor.Linear(x[0], x[1], x[2]), () => [U(453, 3), U(454, 2, 3), U(455, 2)]);
        yield return Case("Linear constant x[4,3]", x => Tensor.Linear(x[0], x[1], x[2]), () => [C(456, -1, 1, 4, 3), U(457, 2, 3), U(458, 2)]);
    }

    [TestCaseSource(nameof(MatmulCases))]
    public void Matmul(Op f, Inputs inputs) => Run(f, inputs);

    // ---- shape ops ----

    public static IEnumerable<TestCaseData> ShapeCases()
    {
        yield return Case("Reshape [2,3,4] -> [4,6]", x => x[0].Reshape(4, 6), () => [U(500, 2, 3, 4)]);
        yield return Case("Reshape [2,3,4] -> [-1,4]", x => x[0].Reshape(-1, 4), () => [U(501, 2, 3, 4)]);
        yield return Case("Reshape [6] -> [3,-1] then * itself", x => x[0].Reshape(3, -1) * x[0].Reshape(3, 2), () => [U(502, 6)]);
        yield return Case("Reshape rank-0 -> [1,1]", x => x[0].Reshape(1, 1), () => [U(503)]);
        yield return Case("Reshape(Shape) [3,4] -> [2,2,3]", x => x[0].Reshape(new Shape(2, 2, 3)), () => [U(504, 3, 4)]);
        yield return Case("Unsqueeze(0) [3,4]", x => x[0].Unsqueeze(0), () => [U(505, 3, 4)]);
        yield return Case("Unsqueeze(-1) then broadcast", x => x[0].Unsqueeze(-1) * x[1], () => [U(506, 3, 4), U(507, 2)]);
        yield return Case("Squeeze(1) [3,1,4]", x => x[0].Squeeze(1), () => [U(508, 3, 1, 4)]);
        yield return Case("Squeeze(-1) [5,1]", x => x[0].Squeeze(-1), () => [U(509, 5, 1)]);
        yield return Case("Flatten [2,3,4]", x => x[0].Flatten(), () => [U(510, 2, 3, 4)]);
        yield return Case("Flatten rank-0", x => x[0].Flatten(), () => [U(511)]);
        yield return Case("Transpose(0,1) [3,5]", x => x[0].Transpose(0, 1), () => [U(512, 3, 5)]);
        yield return Case("Transpose(0,2) [2,3,4]", x => x[0].Transpose(0, 2), () => [U(513, 2, 3, 4)]);
        yield return Case("Transpose(1,-1) [2,3,4]", x => x[0].Transpose(1, -1), () => [U(514, 2, 3, 4)]);
        yield return Case("Transpose(0,1) [1,5]", x => x[0].Transpose(0, 1), () => [U(515, 1, 5)]);
        yield return Case("T() [3,5]", x => x[0].T(), () => [U(516, 3, 5)]);
        yield return Case("T() [2,3,4]", x => x[0].T(), () => [U(517, 2, 3, 4)]);
        yield return Case("x @ x.T()", x => x[0].Matmul(x[0].T()), () => [U(518, 3, 4)]);
        yield return Case("Slice(0,1,2) [4,3] view", x => x[0].Slice(0, 1, 2), () => [U(519, 4, 3)]);
        yield return Case("Slice(1,1,2) [3,4] copy", x => x[0].Slice(1, 1, 2), () => [U(520, 3, 4)]);
        yield return Case("Slice(2,2,3) [2,3,5] copy", x => x[0].Slice(2, 2, 3), () => [U(521, 2, 3, 5)]);
        yield return Case("Slice(1,0,1) [2,3,5] copy", x => x[0].Slice(1, 0, 1), () => [U(522, 2, 3, 5)]);
        yield return Case("Slice(-1,0,2) [3,4]", x => x[0].Slice(-1, 0, 2), () => [U(523, 3, 4)]);
        yield return Case("Slice(0,4,1) [5] rank-1", x => x[0].Slice(0, 4, 1), () => [U(524, 5)]);
        yield return Case("SliceRows(1,2) [4,3]", x => x[0].SliceRows(1, 2), () => [U(525, 4, 3)]);
        yield return Case("SliceRows overlapping products", x => x[0].SliceRows(0, 3) * x[0].SliceRows(1, 3), () => [U(526, 4, 2)]);
        yield return Case("Slices of both axes summed", x => x[0].Slice(1, 0, 2) + x[0].Slice(1, 2, 2), () => [U(527, 3, 4)]);
        yield return Case("Concat axis 0 [1,3],[2,3],[4,3]", x => Tensor.Concat([x[0], x[1], x[2]]), () => [U(528, 1, 3), U(529, 2, 3), U(530, 4, 3)]);
        yield return Case("Concat axis 1 [2,1],[2,3],[2,2]", x => Tensor.Concat([x[0], x[1], x[2]], 1), () => [U(531, 2, 1), U(532, 2, 3), U(533, 2, 2)]);
        yield return Case("Concat axis -1 [2,3,1],[2,3,2],[2,3,3]", x => Tensor.Concat([x[0], x[1], x[2]], -1), () => [U(534, 2, 3, 1), U(535, 2, 3, 2), U(536, 2, 3, 3)]);
        yield return Case("Concat axis 1 of rank-3 [2,1,3],[2,2,3],[2,3,3]", x => Tensor.Concat([x[0], x[1], x[2]], 1), () => [U(537, 2, 1, 3), U(538, 2, 2, 3), U(539, 2, 3, 3)]);
        yield return Case("Concat with a constant", x => Tensor.Concat([x[0], x[1], x[2]], 1), () => [U(540, 2, 2), C(541, -1, 1, 2, 3), U(542, 2, 1)]);
        yield return Case("Concat the same tensor twice", x => Tensor.Concat([x[0], x[0].Square()]), () => [U(543, 2, 3)]);
        yield return Case("Stack axis 0 of three [2,3]", x => Tensor.Stack([x[0], x[1], x[2]]), () => [U(544, 2, 3), U(545, 2, 3), U(546, 2, 3)]);
        yield return Case("Stack axis 1 of three [2,3]", x => Tensor.Stack([x[0], x[1], x[2]], 1), () => [U(547, 2, 3), U(548, 2, 3), U(549, 2, 3)]);
        yield return Case("Stack axis -1 of two [4]", x => Tensor.Stack([x[0], x[1]], -1), () => [U(550, 4), U(551, 4)]);
        yield return Case("Stack of rank-0", x => Tensor.Stack([x[0], x[1], x[0]]), () => [U(552), U(553)]);
        yield return Case("GatherRows [0,2,2,0,1] of [3,4]", x => x[0].GatherRows([0, 2, 2, 0, 1]), () => [U(554, 3, 4)]);
        yield return Case("GatherRows [1,1,1] of [2,3,2]", x => x[0].GatherRows([1, 1, 1]), () => [U(555, 2, 3, 2)]);
        yield return Case("GatherRows [3,0] of [5]", x => x[0].GatherRows([3, 0, 3]), () => [U(556, 5)]);
    }

    [TestCaseSource(nameof(ShapeCases))]
    public void Shapes(Op f, Inputs inputs) => Run(f, inputs);

    // ---- reductions and the softmax family ----

    public static IEnumerable<TestCaseData> ReduceCases()
    {
        yield return Case("Sum() [3,4]", x => x[0].Sum(), () => [U(600, 3, 4)]);
        yield return Case("Sum() rank-0", x => x[0].Sum(), () => [U(601)]);
        yield return Case("Sum() [5]", x => x[0].Sum(), () => [U(602, 5)]);
        yield return Case("Sum(0) [3,4]", x => x[0].Sum(0), () => [U(603, 3, 4)]);
        yield return Case("Sum(1) [3,4]", x => x[0].Sum(1), () => [U(604, 3, 4)]);
        yield return Case("Sum(1, keepDims) [2,3,4]", x => x[0].Sum(1, keepDims: true), () => [U(605, 2, 3, 4)]);
        yield return Case("Sum(-1) [2,3,4]", x => x[0].Sum(-1), () => [U(606, 2, 3, 4)]);
        yield return Case("Sum(1) [2,1,3]", x => x[0].Sum(1), () => [U(607, 2, 1, 3)]);
        yield return Case("Sum([0,2]) [2,3,4]", x => x[0].Sum([0, 2]), () => [U(608, 2, 3, 4)]);
        yield return Case("Sum([2,0], keepDims) [2,3,4]", x => x[0].Sum([2, 0], keepDims: true), () => [U(609, 2, 3, 4)]);
        yield return Case("Sum([-1,-2]) [3,5]", x => x[0].Sum([-1, -2]), () => [U(610, 3, 5)]);
        yield return Case("Mean() [3,4]", x => x[0].Mean(), () => [U(611, 3, 4)]);
        yield return Case("Mean(0) [3,4]", x => x[0].Mean(0), () => [U(612, 3, 4)]);
        yield return Case("Mean(1, keepDims) [2,3,4]", x => x[0].Mean(1, keepDims: true), () => [U(613, 2, 3, 4)]);
        yield return Case("Mean(-1) [7]", x => x[0].Mean(-1), () => [U(614, 7)]);
        yield return Case("Mean([0,1]) [2,3,4]", x => x[0].Mean([0, 1]), () => [U(615, 2, 3, 4)]);
        yield return Case("Mean([1,2], keepDims) [2,3,4]", x => x[0].Mean([1, 2], keepDims: true), () => [U(616, 2, 3, 4)]);
        yield return Case("Max() [3,4]", x => x[0].Max(), () => [U(617, 3, 4)]);
        yield return Case("Max(0) [3,4]", x => x[0].Max(0), () => [U(618, 3, 4)]);
        yield return Case("Max(1) [3,4]", x => x[0].Max(1), () => [U(619, 3, 4)]);
        yield return Case("Max(1, keepDims) [2,3,4]", x => x[0].Max(1, keepDims: true), () => [U(620, 2, 3, 4)]);
        yield return Case("Max(-1) [2,3,5]", x => x[0].Max(-1), () => [U(621, 2, 3, 5)]);
        yield return Case("LogSumExp(0) [3,4]", x => x[0].LogSumExp(0), () => [R(622, -3, 3, 3, 4)]);
        yield return Case("LogSumExp(0, keepDims) [3,4]", x => x[0].LogSumExp(0, keepDims: true), () => [R(623, -3, 3, 3, 4)]);
        yield return Case("LogSumExp(1) [3,4]", x => x[0].LogSumExp(1), () => [R(624, -3, 3, 3, 4)]);
        yield return Case("LogSumExp(1, keepDims) [3,4]", x => x[0].LogSumExp(1, keepDims: true), () => [R(625, -3, 3, 3, 4)]);
        yield return Case("LogSumExp(1) [2,3,4]", x => x[0].LogSumExp(1), () => [R(626, -3, 3, 2, 3, 4)]);
        yield return Case("LogSumExp(-1) [1,5]", x => x[0].LogSumExp(-1), () => [R(627, -3, 3, 1, 5)]);
        yield return Case("LogSumExp(0) [1,5] n=1", x => x[0].LogSumExp(0), () => [R(628, -3, 3, 1, 5)]);
        yield return Case("LogSumExp shifted by 50", x => (x[0] + 50).LogSumExp(1), () => [R(629, -3, 3, 2, 5)]);
        foreach (var (name, dims, axis) in new (string, int[], int)[]
                 {
                     ("axis 0 of [3,4]", [3, 4], 0), ("axis 1 of [3,4]", [3, 4], 1), ("axis -1 of [3,4]", [3, 4], -1),
                     ("axis 1 of [2,3,4]", [2, 3, 4], 1), ("axis 0 of [2,3,4]", [2, 3, 4], 0), ("axis -1 of [2,3,4]", [2, 3, 4], -1),
                     ("axis 0 of [5]", [5], 0), ("axis 0 of [1,4] n=1", [1, 4], 0),
                 })
        {
            int s = 640 + 2 * axis + dims.Length * 7;
            yield return Case($"Softmax {name}", x => x[0].Softmax(axis), () => [R(s, -3, 3, dims)]);
            yield return Case($"LogSoftmax {name}", x => x[0].LogSoftmax(axis), () => [R(s + 1, -3, 3, dims)]);
        }
        yield return Case("Softmax default axis [2,3]", x => x[0].Softmax(), () => [U(690, 2, 3)]);
        yield return Case("LogSoftmax default axis [2,3]", x => x[0].LogSoftmax(), () => [U(691, 2, 3)]);
    }

    [TestCaseSource(nameof(ReduceCases))]
    public void Reductions(Op f, Inputs inputs) => Run(f, inputs);

    // ---- where and the fused losses ----

    private static Tensor Mask(int seed, params int[] dims)
    {
        var rng = new Random(seed);
        var v = Enumerable.Range(0, new Shape(dims).Count).Select(i => i % 2 == 0 ? 1.0 : rng.Next(2)).ToArray();
        v[^1] = 0; // both branches are taken somewhere
        return Tensor.FromArray(v, dims);
    }

    public static IEnumerable<TestCaseData> WhereAndLossCases()
    {
        yield return Case("Where mask [3,1], a [3,4], b [4]", x => Tensor.Where(x[2], x[0], x[1]), () => [U(700, 3, 4), U(701, 4), Mask(702, 3, 1)]);
        yield return Case("Where mask [2,3], a [1], b [2,3]", x => Tensor.Where(x[2], x[0], x[1]), () => [U(703, 1), U(704, 2, 3), Mask(705, 2, 3)]);
        yield return Case("Where mask [4], a [3,1], b rank-0", x => Tensor.Where(x[2], x[0], x[1]), () => [U(706, 3, 1), U(707), Mask(708, 4)]);
        yield return Case("Where mask [2,3], same-shape branches", x => Tensor.Where(x[2], x[0], x[1]), () => [U(709, 2, 3), U(710, 2, 3), Mask(711, 2, 3)]);
        yield return Case("Where same tensor on both branches", x => Tensor.Where(x[1], x[0].Exp(), x[0] * 3), () => [U(712, 2, 3), Mask(713, 2, 3)]);

        yield return Case("BceWithLogits [3,4] logits and targets", x => Tensor.BceWithLogits(x[0], x[1]), () => [R(720, -4, 4, 3, 4), R(721, 0, 1, 3, 4)]);
        yield return Case("BceWithLogits [5] to rank-0", x => Tensor.BceWithLogits(x[0], x[1]), () => [R(722, -4, 4, 5), R(723, 0, 1, 5)]);
        yield return Case("BceWithLogits [2,3,4]", x => Tensor.BceWithLogits(x[0], x[1]), () => [R(724, -4, 4, 2, 3, 4), R(725, 0, 1, 2, 3, 4)]);
        yield return Case("BceWithLogits [4,1]", x => Tensor.BceWithLogits(x[0], x[1]), () => [R(726, -4, 4, 4, 1), R(727, 0, 1, 4, 1)]);
        yield return Case("BceWithLogits constant targets", x => Tensor.BceWithLogits(x[0], x[1]), () => [R(728, -4, 4, 3, 2), C(729, 0, 1, 3, 2)]);
        yield return Case("BceWithLogits [3,2,4] logits, [2,4] targets read in place", x => Tensor.BceWithLogits(x[0], x[1]), () => [R(731, -4, 4, 3, 2, 4), C(732, 0, 1, 2, 4)]);
        yield return Case("BceWithLogits [2,3,5] logits, [5] targets", x => Tensor.BceWithLogits(x[0], x[1]), () => [R(733, -4, 4, 2, 3, 5), C(734, 0, 1, 5)]);
        yield return Case("BceWithLogits [3,2,4] logits, [2,4] targets with grad (expanded)", x => Tensor.BceWithLogits(x[0], x[1]), () => [R(735, -4, 4, 3, 2, 4), R(736, 0, 1, 2, 4)]);
        yield return Case("BceWithLogits large logits", x => Tensor.BceWithLogits(x[0], x[1]),
            () => [Tensor.FromArray(new double[] { -40, -15, 15, 40 }, 1, 4).RequireGrad(), R(730, 0, 1, 1, 4)]);

        yield return Case("GaussianLogDensity [3,4]", x => Tensor.GaussianLogDensity(x[0], x[1], x[2]), () => [U(740, 3, 4), U(741, 3, 4), R(742, -2, 2, 3, 4)]);
        yield return Case("GaussianLogDensity [5] to rank-0", x => Tensor.GaussianLogDensity(x[0], x[1], x[2]), () => [U(743, 5), U(744, 5), R(745, -2, 2, 5)]);
        yield return Case("GaussianLogDensity [2,2,3]", x => Tensor.GaussianLogDensity(x[0], x[1], x[2]), () => [U(746, 2, 2, 3), U(747, 2, 2, 3), R(748, -2, 2, 2, 2, 3)]);
        yield return Case("GaussianLogDensity [3,1]", x => Tensor.GaussianLogDensity(x[0], x[1], x[2]), () => [U(749, 3, 1), U(750, 3, 1), R(751, -2, 2, 3, 1)]);
        yield return Case("GaussianLogDensity constant x", x => Tensor.GaussianLogDensity(x[0], x[1], x[2]), () => [C(752, -1, 1, 2, 3), U(753, 2, 3), R(754, -2, 2, 2, 3)]);
    }

    [TestCaseSource(nameof(WhereAndLossCases))]
    public void WhereAndLosses(Op f, Inputs inputs) => Run(f, inputs);

    // ---- compositions: chains, reuse of an input, broadcasting inside graphs ----

    public static IEnumerable<TestCaseData> CompositeCases()
    {
        yield return Case("softplus(linear(x)).logsumexp(1).mean()", x => Tensor.Linear(x[0], x[1], x[2]).Softplus().LogSumExp(1).Mean(),
            () => [U(800, 5, 3), U(801, 4, 3), U(802, 4)]);
        yield return Case("x*x + x", x => x[0] * x[0] + x[0], () => [U(803, 3, 4)]);
        yield return Case("x*x + x, rank-0", x => x[0] * x[0] + x[0], () => [U(804)]);
        yield return Case("x - x.Mean(1, keepDims)", x => x[0] - x[0].Mean(1, keepDims: true), () => [U(805, 3, 5)]);
        yield return Case("x / x.Sum()", x => x[0] / x[0].Sum(), () => [P(806, 2, 3)]);
        yield return Case("MLP relu(x W1^T + b1) W2^T + b2, tanh, mean", x => Tensor.Linear(Tensor.Linear(x[0], x[1], x[2]).Tanh(), x[3], x[4]).Square().Mean(),
            () => [U(807, 4, 3), U(808, 5, 3), U(809, 5), U(810, 2, 5), U(811, 2)]);
        yield return Case("(a @ b + c).sigmoid * a.sum(1, keepDims)", x => (x[0].Matmul(x[1]) + x[2]).Sigmoid() * x[0].Sum(1, keepDims: true),
            () => [U(812, 3, 4), U(813, 4, 2), U(814, 2)]);
        yield return Case("softmax(x) . log_softmax(x) (negative entropy)", x => (x[0].Softmax(1) * x[0].LogSoftmax(1)).Sum(1),
            () => [R(815, -2, 2, 3, 5)]);
        yield return Case("log(softmax(x)) equals log_softmax path", x => x[0].Softmax(0).Log() - x[0].LogSoftmax(0).Mul(0.5), () => [U(816, 4, 3)]);
        yield return Case("exp(x).sum(1).log() vs logsumexp", x => x[0].Exp().Sum(1).Log() + x[0].LogSumExp(1), () => [U(817, 2, 6)]);
        yield return Case("VAE-like loss", x =>
            {
                var logits = Tensor.Linear(x[0], x[1], x[2]);
                var recon = Tensor.BceWithLogits(logits, x[3]);
                var kl = (x[4].Exp() + x[0].Square() - 1 - x[4]).Sum(1) * 0.5;
                return (recon + kl).Mean();
            },
            () => [U(818, 3, 2), U(819, 4, 2), U(820, 4), C(821, 0, 1, 3, 4), U(822, 3, 2)]);
        yield return Case("transpose, concat, gather, slice chain", x =>
                Tensor.Concat([x[0].T(), x[1]], 0).GatherRows([0, 3, 3, 1]).Slice(1, 1, 2).Abs().Sum(0),
            () => [Away(823, -2, 2, [0], [3, 2]), Away(824, -2, 2, [0], [2, 3])]);
        yield return Case("Where of computed branches then Max(1)", x => Tensor.Where(x[1], x[0].Exp(), x[0].Neg().Square()).Max(1),
            () => [U(825, 2, 4), Mask(826, 2, 4)]);
        yield return Case("x + x", x => x[0] + x[0], () => [U(829, 2, 3)]);
        yield return Case("x / x (gradient 0)", x => x[0] / x[0], () => [P(830, 2, 3)]);
        yield return Case("Concat [x, x] axis 1", x => Tensor.Concat([x[0], x[0]], 1), () => [U(831, 2, 3)]);
        yield return Case("Stack [x, x, y]", x => Tensor.Stack([x[0], x[0], x[1]], 1), () => [U(832, 2, 3), U(833, 2, 3)]);
        yield return Case("Where(mask, x, x)", x => Tensor.Where(x[1], x[0], x[0].Square()), () => [U(834, 3, 2), Mask(835, 3, 1)]);
        yield return Case("stack then batched matmul", x => Tensor.Stack([x[0], x[0].T().Matmul(x[1])]).Matmul(x[1]),
            () => [U(827, 2, 2), U(828, 2, 2)]);
    }

    [TestCaseSource(nameof(CompositeCases))]
    public void Composites(Op f, Inputs inputs) => Run(f, inputs);

    // ---- float32: the same graphs, gradients compared with float64 (the float32 kernels are other code paths) ----

    public static IEnumerable<TestCaseData> Float32Cases() =>
        BinaryCases().Concat(ScalarCases()).Concat(UnaryCases()).Concat(MatmulCases()).Concat(ShapeCases())
            .Concat(ReduceCases()).Concat(WhereAndLossCases()).Concat(CompositeCases())
            .Select(c => new TestCaseData(c.Arguments).SetName("float32 " + c.TestName));

    [TestCaseSource(nameof(Float32Cases))]
    public void Float32GradientsAgreeWithFloat64(Op f, Inputs inputs)
    {
        var x64 = inputs();
        var x32 = x64.Select(t =>
        {
            var c = t.To(DType.Float32);
            Assert.That(c.Shape, Is.EqualTo(t.Shape), "To(Float32) keeps the shape");
            return t.RequiresGrad ? c.RequireGrad() : c;
        }).ToArray();
        var y64 = f(x64);
        var y32 = f(x32);
        Assert.That(y32.DType, Is.EqualTo(DType.Float32));
        Assert.That(y32.Shape, Is.EqualTo(y64.Shape));
        Assert.That(y32.ToDoubleArray(), Is.EqualTo(y64.ToDoubleArray()).Within(1e-4).Percent.Or.EqualTo(y64.ToDoubleArray()).Within(1e-4),
            "float32 forward agrees with float64");

        var rng = new Random(99);
        var w = Enumerable.Range(0, y64.Count).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        var w64 = Tensor.FromArray(w).Reshape(y64.Shape);
        (y64 * w64).Sum().Backward();
        (y32 * w64.To(DType.Float32).Reshape(y64.Shape)).Sum().Backward();
        for (int k = 0; k < x64.Length; k++)
        {
            if (!x64[k].RequiresGrad) continue;
            var g64 = x64[k].Grad!.ToDoubleArray();
            var g32 = x32[k].Grad!.ToDoubleArray();
            Assert.That(x32[k].Grad!.DType, Is.EqualTo(DType.Float32));
            for (int i = 0; i < g64.Length; i++)
                Assert.That(g32[i], Is.EqualTo(g64[i]).Within(2e-4 + 2e-3 * Math.Abs(g64[i])), $"input {k} {x64[k].Shape}, element {i}");
        }
    }

    // ---- gradients of intermediates and upstream gradients ----

    [Test]
    public void RetainGrad_IntermediateGradEqualsNumericDerivative()
    {
        var x = U(900, 3, 4);
        var w = U(901, 4);
        var h = (x * w).RetainGrad();
        var loss = h.Tanh().Square().Sum(1).LogSumExp(0);
        loss.Backward();
        Assert.That(h.Grad, Is.Not.Null, "RetainGrad keeps the intermediate's gradient");
        Assert.That(h.Grad!.Shape, Is.EqualTo(h.Shape));

        // d loss / d h by central differences on h's values, with the downstream function alone.
        static double Downstream(double[] hv)
        {
            using var _ = Engine.Autograd.GradMode.NoGrad();
            return Tensor.FromArray(hv, 3, 4).Tanh().Square().Sum(1).LogSumExp(0).Item();
        }
        var hv = h.ToDoubleArray();
        var analytic = h.Grad.ToDoubleArray();
        const double eps = 1e-6;
        for (int i = 0; i < hv.Length; i++)
        {
            var p = (double[])hv.Clone(); p[i] += eps;
            var m = (double[])hv.Clone(); m[i] -= eps;
            double numeric = (Downstream(p) - Downstream(m)) / (2 * eps);
            Assert.That(analytic[i], Is.EqualTo(numeric).Within(1e-7 + 1e-5 * Math.Abs(numeric)), $"element {i}");
        }
        // The leaves got theirs too (checked independently by the gradient checker elsewhere), and a non-retained
        // intermediate has none.
        Assert.That(x.Grad, Is.Not.Null);
        Assert.That(w.Grad, Is.Not.Null);
    }

    [Test]
    public void NonRetainedIntermediate_HasNoGradAfterBackward()
    {
        var x = U(902, 2, 3);
        var h = x.Exp();
        h.Sum().Backward();
        Assert.That(h.Grad, Is.Null);
        Assert.That(x.Grad!.ToDoubleArray(), Is.EqualTo(h.ToDoubleArray()).Within(1e-15));
    }

    [Test]
    public void Backward_WithNonScalarUpstreamGradient()
    {
        var x = U(903, 2, 3);
        var w = U(904, 3, 4);
        var y = x.Matmul(w).Tanh(); // [2, 4]
        var g = U(905, 2, 4).Detach();
        y.Backward(g);

        // Reference: the same upstream gradient as an explicit projection, checked against finite differences.
        GradCheck.Check(t => t[0].Matmul(t[1]).Tanh() * t[2], x, w, g);
        var xr = Tensor.FromArray(x.ToDoubleArray(), 2, 3).RequireGrad();
        var wr = Tensor.FromArray(w.ToDoubleArray(), 3, 4).RequireGrad();
        (xr.Matmul(wr).Tanh() * g).Sum().Backward();
        Assert.That(x.Grad!.ToDoubleArray(), Is.EqualTo(xr.Grad!.ToDoubleArray()).Within(1e-12));
        Assert.That(w.Grad!.ToDoubleArray(), Is.EqualTo(wr.Grad!.ToDoubleArray()).Within(1e-12));

        // And by hand: dy/dx for y = tanh(x W) is (g (1 - y^2)) W^T.
        var yv = y.ToDoubleArray();
        var gv = g.ToDoubleArray();
        var wv = w.ToDoubleArray();
        var xg = x.Grad!.ToDoubleArray();
        for (int i = 0; i < 2; i++)
        for (int k = 0; k < 3; k++)
        {
            double s = 0;
            for (int j = 0; j < 4; j++) s += gv[i * 4 + j] * (1 - yv[i * 4 + j] * yv[i * 4 + j]) * wv[k * 4 + j];
            Assert.That(xg[i * 3 + k], Is.EqualTo(s).Within(1e-12));
        }
    }

    [Test]
    public void Backward_WithUpstreamGradientOnAView()
    {
        var x = U(906, 4, 3);
        var y = x.SliceRows(1, 2).Reshape(-1); // [6], a view of a view
        var g = Tensor.FromArray(new double[] { 1, 2, 3, 4, 5, 6 });
        y.Backward(g);
        Assert.That(x.Grad!.ToDoubleArray(), Is.EqualTo(new double[] { 0, 0, 0, 1, 2, 3, 4, 5, 6, 0, 0, 0 }));
    }

    [Test]
    public void GradientsAccumulateAcrossBackwardCalls_AndZeroGradClears()
    {
        var x = Tensor.FromArray(new double[] { 1, -2, 3 }).RequireGrad();
        (x * x).Sum().Backward();
        Assert.That(x.Grad!.ToDoubleArray(), Is.EqualTo(new double[] { 2, -4, 6 }));
        (x * 3).Sum().Backward();
        Assert.That(x.Grad!.ToDoubleArray(), Is.EqualTo(new double[] { 5, -1, 9 }));
        x.ZeroGrad();
        Assert.That(x.Grad!.ToDoubleArray(), Is.EqualTo(new double[] { 0, 0, 0 }));
        x.Sum().Backward();
        Assert.That(x.Grad!.ToDoubleArray(), Is.EqualTo(new double[] { 1, 1, 1 }));
    }

    [Test]
    public void InputUsedManyTimes_AccumulatesEveryPath()
    {
        // y = x*x + x + exp(x) + x.T().T(): dy/dx = 2x + 1 + exp(x) + 1.
        var x = U(907, 2, 3);
        (x * x + x + x.Exp() + x.T().T()).Sum().Backward();
        var xv = x.ToDoubleArray();
        Assert.That(x.Grad!.ToDoubleArray(), Is.EqualTo(xv.Select(v => 2 * v + 2 + Math.Exp(v)).ToArray()).Within(1e-12));
    }

    [Test]
    public void MaxGradient_GoesToTheFirstOfTiedMaxima()
    {
        var x = Tensor.FromArray(new double[] { 1, 3, 3, 2, 5, 5 }, 2, 3).RequireGrad();
        x.Max(1).Sum().Backward();
        Assert.That(x.Grad!.ToDoubleArray(), Is.EqualTo(new double[] { 0, 1, 0, 0, 1, 0 }));
        var z = Tensor.FromArray(new double[] { 4, 4, 1, 4 }, 2, 2).RequireGrad();
        z.Max(0).Sum().Backward();
        Assert.That(z.Grad!.ToDoubleArray(), Is.EqualTo(new double[] { 1, 1, 0, 0 }));
    }

    [Test]
    public void SubgradientConventionsAtKinks()
    {
        // As PyTorch: relu'(0) = 0, leaky_relu'(0) = slope, |x|'(0) = 0, clamp passes the gradient at its bounds.
        var x = Tensor.FromArray(new double[] { 0, 0, 0, -1, 2, 1.5 }).RequireGrad();
        var parts = new[]
        {
            x.SliceRows(0, 1).Relu(), x.SliceRows(1, 1).LeakyRelu(0.2), x.SliceRows(2, 1).Abs(),
            x.SliceRows(3, 3).Clamp(-1, 2),
        };
        Tensor.Concat(parts).Sum().Backward();
        Assert.That(x.Grad!.ToDoubleArray(), Is.EqualTo(new double[] { 0, 0.2, 0, 1, 1, 1 }));
    }

    [Test]
    public void BackwardOfALeaf_GivesOne()
    {
        var s = U(910);
        s.Backward();
        Assert.That(s.Grad!.Item(), Is.EqualTo(1));
        var v = U(911, 3);
        v.Backward(Tensor.FromArray(new double[] { 1, 2, 3 }));
        Assert.That(v.Grad!.ToDoubleArray(), Is.EqualTo(new double[] { 1, 2, 3 }));
    }

    [Test]
    public void NoGrad_RecordsNothing()
    {
        var x = U(908, 2, 2);
        Tensor y;
        using (Engine.Autograd.GradMode.NoGrad()) y = (x * x).Sum();
        Assert.That(y.RequiresGrad, Is.False);
        Assert.That(y.IsLeaf, Is.True);
        Assert.Throws<InvalidOperationException>(() => y.Backward());
        var z = (x * x).Sum();
        Assert.That(z.RequiresGrad, Is.True);
        Assert.That(z.IsLeaf, Is.False);
    }

    [Test]
    public void Backward_RejectsBadUpstreamGradients()
    {
        var x = U(909, 2, 3);
        var y = x.Exp();
        Assert.Throws<InvalidOperationException>(() => y.Backward(), "a non-scalar needs an upstream gradient");
        Assert.Throws<ArgumentException>(() => y.Backward(Tensor.Zeros(new Shape(3, 2), DType.Float64)), "wrong shape");
        Assert.Throws<ArgumentException>(() => y.Backward(Tensor.Zeros(new Shape(2, 3), DType.Float32)), "wrong dtype");
    }
}
