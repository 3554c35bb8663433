using System.CommandLine;
using Engine.Cli.Commands;
using Engine.Kernels.Cpu;

namespace Engine.Cli;

/// <summary>
/// The command tree. With no arguments the program runs the demo: a VAE on Fashion-MNIST (or a built-in
/// synthetic set), with pictures and metrics in runs/demo. Exit codes: 0 done, 1 the run failed, 2 usage error;
/// every error is one line on standard error.
/// </summary>
public static class CliApp
{
    /// <summary>Parses and runs a command line; returns the exit code.</summary>
    public static int Run(string[] args)
    {
        var root = new RootCommand("engine: variational autoencoders and Gaussian mixtures on a hand-written autodiff engine. " +
                                   "Exit codes: 0 done, 1 the run failed, 2 usage error.");
        root.Options.Add(Common.Threads);
        root.Options.Add(Common.Quiet);
        root.Options.Add(Common.DeviceName);
        DemoCommand.Configure(root);
        root.Subcommands.Add(VaeCommands.Create());
        root.Subcommands.Add(GmmCommands.Create());
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            var command = string.Join(' ', EnumeratePath(parse.CommandResult));
            Console.Error.WriteLine($"error: {Plain(parse.Errors[0].Message)} (see '{command} --help')");
            return 2;
        }
        int threads = parse.GetValue(Common.Threads);
        if (threads < 1 || threads > Environment.ProcessorCount)
        {
            Console.Error.WriteLine($"error: --threads must lie in 1..{Environment.ProcessorCount} (the processor count); got {threads}.");
            return 2;
        }
        int previous = CpuThreads.Max;
        CpuThreads.Max = threads;
        try
        {
            return parse.Invoke();
        }
        finally
        {
            CpuThreads.Max = previous;
        }
    }

    // The parser names .NET types ("as expected type 'System.Int32'"); say what a user types instead.
    private static string Plain(string message) => message.ReplaceLineEndings(" ")
        .Replace("as expected type 'System.Nullable`1[System.Int32]'", "as an integer")
        .Replace("as expected type 'System.Int32'", "as an integer")
        .Replace("as expected type 'System.UInt64'", "as a non-negative integer")
        .Replace("as expected type 'System.Double'", "as a number");

    private static IEnumerable<string> EnumeratePath(System.CommandLine.Parsing.CommandResult? r)
    {
        var names = new Stack<string>();
        for (; r != null; r = r.Parent as System.CommandLine.Parsing.CommandResult)
            names.Push(r.Parent == null ? "engine" : r.Command.Name);
        return names;
    }
}
