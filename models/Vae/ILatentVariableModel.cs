using Engine.Models.Distributions;

namespace Engine.Models.Vae;

/// <summary>
/// A latent-variable model p(x, z) = p(z) p(x | z) with an amortized approximate posterior q(z | x): what the
/// ELBO, the importance-weighted bounds and the likelihood estimators need. The VAE implements it; tests
/// implement it with models whose log p(x) is known exactly.
/// </summary>
public interface ILatentVariableModel
{
    /// <summary>Dimension of z.</summary>
    int LatentSize { get; }

    /// <summary>q(z | x) for a batch x [B, D]: a distribution over [B, L].</summary>
    Distribution Posterior(Tensor x);

    /// <summary>p(x | z) for latents z [..., L]: a distribution over [..., D].</summary>
    Distribution Likelihood(Tensor z);

    /// <summary>The prior p(z) over [batch, L].</summary>
    Distribution Prior(int batch, DType dtype);
}
