namespace Engine.Tests.Core;

public class TensorTests
{
    [Test]
    public void ZerosOnesFullScalar()
    {
        var z = Tensor.Zeros(2, 3);
        Assert.That(z.Shape, Is.EqualTo(new Shape(2, 3)));
        Assert.That(z.DType, Is.EqualTo(DType.Float32));
        Assert.That(z.Count, Is.EqualTo(6));
        Assert.That(z.Rank, Is.EqualTo(2));
        Assert.That(z.ToFloatArray(), Is.All.EqualTo(0f));

        var o = Tensor.Ones(new Shape(4), DType.Float64);
        Assert.That(o.DType, Is.EqualTo(DType.Float64));
        Assert.That(o.ToDoubleArray(), Is.EqualTo(new double[] { 1, 1, 1, 1 }));

        var f = Tensor.Full(new Shape(2, 2), -2.5);
        Assert.That(f.ToFloatArray(), Is.EqualTo(new float[] { -2.5f, -2.5f, -2.5f, -2.5f }));

        var s = Tensor.Scalar(7, DType.Float64);
        Assert.That(s.Rank, Is.EqualTo(0));
        Assert.That(s.Shape, Is.EqualTo(Shape.Scalar));
        Assert.That(s.Count, Is.EqualTo(1));
        Assert.That(s.Item(), Is.EqualTo(7));
        Assert.That(s.Device.Name, Is.EqualTo("cpu"));

        var empty = Tensor.Zeros(0, 3);
        Assert.That(empty.Count, Is.EqualTo(0));
        Assert.That(empty.ToFloatArray(), Is.Empty);

        var zl = f.ZerosLike();
        Assert.That(zl.Shape, Is.EqualTo(f.Shape));
        Assert.That(zl.ToFloatArray(), Is.All.EqualTo(0f));
    }

    [Test]
    public void FromArrayCopiesFloatAndDouble()
    {
        var data = new float[] { 1, 2, 3, 4, 5, 6 };
        var t = Tensor.FromArray(data, 2, 3);
        data[0] = 100; // a copy, not a wrapper
        Assert.That(t.ToFloatArray(), Is.EqualTo(new float[] { 1, 2, 3, 4, 5, 6 }));
        Assert.That(t.At(1, 2), Is.EqualTo(6));
        Assert.That(t.At(0, 1), Is.EqualTo(2));

        var d = Tensor.FromArray(new double[] { 0.1, 0.2, 0.3 });
        Assert.That(d.Shape, Is.EqualTo(new Shape(3)), "default: 1-D");
        Assert.That(d.DType, Is.EqualTo(DType.Float64));
        Assert.That(d.ToDoubleArray(), Is.EqualTo(new[] { 0.1, 0.2, 0.3 }), "float64 keeps every bit");

        var m = Tensor.FromArray(new double[,] { { 1, 2 }, { 3, 4 }, { 5, 6 } });
        Assert.That(m.Shape, Is.EqualTo(new Shape(3, 2)));
        Assert.That(m.At(2, 0), Is.EqualTo(5));

        var scalar = Tensor.FromArray(new float[] { 9 }, []);
        Assert.That(scalar.Shape, Is.EqualTo(new Shape(1)));
    }

    [Test]
    public void Arange()
    {
        Assert.That(Tensor.Arange(5).ToFloatArray(), Is.EqualTo(new float[] { 0, 1, 2, 3, 4 }));
        var frac = Tensor.Arange(0, 1, 0.25, DType.Float64);
        Assert.That(frac.ToDoubleArray(), Is.EqualTo(new[] { 0, 0.25, 0.5, 0.75 }), "end excluded");
        Assert.That(Tensor.Arange(0, 1, 0.3, DType.Float64).ToDoubleArray(), Is.EqualTo(new[] { 0, 0.3, 0.6, 0.9 }).Within(1e-12));
        Assert.That(Tensor.Arange(3.0, 0, -1).ToFloatArray(), Is.EqualTo(new float[] { 3, 2, 1 }));
        Assert.That(Tensor.Arange(2, 1).Count, Is.EqualTo(0), "empty range");
        var ex = Assert.Throws<ArgumentException>(() => Tensor.Arange(0, 1, 0));
        Assert.That(ex!.Message, Does.Contain("arange"));
    }

