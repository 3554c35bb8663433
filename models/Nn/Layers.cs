namespace Engine.Models.Nn;

/// <summary>y = x W^T + b, W [out, in], b [out].</summary>
public sealed class Linear : Module
{
    public Linear(int inFeatures, int outFeatures, Generator gen, Init init = Init.XavierUniform, bool bias = true, DType dtype = DType.Float32, Engine.Devices.Device? device = null)
    {
        if (inFeatures <= 0) throw new ArgumentOutOfRangeException(nameof(inFeatures), $"in-features must be positive; got {inFeatures}.");
        if (outFeatures <= 0) throw new ArgumentOutOfRangeException(nameof(outFeatures), $"out-features must be positive; got {outFeatures}.");
        ArgumentNullException.ThrowIfNull(gen);
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Weight = AddParameter("weight", Initializer.Weight(init, outFeatures, inFeatures, gen, dtype, device));
        Bias = bias ? AddParameter("bias", Initializer.Bias(init, outFeatures, inFeatures, gen, dtype, device)) : null;
    }

    public int InFeatures { get; }
    public int OutFeatures { get; }
    public Tensor Weight { get; }
    public Tensor? Bias { get; }

    public Tensor Forward(Tensor x) => Tensor.Linear(x, Weight, Bias);
}

/// <summary>The activations an MLP can use between layers.</summary>
public enum Activation { Identity, Relu, LeakyRelu, Tanh, Sigmoid, Softplus }

/// <summary>Applies an <see cref="Activation"/>.</summary>
public static class Activations
{
    public static Tensor Apply(this Activation a, Tensor x) => a switch
    {
        Activation.Identity => x,
        Activation.Relu => x.Relu(),
        Activation.LeakyRelu => x.LeakyRelu(0.01),
        Activation.Tanh => x.Tanh(),
        Activation.Sigmoid => x.Sigmoid(),
        Activation.Softplus => x.Softplus(),
        _ => throw new ArgumentOutOfRangeException(nameof(a), a, "Unknown activation."),
    };

    /// <summary>Parses "relu", "tanh", ... (case-insensitive).</summary>
    public static Activation Parse(string name) =>
        Enum.TryParse<Activation>(name.Replace("_", "").Replace("-", ""), ignoreCase: true, out var a)
            ? a
            : throw new ArgumentException($"Unknown activation '{name}'; use one of {string.Join(", ", Enum.GetNames<Activation>()).ToLowerInvariant()}.", nameof(name));

    /// <summary>The initialization suited to an activation: He for the ReLU family, Glorot otherwise.</summary>
    public static Init DefaultInit(this Activation a) => a is Activation.Relu or Activation.LeakyRelu ? Init.KaimingUniform : Init.XavierUniform;
}

/// <summary>
/// A multilayer perceptron: Linear layers of the given sizes with an activation between them (none after
/// the last, which returns raw outputs such as logits or Gaussian parameters).
/// </summary>
public sealed class Mlp : Module
{
    private readonly Linear[] _layers;

    /// <summary>Layer widths, input first: {784, 512, 256, 40} has three layers.</summary>
    public Mlp(IReadOnlyList<int> sizes, Activation activation, Generator gen, Init? init = null, DType dtype = DType.Float32, Engine.Devices.Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        if (sizes.Count < 2) throw new ArgumentException($"An MLP needs at least an input and an output size; got [{string.Join(", ", sizes)}].", nameof(sizes));
        Activation = activation;
        _layers = new Linear[sizes.Count - 1];
        for (int i = 0; i < _layers.Length; i++)
        {
            // The last layer feeds no activation; Glorot keeps its outputs at unit scale.
            var layerInit = init ?? (i < _layers.Length - 1 ? activation.DefaultInit() : Init.XavierUniform);
            _layers[i] = AddModule(i.ToString(System.Globalization.CultureInfo.InvariantCulture), new Linear(sizes[i], sizes[i + 1], gen, layerInit, dtype: dtype, device: device));
        }
    }

    public Activation Activation { get; }
    public IReadOnlyList<Linear> Layers => _layers;
    public int InFeatures => _layers[0].InFeatures;
    public int OutFeatures => _layers[^1].OutFeatures;

    public Tensor Forward(Tensor x)
    {
        for (int i = 0; i < _layers.Length; i++)
        {
            x = _layers[i].Forward(x);
            if (i < _layers.Length - 1) x = Activation.Apply(x);
        }
        return x;
    }
}
