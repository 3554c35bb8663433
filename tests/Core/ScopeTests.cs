using Engine.Autograd;
using Engine.Optim;

namespace Engine.Tests.Core;

public class ScopeTests
{
    [Test]
    public void TensorsAreReleasedWhenTheirScopeEnds()
    {
        Tensor t, view;
        using (TensorScope.Begin())
        {
            t = Tensor.Ones(2, 2) * 3;
            view = t.Reshape(4);
            Assert.That(view.ToFloatArray(), Is.EqualTo(new float[] { 3, 3, 3, 3 }));
        }
        var ex = Assert.Throws<ObjectDisposedException>(() => t.ToFloatArray());
        Assert.That(ex!.Message, Does.Contain("Keep"));
        Assert.Throws<ObjectDisposedException>(() => view.Item());
        Assert.Throws<ObjectDisposedException>(() => _ = t + t);
        Assert.That(t.ToString(), Is.EqualTo("Tensor(released)"));
    }

    [Test]
    public void KeepKeepsATensorValid()
    {
        var w = Tensor.FromArray(new float[] { 1, 2 }).RequireGrad();
        Tensor kept, keptLeaf;
        using (TensorScope.Begin())
        {
            var y = w * Tensor.FromArray(new float[] { 3, 4 });
            y.Sum().Backward(); // backward belongs inside the scope
            kept = y.Keep();
            keptLeaf = Tensor.Ones(2).RequireGrad().Keep(); // e.g. a parameter created inside a scope
        }
        // Other scopes must not recycle the kept tensors.
        for (int i = 0; i < 3; i++)
        {
            using var s = TensorScope.Begin();
            _ = Tensor.Full(new Shape(2), 99) + 1;
        }
        Assert.That(kept.ToFloatArray(), Is.EqualTo(new float[] { 3, 8 }));
        Assert.That(w.Grad!.ToFloatArray(), Is.EqualTo(new float[] { 3, 4 }));
        Assert.That(keptLeaf.ToFloatArray(), Is.EqualTo(new float[] { 1, 1 }));
        Assert.That(keptLeaf.RequiresGrad, Is.True, "a kept leaf stays a trainable leaf");
    }

    [Test]
    public void KeptResultIsCutFromItsRecycledGraph()
    {
        // The kept product's input c is recycled with the scope; a later backward must not read the tensor
        // that reuses c's object (it used to give the gradient [100, 200] silently).
        var w = Tensor.FromArray(new float[] { 1, 2 }).RequireGrad();
        Tensor kept;
        using (TensorScope.Begin())
        {
            var c = Tensor.FromArray(new float[] { 3, 4 });
            kept = (w * c).Keep();
        }
        Assert.That(kept.IsLeaf, Is.True);
        Assert.That(kept.RequiresGrad, Is.False);
        using (TensorScope.Begin())
        {
            _ = Tensor.FromArray(new float[] { 100, 200 }) + 1;
            var ex = Assert.Throws<InvalidOperationException>(() => kept.Sum().Backward());
            Assert.That(ex!.Message, Does.Contain("does not require grad"));
        }
        Assert.That(w.Grad, Is.Null);
        Assert.That(kept.ToFloatArray(), Is.EqualTo(new float[] { 3, 8 }));
    }

    [Test]
    public void ParameterGradientsSurviveTheScope()
    {
        var w = Tensor.FromArray(new float[] { 1, -2, 3 }).RequireGrad();
        using (TensorScope.Begin())
        {
            var loss = (w * w).Sum();
            loss.Backward();
        }
        Assert.That(w.Grad!.ToFloatArray(), Is.EqualTo(new float[] { 2, -4, 6 }));
        Assert.That(w.ToFloatArray(), Is.EqualTo(new float[] { 1, -2, 3 }));
    }

    [Test]
    public void NestedScopesReleaseInnerFirst()
    {
        Assert.That(TensorScope.Depth, Is.EqualTo(0));
        Tensor outer, inner, keptInner;
        using (TensorScope.Begin())
        {
            outer = Tensor.Full(new Shape(3), 2);
            using (TensorScope.Begin())
            {
                Assert.That(TensorScope.Depth, Is.EqualTo(2));
                inner = outer * outer;
                keptInner = (outer + outer).Keep();
            }
            Assert.That(TensorScope.Depth, Is.EqualTo(1));
            Assert.Throws<ObjectDisposedException>(() => inner.ToFloatArray());
            Assert.That(outer.ToFloatArray(), Is.EqualTo(new float[] { 2, 2, 2 }), "the outer scope's tensors live on");
        }
        Assert.That(TensorScope.Depth, Is.EqualTo(0));
        Assert.Throws<ObjectDisposedException>(() => outer.ToFloatArray());
        Assert.That(keptInner.ToFloatArray(), Is.EqualTo(new float[] { 4, 4, 4 }));
    }

    [Test]
    public void ScopesMustEndInOrder()
    {
        var a = TensorScope.Begin();
        var b = TensorScope.Begin();
        try
        {
            var ex = Assert.Throws<InvalidOperationException>(() => a.Dispose());
            Assert.That(ex!.Message, Does.Contain("out of order"));
        }
        finally
        {
            b.Dispose();
            a.Dispose();
        }
        Assert.That(TensorScope.Depth, Is.EqualTo(0));
    }

