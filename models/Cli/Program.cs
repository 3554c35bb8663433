using System.CommandLine;
using Engine;
using Engine.Kernels.Cpu;

// The engine's command-line program. Later issues add `vae` and `gmm` commands; for now the default action
// prints the help and runs a tiny autodiff demo.
var threads = new Option<int>("--threads")
{
    Description = "Threads the CPU kernels may use (default: all cores).",
    DefaultValueFactory = _ => Environment.ProcessorCount,
};
var root = new RootCommand("engine: variational autoencoders and Gaussian mixtures on a hand-written autodiff engine.");
root.Options.Add(threads);
root.SetAction(parse =>
{
    Gemm.MaxThreads = Math.Max(1, parse.GetValue(threads));
    Console.WriteLine(root.Description);
    Console.WriteLine("Run with --help for the options.\n");
    Demo.Run(Console.Out);
    return 0;
});
return root.Parse(args).Invoke();

/// <summary>A tiny worked example of reverse-mode differentiation.</summary>
internal static class Demo
{
    public static void Run(TextWriter o)
    {
        o.WriteLine("Autodiff demo: f(x, w) = sum(softplus(x W^T)) for x = [[1, 2]], W = [[0.5, -1], [2, 0.25]]");
        var x = Tensor.FromArray(new double[] { 1, 2 }, 1, 2).RequireGrad();
        var w = Tensor.FromArray(new double[] { 0.5, -1, 2, 0.25 }, 2, 2).RequireGrad();
        var f = Tensor.Linear(x, w).Softplus().Sum();
        f.Backward();
        o.WriteLine($"  f        = {f.Item():F6}");
        o.WriteLine($"  df/dx    = [{string.Join(", ", x.Grad!.ToDoubleArray().Select(v => v.ToString("F6")))}]");
        o.WriteLine($"  df/dW    = [{string.Join(", ", w.Grad!.ToDoubleArray().Select(v => v.ToString("F6")))}]");
        o.WriteLine("  (df/dW[i, j] = sigmoid((x W^T)_i) x_j: the chain rule through softplus and the linear map.)");
    }
}
