namespace Engine.Models.Gmm;

/// <summary>
/// An M-step produced a covariance that is not positive definite, so its Cholesky factor (and the component's
/// log-density) does not exist. Raised instead of letting NaN reach the likelihood.
/// </summary>
public sealed class CovarianceNotPositiveDefiniteException : InvalidOperationException
{
    public CovarianceNotPositiveDefiniteException(int? component, CovarianceType covarianceType, double regCovar, string detail)
        : base(BuildMessage(component, covarianceType, regCovar, detail))
    {
        Component = component;
    }

    /// <summary>The component whose covariance failed; null for the shared (tied) covariance.</summary>
    public int? Component { get; }

    private static string BuildMessage(int? component, CovarianceType type, double regCovar, string detail)
    {
        string which = component is int k ? $"The covariance of component {k}" : "The tied (shared) covariance";
        return $"Fitting the Gaussian mixture failed: {which} ({type}) is not positive definite ({detail}). " +
               "The component has collapsed onto too few points or onto a subspace (duplicate points, a constant " +
               $"feature, fewer points than dimensions). Increase RegCovar (now {regCovar:G3}), which is added to " +
               "every covariance diagonal, use fewer components, or remove the degenerate features.";
    }
}
