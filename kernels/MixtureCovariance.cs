namespace Engine.Kernels;

/// <summary>How a mixture's covariances are stored (Engine.Models.Gmm.CovarianceType has the same values).</summary>
public enum MixtureCovariance
{
    /// <summary>A D x D matrix per component (K x D x D).</summary>
    Full,
    /// <summary>One D x D matrix shared by all components.</summary>
    Tied,
    /// <summary>A variance per component and dimension (K x D).</summary>
    Diagonal,
    /// <summary>One variance per component (K).</summary>
    Spherical,
}
