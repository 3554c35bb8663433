using Engine.Autograd;

namespace Engine;

public sealed partial class Tensor
{
    [ThreadStatic] private static List<Tensor>? t_order;
    [ThreadStatic] private static Stack<(Tensor, int)>? t_stack;
    private static int s_stamp;

    /// <summary>
    /// Reverse-mode differentiation from this tensor: gradients accumulate into <see cref="Grad"/> of every
    /// leaf that requires them (and of intermediates that <see cref="RetainGrad"/>). This tensor must hold one
    /// element unless <paramref name="gradient"/> (same shape) gives the upstream gradient.
    /// </summary>
    public void Backward(Tensor? gradient = null)
    {
        if (!RequiresGradFlag)
            throw new InvalidOperationException($"Backward: this tensor {Shape} does not require grad (no input of the ops that made it requires grad, or it was made under NoGrad).");
        if (gradient is null && Count != 1)
            throw new InvalidOperationException($"Backward: the tensor has shape {Shape}; backward without a gradient needs a single-element (scalar) tensor. Pass an upstream gradient of shape {Shape}, or reduce first (Sum, Mean).");
        if (gradient is not null)
        {
            if (gradient.Shape != Shape)
                throw new ArgumentException($"Backward: the upstream gradient has shape {gradient.Shape}; the tensor has {Shape}.", nameof(gradient));
            Ops.CheckCompatible("Backward", this, gradient);
        }

        var order = t_order ??= new List<Tensor>(256);
        var stack = t_stack ??= new Stack<(Tensor, int)>(256);
        order.Clear();
        int stamp = Interlocked.Increment(ref s_stamp);
        TopologicalOrder(this, order, stack, stamp);

        var g = Ops.GradOf(this);
        if (gradient is null) Backend.Unary(Kernels.Cpu.UnaryOp.AddScalar, g, g, 1, 0); // accumulate d(self)/d(self) = 1
        else Backend.Copy(gradient, g, accumulate: true);

        for (int i = order.Count - 1; i >= 0; i--)
        {
            var node = order[i];
            if (node.Op == OpKind.None) continue;
            var grad = node.Grad;
            if (grad is null) continue;
            Ops.Backward(node, grad);
            if (Anomaly.Enabled)
            {
                if (node.In0 is { RequiresGradFlag: true } a) Anomaly.CheckBackward(node, a, 0);
                if (node.In1 is { RequiresGradFlag: true } b) Anomaly.CheckBackward(node, b, 1);
                if (node.In2 is { RequiresGradFlag: true } c) Anomaly.CheckBackward(node, c, 2);
            }
            if (!node.RetainsGradFlag)
            {
                // An intermediate's gradient is not needed once it has been passed on.
                node.Grad = null;
                Ops.ReleaseTemp(grad);
            }
        }
        order.Clear();
    }

    // Post-order depth-first search over the nodes that require grad; the reverse is a valid backward order.
    private static void TopologicalOrder(Tensor root, List<Tensor> order, Stack<(Tensor, int)> stack, int stamp)
    {
        stack.Clear();
        root.VisitStamp = stamp;
        stack.Push((root, 0));
        while (stack.Count > 0)
        {
            var (t, next) = stack.Pop();
            Tensor? child = null;
            int k = next;
            while (child is null && k < t.InputCount)
            {
                var c = t.Input(k++);
                if (c is { RequiresGradFlag: true } && c.VisitStamp != stamp) child = c;
            }
            if (child is null)
            {
                order.Add(t);
                continue;
            }
            stack.Push((t, k));
            child.VisitStamp = stamp;
            stack.Push((child, 0));
        }
    }

    internal int InputCount => InMany?.Length ?? 3;

    internal Tensor? Input(int k) => InMany != null ? InMany[k] : k switch { 0 => In0, 1 => In1, _ => In2 };
}
