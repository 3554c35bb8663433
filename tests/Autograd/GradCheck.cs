namespace Engine.Tests.Autograd;

/// <summary>
/// Compares autodiff gradients with central finite differences in float64 (PyTorch's gradcheck settings:
/// eps 1e-6, atol 1e-5, rtol 1e-3). The function must map the inputs to a tensor; its gradient is checked
/// through a fixed random projection of the output, so non-scalar outputs are covered too.
/// </summary>
public static class GradCheck
{
    public static void Check(Func<Tensor[], Tensor> f, params Tensor[] inputs) => Check(f, 1e-6, 1e-5, 1e-3, inputs);

    public static void Check(Func<Tensor[], Tensor> f, double eps, double atol, double rtol, params Tensor[] inputs)
    {
        foreach (var x in inputs)
            Assert.That(x.DType, Is.EqualTo(DType.Float64), "gradcheck runs in float64");
        // A fixed projection w makes L = sum(w * f(x)) a scalar whose gradient exercises every output.
        var probe = f(inputs);
        var rng = new Random(1234);
        var w = probe.Count == 0 ? new double[0] : Enumerable.Range(0, probe.Count).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        var wt = Tensor.FromArray(w, probe.Rank == 0 ? [] : probe.Shape.ToArray());
        if (probe.Rank == 0) wt = wt.Reshape(Shape.Scalar);

        double Loss(Tensor[] xs)
        {
            using var _ = Engine.Autograd.GradMode.NoGrad();
            var y = f(xs).ToDoubleArray();
            double s = 0;
            for (int i = 0; i < y.Length; i++) s += w[i] * y[i];
            return s;
        }

        var leaves = inputs.Select(x => x.RequiresGrad ? Tensor.FromArray(x.ToDoubleArray(), x.Rank == 0 ? [] : x.Shape.ToArray()).Reshape(x.Shape).Detach().RequireGrad() : x).ToArray();
        var output = f(leaves);
        var loss = (output * wt).Sum();
        loss.Backward();

        for (int k = 0; k < inputs.Length; k++)
        {
            if (!inputs[k].RequiresGrad) continue;
            var analytic = leaves[k].Grad?.ToDoubleArray() ?? new double[inputs[k].Count];
            var baseData = inputs[k].ToDoubleArray();
            for (int i = 0; i < baseData.Length; i++)
            {
                var plus = (double[])baseData.Clone(); plus[i] += eps;
                var minus = (double[])baseData.Clone(); minus[i] -= eps;
                var xsPlus = (Tensor[])inputs.Clone(); xsPlus[k] = Make(plus, inputs[k]);
                var xsMinus = (Tensor[])inputs.Clone(); xsMinus[k] = Make(minus, inputs[k]);
                double numeric = (Loss(xsPlus) - Loss(xsMinus)) / (2 * eps);
                double tol = atol + rtol * Math.Abs(numeric);
                Assert.That(analytic[i], Is.EqualTo(numeric).Within(tol),
                    $"input {k} {inputs[k].Shape}, element {i}: analytic {analytic[i]:G10} vs numeric {numeric:G10}");
            }
        }
    }

    private static Tensor Make(double[] data, Tensor like)
    {
        var t = Tensor.FromArray(data, like.Rank == 0 ? [] : like.Shape.ToArray());
        return like.Rank == 0 ? t.Reshape(Shape.Scalar) : t;
    }

    /// <summary>A float64 leaf with uniform values in [lo, hi) that requires grad.</summary>
    public static Tensor Rand(int seed, double lo, double hi, params int[] dims)
    {
        var rng = new Random(seed);
        var shape = new Shape(dims);
        var v = Enumerable.Range(0, shape.Count).Select(_ => lo + (hi - lo) * rng.NextDouble()).ToArray();
        var t = dims.Length == 0 ? Tensor.FromArray(v).Reshape(Shape.Scalar).Detach() : Tensor.FromArray(v, dims);
        return t.RequireGrad();
    }
}
