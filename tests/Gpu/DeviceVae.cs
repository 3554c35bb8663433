using Engine.Devices;
using Engine.Models.Distributions;
using Engine.Models.Vae;

namespace Engine.Tests.Gpu;

/// <summary>
/// A Bernoulli VAE (one hidden ReLU layer each way, Kingma and Welling 2014) whose parameters, prior and every
/// intermediate live on a chosen device, so the library's estimators (<see cref="Estimators"/>) run on it unchanged.
/// Weights are drawn with Philox uniforms on that device, which are bit-identical across devices, so the same seed
/// gives the same model on the CPU and on an accelerator.
/// </summary>
public sealed class DeviceVae : ILatentVariableModel
{
    private readonly Device _device;

    public DeviceVae(Device device, int input, int hidden, int latent, ulong seed)
    {
        _device = device;
        LatentSize = latent;
        var gen = new Generator(seed);
        Tensor U(int fanIn, params int[] dims)
        {
            double a = 1 / Math.Sqrt(fanIn); // PyTorch's nn.Linear default
            return Tensor.RandUniform(new Shape(dims), gen, -a, a, device: device).RequireGrad();
        }
        W1 = U(input, hidden, input); B1 = U(input, hidden);
        W2 = U(hidden, 2 * latent, hidden); B2 = U(hidden, 2 * latent);
        W3 = U(latent, hidden, latent); B3 = U(latent, hidden);
        W4 = U(hidden, input, hidden); B4 = U(hidden, input);
    }

    public Tensor W1 { get; } public Tensor B1 { get; } public Tensor W2 { get; } public Tensor B2 { get; }
    public Tensor W3 { get; } public Tensor B3 { get; } public Tensor W4 { get; } public Tensor B4 { get; }

    public Tensor[] Parameters => [W1, B1, W2, B2, W3, B3, W4, B4];

    public int LatentSize { get; }

    public Distribution Posterior(Tensor x)
    {
        var h = Tensor.Linear(Tensor.Linear(x, W1, B1).Relu(), W2, B2);
        return new Normal(h.Slice(-1, 0, LatentSize), h.Slice(-1, LatentSize, LatentSize));
    }

    public Distribution Likelihood(Tensor z) => new Bernoulli(Tensor.Linear(Tensor.Linear(z, W3, B3).Relu(), W4, B4));

    public Distribution Prior(int batch, DType dtype) =>
        new Normal(Tensor.Zeros(new Shape(batch, LatentSize), dtype, _device), Tensor.Zeros(new Shape(batch, LatentSize), dtype, _device));
}
