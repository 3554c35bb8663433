using Engine.Devices;
using Engine.Models.Distributions;
using Engine.Models.Vae;

namespace Engine.Benchmarks.Gpu;

/// <summary>
/// A Bernoulli VAE (one hidden ReLU layer each way) whose parameters and prior live on a chosen device, so the
/// library's estimators run on it unchanged; weights from Philox uniforms drawn on that device (the same on every
/// device for one seed). The models' own VariationalAutoencoder creates its parameters on the CPU.
/// </summary>
public sealed class BenchVae : ILatentVariableModel
{
    private readonly Device _device;
    private readonly Tensor _w1, _b1, _w2, _b2, _w3, _b3, _w4, _b4;

    public BenchVae(Device device, int input, int hidden, int latent, ulong seed)
    {
        _device = device;
        LatentSize = latent;
        var gen = new Generator(seed);
        Tensor U(int fanIn, params int[] dims)
        {
            double a = 1 / Math.Sqrt(fanIn);
            return Tensor.RandUniform(new Shape(dims), gen, -a, a, device: device).RequireGrad();
        }
        _w1 = U(input, hidden, input); _b1 = U(input, hidden);
        _w2 = U(hidden, 2 * latent, hidden); _b2 = U(hidden, 2 * latent);
        _w3 = U(latent, hidden, latent); _b3 = U(latent, hidden);
        _w4 = U(hidden, input, hidden); _b4 = U(hidden, input);
    }

    public Tensor[] Parameters => [_w1, _b1, _w2, _b2, _w3, _b3, _w4, _b4];

    public int LatentSize { get; }

    public Distribution Posterior(Tensor x)
    {
        var h = Tensor.Linear(Tensor.Linear(x, _w1, _b1).Relu(), _w2, _b2);
        return new Normal(h.Slice(-1, 0, LatentSize), h.Slice(-1, LatentSize, LatentSize));
    }

    public Distribution Likelihood(Tensor z) => new Bernoulli(Tensor.Linear(Tensor.Linear(z, _w3, _b3).Relu(), _w4, _b4));

    public Distribution Prior(int batch, DType dtype) =>
        new Normal(Tensor.Zeros(new Shape(batch, LatentSize), dtype, _device), Tensor.Zeros(new Shape(batch, LatentSize), dtype, _device));

    /// <summary>Random binary images [batch, input] on the device (a stand-in for binarized MNIST: the speed is the same).</summary>
    public static Tensor Images(Device device, int batch, int input, int seed)
    {
        var r = new Random(seed);
        var px = new float[batch * input];
        for (int i = 0; i < px.Length; i++) px[i] = r.NextDouble() < 0.13 ? 1f : 0f; // about MNIST's ink fraction
        return Tensor.FromSpan<float>(px, [batch, input], device);
    }
}
