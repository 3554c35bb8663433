using Engine.Optim;

namespace Engine.Tests.Core;

/// <summary>
/// Every misuse raises an exception that names the op, the argument and the shapes involved, before any
/// kernel runs: never a silent wrong answer and never an IndexOutOfRangeException from deep inside.
/// Mixed devices are provoked with ILGPU's CPU accelerator as the second device.
/// </summary>
public class ErrorTests
{
    private static Tensor F(int rows, int cols) => Tensor.Zeros(rows, cols);

    private static void AssertMessage(Exception? ex, params string[] parts)
    {
        Assert.That(ex, Is.Not.Null);
        foreach (var p in parts) Assert.That(ex!.Message, Does.Contain(p));
    }

    [Test]
    public void AddShapeMismatch()
    {
        var ex = Assert.Throws<ArgumentException>(() => F(2, 3).Add(F(4, 3)));
        AssertMessage(ex, "add", "[2, 3]", "[4, 3]");
        ex = Assert.Throws<ArgumentException>(() => _ = F(2, 3) * F(2, 4));
        AssertMessage(ex, "mul", "[2, 3]", "[2, 4]");
    }

    [Test]
    public void MatmulInnerDimensionMismatch()
    {
        var ex = Assert.Throws<ArgumentException>(() => F(2, 3).Matmul(F(4, 5)));
        AssertMessage(ex, "matmul", "[2, 3]", "[4, 5]");
        ex = Assert.Throws<ArgumentException>(() => Tensor.Zeros(3).Matmul(F(3, 2)));
        AssertMessage(ex, "matmul", "[3]", "[3, 2]");
    }

