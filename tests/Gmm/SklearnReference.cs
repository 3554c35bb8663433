using System.Diagnostics;
using System.Text.Json;
using Engine.Models.Gmm;

namespace Engine.Tests.Gmm;

/// <summary>
/// Runs tests/Gmm/sklearn_reference.py (Debian's python3-sklearn) on data and explicit starts written to a temporary
/// JSON file, and reads back scikit-learn's per-iteration lower bounds and final parameters.
/// </summary>
internal static class SklearnReference
{
    public sealed record Result(string Version, Dictionary<CovarianceType, Case> Cases);

    public sealed record Case(double[] LowerBounds, double[] Weights, double[] Means, double[] Covariances);

    public static string Name(CovarianceType type) => type switch
    {
        CovarianceType.Full => "full",
        CovarianceType.Tied => "tied",
        CovarianceType.Diagonal => "diag",
        _ => "spherical",
    };

    /// <summary>Ignores the calling test with <paramref name="reason"/>, or fails it when CI=true (CI must have the peer).</summary>
    public static void Unavailable(string reason)
    {
        if (Environment.GetEnvironmentVariable("CI") == "true")
            Assert.Fail($"scikit-learn reference unavailable on CI: {reason}");
        Assert.Ignore($"scikit-learn reference unavailable ({reason}); install python3-sklearn to run this test.");
    }

    /// <summary>The script, found by walking up from the test binaries to the repository's tests/Gmm folder.</summary>
    public static string? ScriptPath()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir != null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "tests", "Gmm", "sklearn_reference.py");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>Debian's interpreter (where python3-sklearn installs), else whatever python3 is on the PATH.</summary>
    public static string Python() => File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

    /// <summary>Runs the script; null with a reason when Python, scikit-learn or the script is missing.</summary>
    public static Result? Run(double[] x, int rows, int columns, IEnumerable<object> cases, out string reason)
    {
        reason = "";
        string? script = ScriptPath();
        if (script == null)
        {
            reason = "tests/Gmm/sklearn_reference.py not found above " + TestContext.CurrentContext.TestDirectory;
            return null;
        }
        string input = Path.Combine(Path.GetTempPath(), $"gmm-sklearn-{Environment.ProcessId}-{Guid.NewGuid():N}.json");
        try
        {
            File.WriteAllText(input, JsonSerializer.Serialize(new { rows, columns, x, cases }));
            var psi = new ProcessStartInfo(Python()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add(script);
            psi.ArgumentList.Add(input);
            using var process = Process.Start(psi);
            if (process == null)
            {
                reason = $"could not start {Python()}";
                return null;
            }
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(120_000))
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail("sklearn_reference.py did not finish within 120 s.");
            }
            using var doc = JsonDocument.Parse(stdout.Result.Trim() is { Length: > 0 } s ? s : "{}");
            if (process.ExitCode == 3 || doc.RootElement.TryGetProperty("error", out _))
            {
                reason = doc.RootElement.TryGetProperty("error", out var e) ? e.GetString() ?? "error" : "error";
                return null;
            }
            if (process.ExitCode != 0) Assert.Fail($"sklearn_reference.py failed (exit {process.ExitCode}): {stderr.Result}");

            var result = new Dictionary<CovarianceType, Case>();
            foreach (var r in doc.RootElement.GetProperty("results").EnumerateArray())
            {
                string t = r.GetProperty("covariance_type").GetString()!;
                CovarianceType type = Enum.GetValues<CovarianceType>().First(v => Name(v) == t);
                double[] Array(string name) => r.GetProperty(name).EnumerateArray().Select(v => v.GetDouble()).ToArray();
                result[type] = new Case(Array("lower_bounds"), Array("weights"), Array("means"), Array("covariances"));
            }
            return new Result(doc.RootElement.GetProperty("sklearn").GetString() ?? "?", result);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            reason = $"{Python()} could not be run: {e.Message}";
            return null;
        }
        finally
        {
            File.Delete(input);
        }
    }
}
