namespace Engine.Autograd;

/// <summary>Switches graph recording off for a region (evaluation, parameter updates), per thread.</summary>
public static class GradMode
{
    [ThreadStatic] private static int t_disabled;

    /// <summary>True when ops record the graph (outside every no-grad scope).</summary>
    public static bool Enabled => t_disabled == 0;

    /// <summary>Opens a no-grad region: ops inside record nothing and their results require no gradient.</summary>
    public static NoGradScope NoGrad()
    {
        t_disabled++;
        return default;
    }

    /// <summary>An open no-grad region; dispose it to end the region.</summary>
    public readonly struct NoGradScope : IDisposable
    {
        public void Dispose() => t_disabled--;
    }
}

/// <summary>
/// Anomaly detection: when enabled, the first op whose output or input gradient holds NaN or Inf raises an
/// <see cref="AnomalyException"/> naming the op and its input shapes. It costs one pass over every result.
/// </summary>
public static class Anomaly
{
    private static volatile bool s_enabled;

    /// <summary>Whether every op's output and gradients are checked.</summary>
    public static bool Enabled
    {
        get => s_enabled;
        set => s_enabled = value;
    }

    /// <summary>Enables detection until the returned handle is disposed.</summary>
    public static Handle Detect()
    {
        bool previous = s_enabled;
        s_enabled = true;
        return new Handle(previous);
    }

    /// <summary>Restores the previous state on dispose.</summary>
    public readonly struct Handle : IDisposable
    {
        private readonly bool _previous;
        internal Handle(bool previous) => _previous = previous;
        public void Dispose() => s_enabled = _previous;
    }

    internal static void CheckForward(Tensor y, string op, Tensor? a, Tensor? b = null, Tensor? c = null)
    {
        if (y.Backend.AllFinite(y)) return;
        throw new AnomalyException($"Anomaly: op '{op}' produced NaN or Inf in its output {y.Shape}; inputs: {Shapes(a, b, c)}.", op);
    }

    internal static void CheckBackward(Tensor node, Tensor input, int index)
    {
        if (input.Grad is null || input.Backend.AllFinite(input.Grad)) return;
        string op = node.OpName;
        throw new AnomalyException($"Anomaly: the backward of op '{op}' produced NaN or Inf in the gradient of input {index} ({input.Shape}); inputs: {Shapes(node.In0, node.In1, node.In2)}.", op);
    }

    private static string Shapes(Tensor? a, Tensor? b, Tensor? c) =>
        string.Join(", ", new[] { a, b, c }.Where(t => t != null).Select(t => t!.Shape.ToString()));
}

/// <summary>Raised by anomaly mode at the first non-finite value; <see cref="Op"/> names the op.</summary>
public sealed class AnomalyException : Exception
{
    public AnomalyException(string message, string op) : base(message) => Op = op;

    /// <summary>The op whose output or gradient first held NaN or Inf.</summary>
    public string Op { get; }
}
