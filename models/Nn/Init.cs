namespace Engine.Models.Nn;

/// <summary>Weight initializations, named after their papers.</summary>
public enum Init
{
    /// <summary>Glorot and Bengio (2010): U(-a, a), a = sqrt(6 / (fan_in + fan_out)).</summary>
    XavierUniform,
    /// <summary>Glorot and Bengio (2010): N(0, 2 / (fan_in + fan_out)).</summary>
    XavierNormal,
    /// <summary>He et al. (2015), for ReLU: U(-a, a), a = sqrt(6 / fan_in).</summary>
    KaimingUniform,
    /// <summary>He et al. (2015), for ReLU: N(0, 2 / fan_in).</summary>
    KaimingNormal,
    /// <summary>LeCun et al. (1998): N(0, 1 / fan_in).</summary>
    LeCunNormal,
    /// <summary>PyTorch's nn.Linear default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases.</summary>
    PyTorchDefault,
}

/// <summary>Draws initial weights from a seeded generator.</summary>
public static class Initializer
{
    /// <summary>A weight [fanOut, fanIn] drawn by <paramref name="init"/>.</summary>
    public static Tensor Weight(Init init, int fanOut, int fanIn, Generator gen, DType dtype = DType.Float32, Engine.Devices.Device? device = null)
    {
        var shape = new Shape(fanOut, fanIn);
        double fi = Math.Max(fanIn, 1), fo = Math.Max(fanOut, 1);
        return init switch
        {
            Init.XavierUniform => Tensor.RandUniform(shape, gen, -Math.Sqrt(6 / (fi + fo)), Math.Sqrt(6 / (fi + fo)), dtype, device),
            Init.XavierNormal => Tensor.RandNormal(shape, gen, 0, Math.Sqrt(2 / (fi + fo)), dtype, device),
            Init.KaimingUniform => Tensor.RandUniform(shape, gen, -Math.Sqrt(6 / fi), Math.Sqrt(6 / fi), dtype, device),
            Init.KaimingNormal => Tensor.RandNormal(shape, gen, 0, Math.Sqrt(2 / fi), dtype, device),
            Init.LeCunNormal => Tensor.RandNormal(shape, gen, 0, Math.Sqrt(1 / fi), dtype, device),
            Init.PyTorchDefault => Tensor.RandUniform(shape, gen, -1 / Math.Sqrt(fi), 1 / Math.Sqrt(fi), dtype, device),
            _ => throw new ArgumentOutOfRangeException(nameof(init), init, "Unknown initialization."),
        };
    }

    /// <summary>A bias [fanOut]: zeros, except PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)).</summary>
    public static Tensor Bias(Init init, int fanOut, int fanIn, Generator gen, DType dtype = DType.Float32, Engine.Devices.Device? device = null) =>
        init == Init.PyTorchDefault
            ? Tensor.RandUniform(new Shape(fanOut), gen, -1 / Math.Sqrt(Math.Max(fanIn, 1)), 1 / Math.Sqrt(Math.Max(fanIn, 1)), dtype, device)
            : Tensor.Zeros(new Shape(fanOut), dtype, device);
}
