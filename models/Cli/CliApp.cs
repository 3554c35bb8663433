using System.CommandLine;
using Engine.Cli.Commands;
using Engine.Kernels.Cpu;

namespace Engine.Cli;

/// <summary>
/// The command tree. With no arguments the program runs the demo: a VAE on Fashion-MNIST (or a built-in
/// synthetic set), with pictures and metrics in runs/demo.
/// </summary>
public static class CliApp
{
    /// <summary>Parses and runs a command line; returns the exit code.</summary>
    public static int Run(string[] args)
    {
        var root = new RootCommand("engine: variational autoencoders and Gaussian mixtures on a hand-written autodiff engine.");
        root.Options.Add(Common.Threads);
        root.Options.Add(Common.Quiet);
        root.Options.Add(Common.DeviceName);
        DemoCommand.Configure(root);
        root.Subcommands.Add(VaeCommands.Create());
        root.Subcommands.Add(GmmCommands.Create());
        var parse = root.Parse(args);
        int previous = Gemm.MaxThreads;
        Gemm.MaxThreads = Math.Max(1, parse.GetValue(Common.Threads));
        try
        {
            return parse.Invoke();
        }
        finally
        {
            Gemm.MaxThreads = previous;
        }
    }
}
