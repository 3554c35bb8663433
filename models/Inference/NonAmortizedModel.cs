using Engine.Models.Distributions;
using Engine.Models.Vae;

namespace Engine.Models.Inference;

/// <summary>
/// A model whose approximate posterior is a given q(z; phi) for one batch instead of its encoder's q(z | x): the
/// non-amortized variational family of per-data-point inference. Every estimator of <see cref="Estimators"/> then
/// works with q: the ELBO(x; theta, phi), and log p(x) by importance sampling with q as the proposal.
/// </summary>
public sealed class NonAmortizedModel : ILatentVariableModel, IWrappedModel
{
    /// <param name="q">A distribution over [B, L] for the batch the estimators will be given.</param>
    public NonAmortizedModel(ILatentVariableModel model, Distribution q)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(q);
        if (q.Shape.Rank != 2 || q.Shape[1] != model.LatentSize)
            throw new ArgumentException($"NonAmortizedModel: q has shape {q.Shape}; it must be [B, {model.LatentSize}].", nameof(q));
        Model = model;
        Q = q;
    }

    public ILatentVariableModel Model { get; }

    /// <summary>The per-data-point approximate posterior.</summary>
    public Distribution Q { get; }

    ILatentVariableModel IWrappedModel.Inner => Model;

    public int LatentSize => Model.LatentSize;

    /// <summary>q(z; phi), whatever x is, once its batch size is checked.</summary>
    public Distribution Posterior(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank < 1 || x.Shape[0] != Q.Shape[0])
            throw new ArgumentException($"NonAmortizedModel: the batch {x.Shape} has {(x.Rank > 0 ? x.Shape[0] : 0)} rows; q was fitted for {Q.Shape[0]}.", nameof(x));
        return Q;
    }

    public Distribution Likelihood(Tensor z) => Model.Likelihood(z);

    public Distribution Prior(int batch, DType dtype) => Model.Prior(batch, dtype);
}
