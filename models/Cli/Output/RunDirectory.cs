using System.Text.Json;
using System.Text.Json.Nodes;
using Engine.IO;

namespace Engine.Cli.Output;

/// <summary>
/// The --out folder of a run: metrics.json (machine-readable, rewritten atomically after every epoch),
/// checkpoints and pictures.
/// </summary>
public sealed class RunDirectory
{
    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };

    public RunDirectory(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public string MetricsPath => File("metrics.json");

    /// <summary>The metrics written so far, or null.</summary>
    public JsonObject? ReadMetrics()
    {
        if (!System.IO.File.Exists(MetricsPath)) return null;
        try { return JsonNode.Parse(System.IO.File.ReadAllText(MetricsPath)) as JsonObject; }
        catch (JsonException e) { throw new InvalidDataException($"'{MetricsPath}' is not valid JSON: {e.Message}", e); }
    }

    /// <summary>Writes metrics.json atomically.</summary>
    public void WriteMetrics(JsonObject metrics) => AtomicFile.WriteAllText(MetricsPath, metrics.ToJsonString(s_json));
}
