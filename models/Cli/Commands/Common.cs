using System.CommandLine;
using Engine.Cli.Output;
using Engine.Models.Data;

namespace Engine.Cli.Commands;

/// <summary>Options shared by several commands, and the data-set loading every command does the same way.</summary>
internal static class Common
{
    public static readonly Option<int> Threads = new("--threads")
    {
        Description = "Threads the CPU kernels may use (default: all cores).",
        DefaultValueFactory = _ => Environment.ProcessorCount,
        Recursive = true,
    };

    public static readonly Option<string> DeviceName = new("--device")
    {
        Description = "Where tensors live and kernels run: cpu (SIMD kernels), gpu (CUDA, else OpenCL, through ILGPU), cuda, opencl or ilgpu-cpu (ILGPU's CPU accelerator, slow, for checking kernels).",
        DefaultValueFactory = _ => "cpu",
        Recursive = true,
    };

    /// <summary>The device named by --device; an unavailable one is an error, never a silent fallback.</summary>
    public static Engine.Devices.Device OpenDevice(ParseResult p)
    {
        string name = p.GetValue(DeviceName)!;
        try { return Engine.Devices.Device.Open(name); }
        catch (ArgumentException)
        {
            throw new UserError($"--device {name}: not one of {string.Join(", ", Engine.Devices.Device.DeviceNames)}.");
        }
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException)
        {
            throw new RuntimeError($"--device {name}: {e.Message}");
        }
    }

    public static readonly Option<bool> Quiet = new("--quiet", "-q") { Description = "Print nothing but errors.", Recursive = true };

    public static Option<string?> Data() => new("--data")
    {
        Description = $"Folder holding Fashion-MNIST (IDX, gzip or not). Default: $ENGINE_DATA, else {FashionMnist.DebianPath}.",
    };

    public static Option<bool> Synthetic() => new("--synthetic") { Description = "Use the built-in synthetic image set instead of Fashion-MNIST." };

    public static Option<string> Out(string fallback) => new("--out", "-o")
    {
        Description = "Folder for metrics.json, checkpoints and pictures.",
        DefaultValueFactory = _ => fallback,
    };

    public static Option<ulong> Seed() => new("--seed") { Description = "Seed of every random choice.", DefaultValueFactory = _ => 0UL };

    public static Option<int?> Limit(string name, string what) => new(name) { Description = $"Use only the first N {what} images." };

    /// <summary>Loads Fashion-MNIST (or the synthetic set), with a clear message about where it looked.</summary>
    public static (FashionMnist Data, string Name) LoadData(string? dir, bool synthetic, int? trainLimit, int? testLimit, Progress progress)
    {
        if (trainLimit is { } tr && tr <= 0) throw new UserError($"--train-limit must be positive; got {tr}.");
        if (testLimit is { } te && te <= 0) throw new UserError($"--test-limit must be positive; got {te}.");
        if (synthetic) return (Limit(SyntheticImages.Create(), trainLimit, testLimit), "synthetic");
        if (dir != null) CheckDataFolder(dir);
        var found = FashionMnist.Locate(dir);
        if (found == null)
        {
            throw new UserError(dir != null
                ? $"--data: no Fashion-MNIST files (train-images-idx3-ubyte[.gz] ...) in '{dir}'"
                : $"Fashion-MNIST not found in $ENGINE_DATA or {FashionMnist.DebianPath}; install it with 'apt-get install dataset-fashion-mnist', pass --data DIR, or use --synthetic");
        }
        progress.Line($"Loading Fashion-MNIST from {found}");
        var data = FashionMnist.Load(found, trainLimit, testLimit);
        if (data.Train.Count == 0 || data.Test.Count == 0)
            throw new InvalidDataException($"'{found}': the {(data.Train.Count == 0 ? "training" : "test")} images file holds no images.");
        return (data, "fashion-mnist");
    }

    // A folder that is missing, a file or unreadable is named as such, not reported as lacking Fashion-MNIST.
    private static void CheckDataFolder(string dir)
    {
        if (File.Exists(dir)) throw new UserError($"--data: '{dir}' is a file, not a folder.");
        if (!Directory.Exists(dir)) throw new UserError($"--data: the folder '{dir}' does not exist.");
        try { using var e = Directory.EnumerateFileSystemEntries(dir).GetEnumerator(); e.MoveNext(); }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new UserError($"--data: the folder '{dir}' cannot be read ({e.Message}).");
        }
    }

    /// <summary>A --file value: a PNG file name inside --out that no other file of a run uses.</summary>
    public static string PngName(string name)
    {
        if (!RunGeneration.IsFileName(name) || !name.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
            throw new UserError($"--file: '{name}' must be a PNG file name inside --out (no folders, ending in .png).");
        return name;
    }

    /// <summary>The options given on the command line (not taken from their defaults), by name.</summary>
    public static IReadOnlySet<string> Given(ParseResult p)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        for (var r = p.CommandResult; r != null; r = r.Parent as System.CommandLine.Parsing.CommandResult)
            foreach (var child in r.Children)
                if (child is System.CommandLine.Parsing.OptionResult { Implicit: false } o) set.Add(o.Option.Name);
        return set;
    }

    private static FashionMnist Limit(FashionMnist d, int? train, int? test) =>
        new(train is { } a ? d.Train.Take(a) : d.Train, test is { } b ? d.Test.Take(b) : d.Test);

    public static string[] ClassNames(string dataset) => dataset == "synthetic" ? SyntheticImages.ClassNames : FashionMnist.ClassNames;
}

/// <summary>An error in what the user asked for: printed as one line, exit code 2.</summary>
internal sealed class UserError(string message) : Exception(message);

/// <summary>A failure of the run itself (a missing device, bad data): printed as one line, exit code 1.</summary>
internal sealed class RuntimeError(string message) : Exception(message);
