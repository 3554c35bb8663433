using System.Diagnostics;
using System.Text.Json;
using Engine.Models.Gmm;

namespace Engine.Benchmarks.Gmm;

/// <summary>scikit-learn's timings for one case (seconds per fit of the same number of EM iterations).</summary>
/// <param name="FitSeconds">GaussianMixture.fit with the explicit start: every repeat.</param>
/// <param name="EmSeconds">Only the EM iterations (its _e_step / _m_step): every repeat.</param>
/// <param name="LowerBound">scikit-learn's final lower bound, to check both sides computed the same thing.</param>
/// <param name="Versions">scikit-learn, numpy and BLAS as the script reported them.</param>
public sealed record PeerTiming(double[] FitSeconds, double[] EmSeconds, double LowerBound, string Versions)
{
    public double FitMedian => Median(FitSeconds);
    public double EmMedian => Median(EmSeconds);

    private static double Median(double[] v)
    {
        var s = v.OrderBy(t => t).ToArray();
        return s.Length == 0 ? double.NaN : s.Length % 2 == 1 ? s[s.Length / 2] : 0.5 * (s[s.Length / 2 - 1] + s[s.Length / 2]);
    }
}

/// <summary>
/// Runs benchmarks/gmm_peer.py with Debian's Python on the benchmark's data file and explicit start. As
/// PACKAGES.md prescribes for a fair peer, OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed from that command's
/// environment only (OpenBLAS then takes its AVX-512 kernels) and OMP_NUM_THREADS / OPENBLAS_NUM_THREADS are set to
/// the thread count the engine uses.
/// </summary>
public static class SklearnPeer
{
    public static string Name(CovarianceType type) => type switch
    {
        CovarianceType.Full => "full",
        CovarianceType.Tied => "tied",
        CovarianceType.Diagonal => "diag",
        _ => "spherical",
    };

    /// <summary>The script, found by walking up from the working directory and the binaries to benchmarks/.</summary>
    public static string? Script()
    {
        foreach (string start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir != null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "benchmarks", "gmm_peer.py");
                if (File.Exists(candidate)) return candidate;
            }
        return null;
    }

    /// <summary>Times scikit-learn; null (with the reason printed) when Python, scikit-learn or the script is missing.</summary>
    public static PeerTiming? Run(string dataPath, int rows, int columns, CovarianceType type, int components, double regCovar,
        int iterations, int repeats, double[] weights, double[] means, double[] precisions, int threads)
    {
        string? script = Script();
        if (script == null)
        {
            Console.WriteLine("// sklearn peer: benchmarks/gmm_peer.py not found; no ratio.");
            return null;
        }
        string python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        string manifest = Path.Combine(Path.GetTempPath(), $"engine-gmm-peer-{Environment.ProcessId}-{Name(type)}.json");
        var spec = new
        {
            x_path = dataPath,
            rows,
            columns,
            cases = new[]
            {
                new
                {
                    covariance_type = Name(type), components, reg_covar = regCovar, iterations, repeats, weights, means, precisions,
                },
            },
        };
        File.WriteAllText(manifest, JsonSerializer.Serialize(spec));
        try
        {
            var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add(script);
            psi.ArgumentList.Add(manifest);
            psi.Environment.Remove("OPENBLAS_CORETYPE");
            psi.Environment.Remove("OPENBLAS_L2_SIZE");
            psi.Environment["OMP_NUM_THREADS"] = threads.ToString();
            psi.Environment["OPENBLAS_NUM_THREADS"] = threads.ToString();
            using var process = Process.Start(psi)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                Console.WriteLine($"// sklearn peer failed (exit {process.ExitCode}): {stderr.Result.Trim()}");
                return null;
            }
            using var doc = JsonDocument.Parse(stdout.Result);
            JsonElement root = doc.RootElement, r = root.GetProperty("results")[0];
            string blas = string.Join("; ", root.GetProperty("blas").EnumerateArray()
                .Where(b => b.TryGetProperty("internal_api", out var api) && api.GetString() == "openblas")
                .Select(b => $"OpenBLAS {b.GetProperty("version")} {b.GetProperty("architecture")} {b.GetProperty("num_threads")} threads ({b.GetProperty("threading_layer")})"));
            string versions = $"scikit-learn {root.GetProperty("sklearn").GetString()}, numpy {root.GetProperty("numpy").GetString()}, {blas}";
            double[] Seconds(string name) => r.GetProperty(name).EnumerateArray().Select(v => v.GetDouble()).ToArray();
            return new PeerTiming(Seconds("fit_seconds"), Seconds("em_seconds"), r.GetProperty("lower_bound").GetDouble(), versions);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Console.WriteLine($"// sklearn peer: {python} could not be run ({e.Message}); install python3-sklearn.");
            return null;
        }
        finally
        {
            File.Delete(manifest);
        }
    }
}