    [Test]
    public void RandUniformRangeAndDeterminism()
    {
        var a = Tensor.RandUniform(new Shape(1000), new Generator(42), low: -2, high: 3);
        var v = a.ToFloatArray();
        Assert.That(v, Is.All.InRange(-2f, 3f));
        Assert.That(v.Min(), Is.LessThan(-1.9f));
        Assert.That(v.Max(), Is.GreaterThan(2.9f));
        Assert.That(v.Average(), Is.EqualTo(0.5).Within(0.15));

        var b = Tensor.RandUniform(new Shape(1000), new Generator(42), low: -2, high: 3);
        Assert.That(b.ToFloatArray(), Is.EqualTo(v), "same seed, same numbers");

        var gen = new Generator(42);
        var first = Tensor.RandUniform(new Shape(10), gen).ToFloatArray();
        Assert.That(gen.Offset, Is.GreaterThan(0UL), "the generator advances");
        var second = Tensor.RandUniform(new Shape(10), gen).ToFloatArray();
        Assert.That(second, Is.Not.EqualTo(first), "consecutive draws differ");
        var resumed = Tensor.RandUniform(new Shape(10), new Generator(42, gen.Offset)).ToFloatArray();
        var third = Tensor.RandUniform(new Shape(10), gen).ToFloatArray();
        Assert.That(resumed, Is.EqualTo(third), "(seed, offset) resumes the stream");

        var d = Tensor.RandUniform(new Shape(100), new Generator(1), dtype: DType.Float64).ToDoubleArray();
        Assert.That(d, Is.All.InRange(0.0, 1.0));
        Assert.That(d.Distinct().Count(), Is.EqualTo(100));
    }

    [Test]
    public void RandNormalMomentsAndSeeds()
    {
        var x = Tensor.RandNormal(new Shape(200, 100), new Generator(7), mean: 3, std: 2);
        var v = x.ToDoubleArray();
        double mean = v.Average();
        double std = Math.Sqrt(v.Sum(t => (t - mean) * (t - mean)) / (v.Length - 1));
        Assert.That(mean, Is.EqualTo(3).Within(0.05));
        Assert.That(std, Is.EqualTo(2).Within(0.05));
        Assert.That(v.All(double.IsFinite), Is.True);

        var same = Tensor.RandNormal(new Shape(200, 100), new Generator(7), mean: 3, std: 2).ToDoubleArray();
        Assert.That(same, Is.EqualTo(v), "same seed, identical data");
        var other = Tensor.RandNormal(new Shape(200, 100), new Generator(8), mean: 3, std: 2).ToDoubleArray();
        Assert.That(other, Is.Not.EqualTo(v), "different seeds differ");
        Assert.That(other.Zip(v).Count(p => p.First == p.Second), Is.LessThan(10));

        var d = Tensor.RandNormal(new Shape(5000), new Generator(7), dtype: DType.Float64);
        Assert.That(d.DType, Is.EqualTo(DType.Float64));
        Assert.That(d.ToDoubleArray().Average(), Is.EqualTo(0).Within(0.06));
        Assert.Throws<ArgumentNullException>(() => Tensor.RandNormal(new Shape(2), null!));
    }

