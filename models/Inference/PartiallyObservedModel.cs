using Engine.Models.Distributions;
using Engine.Models.Vae;

namespace Engine.Models.Inference;

/// <summary>
/// A latent-variable model seen through an observation mask: p(x_obs, z) = p(z) prod over observed j of p(x_j | z).
/// The missing entries are summed out exactly (<see cref="MaskedLikelihood"/>), so every estimator of
/// <see cref="Estimators"/> applied to this model estimates log p(x_obs): the ELBO with a masked likelihood (which is
/// also what training on partially observed data maximizes) and the importance-sampled marginal likelihood.
/// The amortized posterior is the inner model's encoder fed the masked input, missing entries set to
/// <see cref="Fill"/>.
/// </summary>
public sealed class PartiallyObservedModel : ILatentVariableModel, IWrappedModel
{
    public PartiallyObservedModel(ILatentVariableModel model, ObservationMask mask, double fill = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(mask);
        Model = model;
        Mask = mask;
        Fill = fill;
    }

    /// <summary>The model of the complete data.</summary>
    public ILatentVariableModel Model { get; }

    /// <summary>Which entries are observed.</summary>
    public ObservationMask Mask { get; }

    /// <summary>The value the encoder sees in place of a missing entry.</summary>
    public double Fill { get; }

    ILatentVariableModel IWrappedModel.Inner => Model;

    public int LatentSize => Model.LatentSize;

    /// <summary>q(z | x_obs): the inner encoder applied to x with its missing entries replaced by <see cref="Fill"/>.</summary>
    public Distribution Posterior(Tensor x)
    {
        Mask.CheckBatch(x, nameof(x));
        return Model.Posterior(Mask.Hide(x, Fill));
    }

    /// <summary>p(x_obs | z) for z [..., B, L].</summary>
    public Distribution Likelihood(Tensor z) => new MaskedLikelihood(Model.Likelihood(z), Mask);

    public Distribution Prior(int batch, DType dtype) => Model.Prior(batch, dtype);
}
