using System.CommandLine;
using Engine.Cli.Commands;
using Engine.Kernels.Cpu;

// The engine's command-line program. With no arguments it runs the demo: a VAE and a Gaussian mixture on
// Fashion-MNIST (or a built-in synthetic set), with pictures and metrics in runs/demo.
var root = new RootCommand("engine: variational autoencoders and Gaussian mixtures on a hand-written autodiff engine.");
root.Options.Add(Common.Threads);
root.Options.Add(Common.Quiet);
DemoCommand.Configure(root);
root.Subcommands.Add(VaeCommands.Create());
var parse = root.Parse(args);
Gemm.MaxThreads = Math.Max(1, parse.GetValue(Common.Threads));
return parse.Invoke();