    [Test]
    public void NoGradProducesTensorsThatRequireNoGrad()
    {
        var x = Tensor.FromArray(new float[] { 1, 2 }).RequireGrad();
        Tensor y;
        using (GradMode.NoGrad())
        {
            Assert.That(GradMode.Enabled, Is.False);
            y = (x * x).Exp().Sum();
        }
        Assert.That(GradMode.Enabled, Is.True);
        Assert.That(y.RequiresGrad, Is.False);
        Assert.That(y.IsLeaf, Is.True);
        Assert.That(y.Item(), Is.EqualTo(Math.Exp(1) + Math.Exp(4)).Within(1e-4));
        Assert.Throws<InvalidOperationException>(() => y.Backward());
        var z = (x * x).Sum();
        Assert.That(z.RequiresGrad, Is.True, "recording resumes after the region");
    }

    [Test]
    public void DetachSharesDataButCutsTheGraph()
    {
        var x = Tensor.FromArray(new float[] { 1, 2 }).RequireGrad();
        var y = x * x;
        var d = y.Detach();
        Assert.That(d.RequiresGrad, Is.False);
        Assert.That(d.IsLeaf, Is.True);
        Assert.That(d.ToFloatArray(), Is.EqualTo(new float[] { 1, 4 }));
        // z = d * x: the gradient reaches x only through the direct factor, not through d = x^2.
        (d * x).Sum().Backward();
        Assert.That(x.Grad!.ToFloatArray(), Is.EqualTo(new float[] { 1, 4 }), "d/dx (stop(x^2) x) = x^2, not 3x^2");
        // shared storage: writing through y shows in d
        y.CopyFrom<float>(new float[] { 7, 8 });
        Assert.That(d.ToFloatArray(), Is.EqualTo(new float[] { 7, 8 }));
    }

    [Test]
    public void RetainGradKeepsIntermediateGradients()
    {
        var x = Tensor.FromArray(new float[] { 1, 2, 3 }).RequireGrad();
        var h = (x * 2).RetainGrad();
        var other = x * 3; // not retained
        ((h * h).Sum() + other.Sum()).Backward();
        Assert.That(h.Grad!.ToFloatArray(), Is.EqualTo(new float[] { 4, 8, 12 }), "dL/dh = 2h");
        Assert.That(other.Grad, Is.Null, "intermediates drop their gradient by default");
        Assert.That(x.Grad!.ToFloatArray(), Is.EqualTo(new float[] { 11, 19, 27 }), "8x + 3");
    }

    [Test]
    public void GradientsAccumulateAcrossBackwardCallsUntilZeroGrad()
    {
        var w = Tensor.FromArray(new double[] { 1, 2 }).RequireGrad();
        var c = Tensor.FromArray(new double[] { 3, -5 });
        (w * c).Sum().Backward();
        Assert.That(w.Grad!.ToDoubleArray(), Is.EqualTo(new double[] { 3, -5 }));
        (w * c).Sum().Backward();
        Assert.That(w.Grad!.ToDoubleArray(), Is.EqualTo(new double[] { 6, -10 }), "a second backward adds");
        w.ZeroGrad();
        Assert.That(w.Grad!.ToDoubleArray(), Is.EqualTo(new double[] { 0, 0 }));
        (w * c).Sum().Backward();
        Assert.That(w.Grad!.ToDoubleArray(), Is.EqualTo(new double[] { 3, -5 }));
    }

    [Test]
    public void SteadyStateTrainingStepAllocatesAlmostNothing()
    {
        var model = new XorMlp(seed: 11, hidden: 16);
        var opt = new Adam(model.Parameters, 0.01);
        for (int i = 0; i < 5; i++) model.StepQuiet(opt); // warm-up: pools, gradient buffers, optimizer state
        const int steps = 50;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < steps; i++) model.StepQuiet(opt);
        long perStep = (GC.GetAllocatedBytesForCurrentThread() - before) / steps;
        TestContext.Out.WriteLine($"steady-state allocation: {perStep} bytes per step");
        Assert.That(perStep, Is.LessThan(1024));
        Assert.That(opt.StepCount, Is.EqualTo(55));
    }

    [Test]
    public void SteadyStateBroadLossStepAllocatesAlmostNothing()
    {
        var model = new XorMlp(seed: 12, hidden: 16);
        var opt = new Sgd(model.Parameters, 0.1, momentum: 0.9, nesterov: true);
        for (int i = 0; i < 5; i++) model.StepQuiet(opt, broad: true);
        const int steps = 50;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < steps; i++) model.StepQuiet(opt, broad: true);
        long perStep = (GC.GetAllocatedBytesForCurrentThread() - before) / steps;
        TestContext.Out.WriteLine($"steady-state allocation (sgd, broad loss): {perStep} bytes per step");
        Assert.That(perStep, Is.LessThan(1024));
    }
}
