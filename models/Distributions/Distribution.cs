namespace Engine.Models.Distributions;

/// <summary>
/// A distribution over events along the last axis of its parameters (a batch of independent events over the
/// leading axes). <see cref="LogProb"/> sums over the event axis and returns one value per batch element.
/// </summary>
public abstract class Distribution
{
    /// <summary>The shape of one draw: batch dimensions then the event dimension.</summary>
    public abstract Shape Shape { get; }

    /// <summary>log p(x), summed over the event axis; x may carry extra leading sample axes.</summary>
    public abstract Tensor LogProb(Tensor x);

    /// <summary>A draw with no gradient.</summary>
    public abstract Tensor Sample(Generator gen);

    /// <summary>Whether <see cref="RSample(Generator)"/> exists (a reparameterized, differentiable draw).</summary>
    public virtual bool HasRSample => false;

    /// <summary>A draw through the reparameterization trick: gradients flow into the parameters.</summary>
    public virtual Tensor RSample(Generator gen) =>
        throw new NotSupportedException($"{GetType().Name} has no reparameterized sampler; use Sample (score-function estimators).");

    /// <summary>The same distribution with parameters cut from the graph (for "sticking the landing" and DReG).</summary>
    public abstract Distribution Detached();

    /// <summary>Entropy, summed over the event axis.</summary>
    public abstract Tensor Entropy();

    /// <summary>Draws <paramref name="k"/> samples stacked along a new leading axis: [k, ...Shape].</summary>
    public virtual Tensor Sample(Generator gen, int k) => Tensor.Stack(Enumerable.Range(0, k).Select(_ => Sample(gen)).ToArray());

    /// <summary>Draws <paramref name="k"/> reparameterized samples along a new leading axis: [k, ...Shape].</summary>
    public virtual Tensor RSample(Generator gen, int k) => Tensor.Stack(Enumerable.Range(0, k).Select(_ => RSample(gen)).ToArray());

    /// <summary>Expands <paramref name="param"/> to the shape of <paramref name="x"/> when x carries extra leading sample axes.</summary>
    protected static Tensor Align(Tensor param, Tensor x, string what)
    {
        if (param.Shape == x.Shape) return param;
        try
        {
            var target = Engine.Shape.Broadcast(param.Shape, x.Shape, what);
            if (target != x.Shape) throw new ArgumentException("");
            return param.Expand(target);
        }
        catch (ArgumentException)
        {
            throw new ArgumentException($"{what}: the value {x.Shape} does not match the distribution's shape {param.Shape} (leading sample axes may be added).", nameof(x));
        }
    }
}
