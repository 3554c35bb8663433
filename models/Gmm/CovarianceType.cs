namespace Engine.Models.Gmm;

/// <summary>The form of each component's covariance matrix (scikit-learn's <c>covariance_type</c>).</summary>
public enum CovarianceType
{
    /// <summary>Each component has its own general covariance matrix (D x D): <c>'full'</c>.</summary>
    Full,

    /// <summary>All components share one general covariance matrix (D x D): <c>'tied'</c>.</summary>
    Tied,

    /// <summary>Each component has its own diagonal covariance (D variances): <c>'diag'</c>.</summary>
    Diagonal,

    /// <summary>Each component has one variance shared by all dimensions: <c>'spherical'</c>.</summary>
    Spherical,
}

/// <summary>How EM chooses the starting responsibilities (scikit-learn's <c>init_params</c>).</summary>
/// <remarks>
/// Explicit starting values (<see cref="GaussianMixture.WeightsInit"/>, <see cref="GaussianMixture.MeansInit"/>,
/// <see cref="GaussianMixture.PrecisionsInit"/>) override the parameters this method would give.
/// </remarks>
public enum MixtureInitialization
{
    /// <summary>One-hot responsibilities from k-means (Lloyd's algorithm seeded with k-means++): <c>'kmeans'</c>.</summary>
    KMeans,

    /// <summary>Each component starts on one k-means++ seed point: <c>'k-means++'</c>.</summary>
    KMeansPlusPlus,

    /// <summary>Uniform random responsibilities, normalized per point: <c>'random'</c>.</summary>
    RandomResponsibilities,

    /// <summary>Each component starts on a distinct data point drawn at random: <c>'random_from_data'</c>.</summary>
    RandomDataPoints,
}
