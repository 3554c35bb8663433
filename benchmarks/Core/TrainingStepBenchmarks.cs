using BenchmarkDotNet.Attributes;
using Engine.Optim;

namespace Engine.Benchmarks.Core;

/// <summary>
/// Managed allocations (MemoryDiagnoser's Allocated column) and time of one steady-state training step of a
/// small MLP (64-128-128-10, batch 32, tanh, log-softmax cross-entropy, Adam) inside a TensorScope.
/// Goal: under 1 KB allocated per step.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(ShortConfig))]
public class TrainingStepBenchmarks
{
    private Tensor _w1 = null!, _b1 = null!, _w2 = null!, _b2 = null!, _w3 = null!, _b3 = null!;
    private Tensor _x = null!, _onehot = null!;
    private Adam _opt = null!;

    [GlobalSetup]
    public void Setup()
    {
        var g = new Generator(7);
        _w1 = Tensor.RandNormal(new Shape(128, 64), g, std: 0.125).RequireGrad();
        _b1 = Tensor.Zeros(128).RequireGrad();
        _w2 = Tensor.RandNormal(new Shape(128, 128), g, std: 0.09).RequireGrad();
        _b2 = Tensor.Zeros(128).RequireGrad();
        _w3 = Tensor.RandNormal(new Shape(10, 128), g, std: 0.09).RequireGrad();
        _b3 = Tensor.Zeros(10).RequireGrad();
        _x = Tensor.RandNormal(new Shape(32, 64), g);
        var oh = new float[32 * 10];
        for (int i = 0; i < 32; i++) oh[i * 10 + i % 10] = 1;
        _onehot = Tensor.FromArray(oh, 32, 10);
        _opt = new Adam([_w1, _b1, _w2, _b2, _w3, _b3], 1e-3);
        for (int i = 0; i < 5; i++) Step(); // reach the steady state: gradients, moments and pool buffers exist
    }

    [Benchmark]
    public void Step()
    {
        using var scope = TensorScope.Begin();
        var h = Tensor.Linear(_x, _w1, _b1).Tanh();
        h = Tensor.Linear(h, _w2, _b2).Tanh();
        var logits = Tensor.Linear(h, _w3, _b3);
        var loss = (logits.LogSoftmax(-1) * _onehot).Sum().Mul(-1.0 / 32);
        _opt.ZeroGrad();
        loss.Backward();
        _opt.Step();
    }
}
