using Engine.Models.Distributions;
using Engine.Models.Nn;

namespace Engine.Models.Vae;

/// <summary>The observation model p(x | z).</summary>
public enum DecoderKind
{
    /// <summary>Independent Bernoulli pixels with logits mu_theta(z): binary images.</summary>
    Bernoulli,
    /// <summary>N(mu_theta(z), diag Sigma_theta(z)) with a learned variance: continuous data.</summary>
    Gaussian,
}

/// <summary>Architecture of a <see cref="VariationalAutoencoder"/>.</summary>
public sealed record VaeOptions
{
    /// <summary>Dimension of x (784 for 28x28 images).</summary>
    public int InputSize { get; init; } = 784;
    /// <summary>Hidden widths of the encoder; the decoder mirrors them.</summary>
    public int[] Hidden { get; init; } = [512, 256];
    /// <summary>Dimension of z.</summary>
    public int LatentSize { get; init; } = 16;
    public Activation Activation { get; init; } = Activation.Relu;
    public DecoderKind Decoder { get; init; } = DecoderKind.Bernoulli;
    /// <summary>
    /// Lower bound on the Gaussian decoder's log-variance, enforced smoothly (logvar = min + softplus(raw - min)):
    /// without it the likelihood of continuous data is unbounded as a variance collapses to zero.
    /// </summary>
    public double MinDecoderLogVariance { get; init; } = -6;
    /// <summary>
    /// Weight initialization of every layer: PyTorch's nn.Linear default unless set (null picks He for the
    /// ReLU family and Glorot otherwise). The default matches the PyTorch protocol the quality bar comes from.
    /// </summary>
    public Init? Init { get; init; } = Nn.Init.PyTorchDefault;
    /// <summary>Where the parameters live and the model runs (the CPU unless given); data must be moved there too.</summary>
    public Engine.Devices.Device? Device { get; init; }
}

/// <summary>
/// The variational autoencoder (Kingma and Welling 2014; Rezende et al. 2014): prior N(0, I), encoder
/// q_phi(z | x) = N(mu_phi(x), diag sigma_phi^2(x)) from one MLP whose output is split into mean and
/// log-variance, and a decoder p_theta(x | z) that is Bernoulli or Gaussian.
/// </summary>
public sealed class VariationalAutoencoder : Module, ILatentVariableModel
{
    public VariationalAutoencoder(VaeOptions options, Generator gen)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(gen);
        if (options.InputSize <= 0) throw new ArgumentOutOfRangeException(nameof(options), $"InputSize must be positive; got {options.InputSize}.");
        if (options.LatentSize <= 0) throw new ArgumentOutOfRangeException(nameof(options), $"LatentSize must be positive; got {options.LatentSize}.");
        if (options.Hidden.Any(h => h <= 0)) throw new ArgumentOutOfRangeException(nameof(options), $"Hidden sizes must be positive; got [{string.Join(", ", options.Hidden)}].");
        Options = options;
        var enc = new List<int> { options.InputSize };
        enc.AddRange(options.Hidden);
        enc.Add(2 * options.LatentSize);
        var dec = new List<int> { options.LatentSize };
        dec.AddRange(options.Hidden.Reverse());
        dec.Add(options.Decoder == DecoderKind.Gaussian ? 2 * options.InputSize : options.InputSize);
        Encoder = AddModule("encoder", new Mlp(enc, options.Activation, gen, options.Init, device: options.Device));
        Decoder = AddModule("decoder", new Mlp(dec, options.Activation, gen, options.Init, device: options.Device));
    }

    public VaeOptions Options { get; }
    public Mlp Encoder { get; }
    public Mlp Decoder { get; }
    public int LatentSize => Options.LatentSize;
    public int InputSize => Options.InputSize;

    /// <summary>q(z | x) = N(mu_phi(x), diag exp(logvar_phi(x))).</summary>
    public Distribution Posterior(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank < 1 || x.Shape[-1] != InputSize)
            throw new ArgumentException($"VAE: input {x.Shape} must end in the input size {InputSize}.", nameof(x));
        var h = Encoder.Forward(x);
        int l = LatentSize;
        return new Normal(h.Slice(-1, 0, l), h.Slice(-1, l, l));
    }

    /// <summary>p(x | z): Bernoulli(logits) or N(mu, diag exp(logvar)) with a floored log-variance.</summary>
    public Distribution Likelihood(Tensor z)
    {
        ArgumentNullException.ThrowIfNull(z);
        if (z.Rank < 1 || z.Shape[-1] != LatentSize)
            throw new ArgumentException($"VAE: latent {z.Shape} must end in the latent size {LatentSize}.", nameof(z));
        var h = Decoder.Forward(z);
        if (Options.Decoder == DecoderKind.Bernoulli) return new Bernoulli(h);
        int d = InputSize;
        double min = Options.MinDecoderLogVariance;
        var logvar = h.Slice(-1, d, d).Add(-min).Softplus().Add(min);
        return new Normal(h.Slice(-1, 0, d), logvar);
    }

    /// <summary>N(0, I) over [batch, L].</summary>
    public Distribution Prior(int batch, DType dtype) => Normal.Standard(new Shape(batch, LatentSize), dtype, Options.Device);

    /// <summary>The device holding the parameters.</summary>
    public Engine.Devices.Device Device => Encoder.Layers[0].Weight.Device;

    /// <summary>The decoder's mean image E[x | z] (pixel probabilities for Bernoulli).</summary>
    public Tensor DecodeMean(Tensor z)
    {
        var p = Likelihood(z);
        return p is Bernoulli b ? b.Probs : ((Normal)p).Mean;
    }
}
