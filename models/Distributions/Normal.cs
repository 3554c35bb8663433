namespace Engine.Models.Distributions;

/// <summary>
/// A diagonal Gaussian N(mu, diag exp(logvar)) over the last axis, parameterized by mean and log-variance so
/// that every real output of a network is a valid parameter.
/// </summary>
public sealed class Normal : Distribution
{
    private const double Log2Pi = 1.8378770664093453;

    public Normal(Tensor mean, Tensor logVariance)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(logVariance);
        if (mean.Shape != logVariance.Shape)
            throw new ArgumentException($"Normal: mean {mean.Shape} and log-variance {logVariance.Shape} must have one shape.", nameof(logVariance));
        if (mean.Rank == 0) throw new ArgumentException("Normal: parameters need an event axis (rank >= 1).", nameof(mean));
        Mean = mean;
        LogVariance = logVariance;
    }

    /// <summary>N(mean, scale^2) from a positive scale.</summary>
    public static Normal FromScale(Tensor mean, Tensor scale) => new(mean, scale.Log().Mul(2));

    /// <summary>The standard normal prior N(0, I) of the given shape.</summary>
    public static Normal Standard(Shape shape, DType dtype = DType.Float32, Engine.Devices.Device? device = null) =>
        new(Tensor.Zeros(shape, dtype, device), Tensor.Zeros(shape, dtype, device));

    public Tensor Mean { get; }
    public Tensor LogVariance { get; }
    public Tensor Scale => LogVariance.Mul(0.5).Exp();
    public override Shape Shape => Mean.Shape;
    public override bool HasRSample => true;

    /// <summary>The same distribution with parameters cut from the graph (the "sticking the landing" trick).</summary>
    public override Distribution Detached() => new Normal(Mean.Detach(), LogVariance.Detach());

    /// <summary>-0.5 sum [log 2 pi + logvar + (x - mu)^2 exp(-logvar)] over the event axis (one fused op).</summary>
    public override Tensor LogProb(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        return Tensor.GaussianLogDensity(x, Align(Mean, x, "Normal.LogProb"), Align(LogVariance, x, "Normal.LogProb"));
    }

    /// <summary>z = mu + exp(logvar / 2) eps, eps ~ N(0, I) (Kingma and Welling 2014; Rezende et al. 2014).</summary>
    public override Tensor RSample(Generator gen) => Reparameterize(Tensor.RandNormal(Shape, gen, dtype: Mean.DType, device: Mean.Device));

    /// <summary>k reparameterized draws along a new leading axis, [k, ...Shape], in one pass.</summary>
    public override Tensor RSample(Generator gen, int k)
    {
        if (k <= 0) throw new ArgumentOutOfRangeException(nameof(k), $"The number of samples must be positive; got {k}.");
        return Reparameterize(Tensor.RandNormal(Shape.Insert(0, k), gen, dtype: Mean.DType, device: Mean.Device));
    }

    /// <summary>mu + sigma eps for given standard-normal noise (broadcast over leading sample axes).</summary>
    public Tensor Reparameterize(Tensor eps) => Mean + Scale * eps;

    public override Tensor Sample(Generator gen)
    {
        using var _ = Engine.Autograd.GradMode.NoGrad();
        return RSample(gen);
    }

    public override Tensor Sample(Generator gen, int k)
    {
        using var _ = Engine.Autograd.GradMode.NoGrad();
        return RSample(gen, k);
    }

    /// <summary>0.5 sum [log(2 pi e) + logvar].</summary>
    public override Tensor Entropy() => LogVariance.Add(Log2Pi + 1).Sum(-1).Mul(0.5);
}