    [Test]
    public void ToArraysAtItemAndConversion()
    {
        var f = Tensor.FromArray(new float[] { 0.1f, -2, 3.5f, 4 }, 2, 2);
        Assert.That(f.ToDoubleArray(), Is.EqualTo(new double[] { 0.1f, -2, 3.5f, 4 }), "float32 widens exactly");
        Assert.That(f.At(1, 0), Is.EqualTo(3.5));

        var d = f.To(DType.Float64);
        Assert.That(d.DType, Is.EqualTo(DType.Float64));
        Assert.That(d.Shape, Is.EqualTo(f.Shape));
        Assert.That(d.ToDoubleArray(), Is.EqualTo(f.ToDoubleArray()));

        var back = Tensor.FromArray(new double[] { 1.0 / 3, 1e-50, 2 }).To(DType.Float32);
        Assert.That(back.DType, Is.EqualTo(DType.Float32));
        Assert.That(back.ToFloatArray(), Is.EqualTo(new float[] { 1.0f / 3, 0, 2 }));

        var s = Tensor.Scalar(2.5).To(DType.Float64);
        Assert.That(s.Rank, Is.EqualTo(0), "a scalar stays a scalar");
        Assert.That(s.Item(), Is.EqualTo(2.5));

        var grad = Tensor.Ones(2).RequireGrad();
        var converted = (grad * grad).To(DType.Float64);
        Assert.That(converted.RequiresGrad, Is.False, "conversion is not recorded");

        var span = new float[4];
        f.CopyTo<float>(span);
        Assert.That(span, Is.EqualTo(f.ToFloatArray()));
        f.CopyFrom<float>(new float[] { 9, 8, 7, 6 });
        Assert.That(f.At(0, 1), Is.EqualTo(8));
        Assert.That(f.ToString(), Does.Contain("[2, 2]").And.Contain("Float32").And.Contain("9"));
    }

    [Test]
    public void ShapeBasics()
    {
        var s = new Shape(2, 3, 4);
        Assert.That(s.Rank, Is.EqualTo(3));
        Assert.That(s.Count, Is.EqualTo(24));
        Assert.That(s[0], Is.EqualTo(2));
        Assert.That(s[-1], Is.EqualTo(4));
        Assert.That(s.ToString(), Is.EqualTo("[2, 3, 4]"));
        Assert.That(Shape.Scalar.ToString(), Is.EqualTo("[]"));
        Assert.That(Shape.Scalar.Count, Is.EqualTo(1));
        Assert.That(s.ToArray(), Is.EqualTo(new[] { 2, 3, 4 }));
        Assert.That(s.Product(1, 3), Is.EqualTo(12));
        Assert.That(s.With(1, 7), Is.EqualTo(new Shape(2, 7, 4)));
        Assert.That(s.Without(0), Is.EqualTo(new Shape(3, 4)));
        Assert.That(s.Insert(-1, 1), Is.EqualTo(new Shape(2, 3, 4, 1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = s[3]);
    }

    [Test]
    public void ShapeEquality()
    {
        var a = new Shape(2, 3);
        Assert.That(a == new Shape(2, 3), Is.True);
        Assert.That(a != new Shape(3, 2), Is.True);
        Assert.That(a.Equals(new Shape(2, 3, 1)), Is.False, "rank matters");
        Assert.That(new Shape(1).Equals(Shape.Scalar), Is.False);
        Assert.That(a.Equals((object)new Shape(2, 3)), Is.True);
        Assert.That(a.GetHashCode(), Is.EqualTo(new Shape(2, 3).GetHashCode()));
        Assert.That(default(Shape), Is.EqualTo(Shape.Scalar));
    }

    [Test]
    public void ShapeBroadcast()
    {
        Assert.That(Shape.Broadcast(new Shape(3, 1), new Shape(1, 4), "op"), Is.EqualTo(new Shape(3, 4)));
        Assert.That(Shape.Broadcast(new Shape(2, 3, 4), new Shape(4), "op"), Is.EqualTo(new Shape(2, 3, 4)));
        Assert.That(Shape.Broadcast(Shape.Scalar, new Shape(5), "op"), Is.EqualTo(new Shape(5)));
        Assert.That(Shape.Broadcast(new Shape(0, 1), new Shape(1, 3), "op"), Is.EqualTo(new Shape(0, 3)));
        var ex = Assert.Throws<ArgumentException>(() => Shape.Broadcast(new Shape(2, 3), new Shape(3, 2), "myop"));
        Assert.That(ex!.Message, Does.Contain("myop").And.Contain("[2, 3]").And.Contain("[3, 2]"));

        // the broadcast shows up in the ops
        var y = Tensor.FromArray(new float[] { 1, 2, 3 }, 3, 1) + Tensor.FromArray(new float[] { 10, 20 }, 1, 2);
        Assert.That(y.Shape, Is.EqualTo(new Shape(3, 2)));
        Assert.That(y.ToFloatArray(), Is.EqualTo(new float[] { 11, 21, 12, 22, 13, 23 }));
    }
}
