using Engine.Models.Nn;
using Engine.Models.Vae;

namespace Engine.Models.Inference;

/// <summary>A model that wraps another (so the parameters of the innermost can be found and frozen).</summary>
internal interface IWrappedModel
{
    ILatentVariableModel Inner { get; }
}

/// <summary>
/// Marks a model's parameters as not requiring gradients for a region (theta fixed while phi is fitted), so the
/// backward pass skips their weight gradients; restores them when disposed.
/// </summary>
internal readonly struct FrozenParameters : IDisposable
{
    private readonly Tensor[] _frozen;

    private FrozenParameters(Tensor[] frozen) => _frozen = frozen;

    public static FrozenParameters Of(ILatentVariableModel model)
    {
        while (model is IWrappedModel w) model = w.Inner;
        return model is Module module ? Of(module) : new FrozenParameters([]);
    }

    public static FrozenParameters Of(Module module)
    {
        var frozen = module.Parameters().Where(p => p.RequiresGrad).ToArray();
        foreach (var p in frozen) p.RequiresGrad = false;
        return new FrozenParameters(frozen);
    }

    public void Dispose()
    {
        foreach (var p in _frozen ?? []) p.RequiresGrad = true;
    }
}