    [Test]
    public void BatchedMatmulBatchMismatch()
    {
        var ex = Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 3, 4).Matmul(Tensor.Zeros(5, 4, 6)));
        AssertMessage(ex, "matmul", "batch", "[2, 3, 4]", "[5, 4, 6]");
        ex = Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 3, 4).Matmul(Tensor.Zeros(1, 2, 4, 6)));
        AssertMessage(ex, "matmul", "[2, 3, 4]", "[1, 2, 4, 6]");
    }

    [Test]
    public void LinearWrongInFeaturesAndWrongBias()
    {
        var ex = Assert.Throws<ArgumentException>(() => Tensor.Linear(F(5, 3), F(4, 2)));
        AssertMessage(ex, "linear", "[5, 3]", "[4, 2]", "x");
        ex = Assert.Throws<ArgumentException>(() => Tensor.Linear(F(5, 3), F(4, 3), Tensor.Zeros(3)));
        AssertMessage(ex, "linear", "bias", "[3]", "[4, 3]");
        ex = Assert.Throws<ArgumentException>(() => Tensor.Linear(F(5, 3), Tensor.Zeros(3)));
        AssertMessage(ex, "linear", "weight", "[3]");
    }

    [Test]
    public void MixedElementTypes()
    {
        var a = Tensor.Zeros(new Shape(2, 3), DType.Float32);
        var b = Tensor.Zeros(new Shape(2, 3), DType.Float64);
        var ex = Assert.Throws<ArgumentException>(() => a.Add(b));
        AssertMessage(ex, "add", "Float32", "Float64", "[2, 3]");
        ex = Assert.Throws<ArgumentException>(() => Tensor.Linear(F(2, 3), Tensor.Zeros(new Shape(4, 3), DType.Float64)));
        AssertMessage(ex, "linear", "Float32", "Float64");
    }

    [Test]
    public void MixedDevices()
    {
        var dev = Engine.Devices.Device.Open("ilgpu-cpu");
        var a = Tensor.Zeros(new Shape(2, 3));
        var b = Tensor.Zeros(new Shape(2, 3), DType.Float32, dev);
        var ex = Assert.Throws<ArgumentException>(() => a.Add(b));
        AssertMessage(ex, "add", "cpu", dev.Name, "[2, 3]");
        ex = Assert.Throws<ArgumentException>(() => Tensor.Matmul(Tensor.Zeros(new Shape(2, 3), DType.Float32, dev), Tensor.Zeros(3, 4)));
        AssertMessage(ex, "matmul", "cpu", dev.Name);
    }

    [Test]
    public void BackwardThroughNonScalarWithoutGradient()
    {
        var x = Tensor.FromArray(new float[] { 1, 2, 3 }).RequireGrad();
        var y = x * x;
        var ex = Assert.Throws<InvalidOperationException>(() => y.Backward());
        AssertMessage(ex, "Backward", "[3]", "scalar");
        Assert.That(x.Grad, Is.Null, "nothing was accumulated");
    }

    [Test]
    public void BackwardWithGradientOfWrongShape()
    {
        var x = Tensor.FromArray(new float[] { 1, 2, 3 }).RequireGrad();
        var y = x * x;
        var ex = Assert.Throws<ArgumentException>(() => y.Backward(Tensor.Ones(4)));
        AssertMessage(ex, "Backward", "[4]", "[3]", "gradient");
        ex = Assert.Throws<ArgumentException>(() => y.Backward(Tensor.Ones(new Shape(3), DType.Float64)));
        AssertMessage(ex, "Backward", "Float64", "Float32");
        // the right gradient works
        y.Backward(Tensor.Ones(3));
        Assert.That(x.Grad!.ToFloatArray(), Is.EqualTo(new float[] { 2, 4, 6 }));
    }

    [Test]
    public void BackwardOnTensorThatDoesNotRequireGrad()
    {
        var x = Tensor.FromArray(new float[] { 1, 2, 3 });
        var ex = Assert.Throws<InvalidOperationException>(() => x.Sum().Backward());
        AssertMessage(ex, "Backward", "does not require grad");
    }

    [Test]
    public void ReshapeErrors()
    {
        var x = F(2, 3);
        var ex = Assert.Throws<ArgumentException>(() => x.Reshape(4, 2));
        AssertMessage(ex, "reshape", "[2, 3]", "[4, 2]");
        ex = Assert.Throws<ArgumentException>(() => x.Reshape(-1, -1));
        AssertMessage(ex, "reshape", "-1", "[-1, -1]");
        ex = Assert.Throws<ArgumentException>(() => x.Reshape(-1, 4));
        AssertMessage(ex, "reshape", "[-1, 4]", "[2, 3]");
        ex = Assert.Throws<ArgumentException>(() => x.Reshape(3, -2));
        AssertMessage(ex, "reshape", "[3, -2]");
    }

    [Test]
    public void SliceOutOfRange()
    {
        var x = F(4, 5);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => x.Slice(1, 3, 3));
        AssertMessage(ex, "slice", "[3, 6)", "[4, 5]");
        ex = Assert.Throws<ArgumentOutOfRangeException>(() => x.SliceRows(-1, 2));
        AssertMessage(ex, "slice", "[4, 5]");
    }

    [Test]
    public void ConcatMismatchedShapes()
    {
        var ex = Assert.Throws<ArgumentException>(() => Tensor.Concat([F(2, 3), F(2, 4)], axis: 0));
        AssertMessage(ex, "concat", "[2, 4]", "[2, 3]");
        ex = Assert.Throws<ArgumentException>(() => Tensor.Concat([F(2, 3), Tensor.Zeros(2, 3, 1)], axis: 1));
        AssertMessage(ex, "concat", "[2, 3, 1]", "[2, 3]");
        ex = Assert.Throws<ArgumentException>(() => Tensor.Stack([F(2, 3), F(3, 2)]));
        AssertMessage(ex, "stack", "[3, 2]", "[2, 3]");
    }

    [Test]
    public void GatherRowsIndexOutOfRange()
    {
        var x = F(3, 2);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => x.GatherRows([0, 3]));
        AssertMessage(ex, "gather_rows", "index 3", "[3, 2]");
        ex = Assert.Throws<ArgumentOutOfRangeException>(() => x.GatherRows([-1]));
        AssertMessage(ex, "gather_rows", "-1", "[3, 2]");
    }

    [Test]
    public void SqueezeOfNonUnitAxis()
    {
        var ex = Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 1, 3).Squeeze(2));
        AssertMessage(ex, "squeeze", "[2, 1, 3]", "size 3");
        Assert.That(Tensor.Zeros(2, 1, 3).Squeeze(1).Shape, Is.EqualTo(new Shape(2, 3)));
    }

    [Test]
    public void AxisOutOfRangeForSumAndSoftmax()
    {
        var x = F(2, 3);
        var ex = Assert.Catch<ArgumentException>(() => x.Sum(2));
        AssertMessage(ex, "sum", "axis 2", "[2, 3]");
        ex = Assert.Catch<ArgumentException>(() => x.Mean(-3));
        AssertMessage(ex, "mean", "-3", "[2, 3]");
        ex = Assert.Catch<ArgumentException>(() => x.Softmax(5));
        AssertMessage(ex, "softmax", "5", "[2, 3]");
        ex = Assert.Catch<ArgumentException>(() => x.LogSoftmax(-4));
        AssertMessage(ex, "logsoftmax", "-4", "[2, 3]");
        ex = Assert.Catch<ArgumentException>(() => Tensor.Scalar(1).Sum(0));
        AssertMessage(ex, "sum", "scalar");
    }

    [Test]
    public void AxisOutOfRangeForShapeOps()
    {
        var x = F(2, 3);
        var ex = Assert.Catch<ArgumentException>(() => x.Transpose(0, 2));
        AssertMessage(ex, "transpose", "axis 2", "[2, 3]");
        ex = Assert.Catch<ArgumentException>(() => x.Slice(-3, 0, 1));
        AssertMessage(ex, "slice", "-3", "[2, 3]");
        ex = Assert.Catch<ArgumentException>(() => x.Squeeze(4));
        AssertMessage(ex, "squeeze", "4", "[2, 3]");
        ex = Assert.Catch<ArgumentException>(() => Tensor.Concat([x, x], axis: 2));
        AssertMessage(ex, "concat", "axis 2", "[2, 3]");
        var ex2 = Assert.Throws<InvalidOperationException>(() => Tensor.Zeros(3).T());
        AssertMessage(ex2, "T()", "[3]");
    }

    [Test]
    public void FromArrayWithWrongElementCount()
    {
        var ex = Assert.Throws<ArgumentException>(() => Tensor.FromArray(new float[5], 2, 3));
        AssertMessage(ex, "FromArray", "5", "[2, 3]", "6", "data");
        ex = Assert.Throws<ArgumentException>(() => Tensor.FromArray(new double[7], 2, 2));
        AssertMessage(ex, "FromArray", "7", "[2, 2]");
    }

    [Test]
    public void ClampWithMinAboveMax()
    {
        var ex = Assert.Throws<ArgumentException>(() => F(2, 2).Clamp(1, -1));
        AssertMessage(ex, "Clamp", "min (1)", "max (-1)", "[2, 2]");
        ex = Assert.Throws<ArgumentException>(() => F(2, 2).Clamp(double.NaN, 1));
        AssertMessage(ex, "Clamp", "NaN");
    }

    [Test]
    public void NegativeDimensionInShape()
    {
        var ex = Assert.Throws<ArgumentException>(() => _ = new Shape(2, -3));
        AssertMessage(ex, "negative", "-3", "[2, -3]");
        ex = Assert.Throws<ArgumentException>(() => Tensor.Zeros(1, 1, 1, 1, 1, 1, 1));
        AssertMessage(ex, "7");
    }

    [Test]
    public void ItemOnNonScalar()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => F(2, 3).Item());
        AssertMessage(ex, "Item()", "[2, 3]");
        Assert.That(Tensor.Full(new Shape(1, 1), 4).Item(), Is.EqualTo(4));
    }

    [Test]
    public void BceWithLogitsShapeMismatch()
    {
        var ex = Assert.Throws<ArgumentException>(() => Tensor.BceWithLogits(F(4, 3), F(4, 2)));
        AssertMessage(ex, "bce_with_logits", "[4, 3]", "[4, 2]", "targets");
        // Targets may drop leading axes of the logits, never trailing ones, and never have more axes.
        ex = Assert.Throws<ArgumentException>(() => Tensor.BceWithLogits(Tensor.Zeros(2, 4, 3), F(2, 4)));
        AssertMessage(ex, "bce_with_logits", "[2, 4, 3]", "[2, 4]", "trailing");
        ex = Assert.Throws<ArgumentException>(() => Tensor.BceWithLogits(F(4, 3), Tensor.Zeros(2, 4, 3)));
        AssertMessage(ex, "bce_with_logits", "[4, 3]", "[2, 4, 3]");
        ex = Assert.Throws<ArgumentException>(() => Tensor.GaussianLogDensity(F(2, 3), F(2, 3), F(3, 2)));
        AssertMessage(ex, "gaussian_log_density", "[3, 2]");
    }

    [Test]
    public void OptimizerConstructionErrors()
    {
        var p = Tensor.Zeros(3).RequireGrad();
        var ex = Assert.Throws<ArgumentException>(() => _ = new Sgd([], 0.1));
        AssertMessage(ex, "no parameters");
        ex = Assert.Throws<ArgumentException>(() => _ = new Adam(Array.Empty<Tensor>()));
        AssertMessage(ex, "no parameters");
        ex = Assert.Catch<ArgumentException>(() => _ = new Sgd([p], -0.1));
        AssertMessage(ex, "learning rate", "-0.1");
        ex = Assert.Catch<ArgumentException>(() => _ = new AdamW([p], -1e-3));
        AssertMessage(ex, "learning rate");
        ex = Assert.Throws<ArgumentException>(() => _ = new Sgd([p], 0.1, nesterov: true));
        AssertMessage(ex, "Nesterov", "momentum");
        ex = Assert.Catch<ArgumentException>(() => _ = new Sgd([p], 0.1, momentum: -0.5));
        AssertMessage(ex, "Momentum", "-0.5");
        ex = Assert.Catch<ArgumentException>(() => _ = new Adam([p], beta1: 1.0));
        AssertMessage(ex, "beta1");
        var nonLeaf = p * p;
        ex = Assert.Throws<ArgumentException>(() => _ = new Sgd([nonLeaf], 0.1));
        AssertMessage(ex, "leaf", "[3]");
        ex = Assert.Catch<ArgumentException>(() => GradClip.ClipGradNorm([p], 0));
        AssertMessage(ex, "maxNorm");
    }

    [Test]
    public void RequiresGradCannotBeClearedOnNonLeaf()
    {
        var x = Tensor.Ones(2).RequireGrad();
        var y = x.Exp();
        var ex = Assert.Throws<InvalidOperationException>(() => y.RequiresGrad = false);
        AssertMessage(ex, "exp", "Detach");
    }

    [Test]
    public void AtAndCopyErrors()
    {
        var x = F(2, 3);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => x.At(1, 3));
        AssertMessage(ex, "3", "[2, 3]");
        var ex2 = Assert.Throws<ArgumentException>(() => x.At(1));
        AssertMessage(ex2, "[2, 3]");
        ex2 = Assert.Throws<ArgumentException>(() => x.CopyFrom<double>(new double[6]));
        AssertMessage(ex2, "Float32", "Double");
        ex2 = Assert.Throws<ArgumentException>(() => x.CopyFrom<float>(new float[5]));
        AssertMessage(ex2, "5", "[2, 3]");
    }
}
