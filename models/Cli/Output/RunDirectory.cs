using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Engine.Cli.Output;

/// <summary>
/// The --out folder of a run. It changes only a whole generation at a time: a command writes every file of a
/// generation (checkpoints, metrics.json, pictures) into a staging folder inside it, adds manifest.json (the
/// generation number and the SHA-256 of every file of the run), and renames the staging folder to
/// <c>.commit-N</c>: that one rename is the commit point. The files are then moved into place, manifest.json
/// last. Opening the folder finishes a commit a killed process left (so the folder holds generation N) and
/// deletes a staging folder it left (so the folder holds the generation before). Until the commit point
/// nothing in the folder changes; readers check every file against manifest.json and refuse a folder whose
/// files disagree. A command holds an advisory lock (.engine.lock) on the folder while it runs.
/// </summary>
public sealed class RunDirectory : IDisposable
{
    public const string ManifestName = "manifest.json";
    public const string MetricsName = "metrics.json";
    private const string LockName = ".engine.lock";
    private const string StagingPrefix = ".staging-";
    private const string CommitPrefix = ".commit-";
    private const string RemoveList = ".remove";
    private const string Format = "engine-run";
    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };

    /// <summary>File names (other than manifest.json) that only a run writes: a folder holding one but no manifest was not written by this program.</summary>
    private static readonly string[] RunFiles = ["model.safetensors", "optimizer.safetensors", "gmm.safetensors", MetricsName];

    private FileStream? _lock;
    private Manifest? _manifest;

    /// <summary>Opens the folder (which need not exist yet): takes its lock and finishes or discards an interrupted commit.</summary>
    public RunDirectory(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        if (System.IO.File.Exists(Path)) throw new IOException($"--out '{Path}' is a file, not a folder.");
        if (!Directory.Exists(Path)) return;
        Lock();
        try
        {
            Recover();
            _manifest = Manifest.Read(System.IO.Path.Combine(Path, ManifestName));
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Path { get; }

    /// <summary>The committed generation (0 when the folder holds no run).</summary>
    public int Generation => _manifest?.Generation ?? 0;

    /// <summary>The path of a committed file of the run (for reading).</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string MetricsPath => File(MetricsName);

    /// <summary>
    /// Checks every file manifest.json lists against its recorded SHA-256. Throws <see cref="InvalidDataException"/>
    /// naming the first file that is missing or differs, or when run files exist without a manifest.
    /// </summary>
    public void Verify()
    {
        if (_manifest is null)
        {
            var stray = RunFiles.FirstOrDefault(f => System.IO.File.Exists(File(f)));
            if (stray != null)
                throw new InvalidDataException($"'{Path}' holds {stray} but no {ManifestName}: it was not written by this version of engine; train again into a new --out folder.");
            return;
        }
        foreach (var (name, hash) in _manifest.Files)
        {
            var path = File(name);
            if (!System.IO.File.Exists(path))
                throw new InvalidDataException($"'{Path}': {name} is missing, but {ManifestName} (generation {_manifest.Generation}) lists it; the folder was changed by hand.");
            if (Sha256(path, flush: false) != hash)
                throw new InvalidDataException($"'{Path}': {name} differs from the file {ManifestName} (generation {_manifest.Generation}) records; it was changed outside engine, so the run's files no longer agree.");
        }
    }

    /// <summary>The committed metrics.json, or null when the run has none.</summary>
    public JsonObject? ReadMetrics()
    {
        if (!System.IO.File.Exists(MetricsPath)) return null;
        try { return JsonNode.Parse(System.IO.File.ReadAllText(MetricsPath)) as JsonObject ?? throw new InvalidDataException($"'{MetricsPath}' is not a JSON object."); }
        catch (JsonException e) { throw new InvalidDataException($"'{MetricsPath}' is not valid JSON: {e.Message}", e); }
    }

    /// <summary>
    /// Starts a generation. A <paramref name="fresh"/> one replaces the run: the files the current manifest lists
    /// and the new generation does not write are deleted when it commits. Otherwise it adds to the run.
    /// </summary>
    public RunGeneration Begin(bool fresh = false)
    {
        Directory.CreateDirectory(Path);
        Lock();
        return new RunGeneration(this, fresh);
    }

    /// <summary>Makes the staged files the folder's next generation (see the class remarks).</summary>
    internal void Commit(string staging, bool fresh)
    {
        var written = Directory.GetFiles(staging).Select(System.IO.Path.GetFileName).Where(n => !n!.StartsWith('.')).Select(n => n!).ToList();
        var files = fresh || _manifest is null ? new SortedDictionary<string, string>(StringComparer.Ordinal) : new SortedDictionary<string, string>(_manifest.Files, StringComparer.Ordinal);
        foreach (var name in written) files[name] = Sha256(System.IO.Path.Combine(staging, name), flush: true);
        var removed = fresh && _manifest != null ? _manifest.Files.Keys.Where(k => !files.ContainsKey(k)).ToList() : [];
        var next = new Manifest(Generation + 1, files);
        System.IO.File.WriteAllLines(System.IO.Path.Combine(staging, RemoveList), removed);
        WriteDurably(System.IO.Path.Combine(staging, ManifestName), next.ToJson());
        var commit = File($"{CommitPrefix}{next.Generation}");
        Directory.Move(staging, commit);
        RollForward(commit);
        _manifest = next;
    }

    // Moves a committed generation's files into place (manifest.json last) and removes the commit folder. Safe to
    // repeat after an interruption: a file already moved is simply no longer in the commit folder.
    private void RollForward(string commit)
    {
        foreach (var src in Directory.GetFiles(commit))
        {
            var name = System.IO.Path.GetFileName(src);
            if (name == ManifestName || name.StartsWith('.')) continue;
            System.IO.File.Move(src, File(name), overwrite: true);
        }
        var removeList = System.IO.Path.Combine(commit, RemoveList);
        if (System.IO.File.Exists(removeList))
            foreach (var name in System.IO.File.ReadAllLines(removeList))
                if (name.Length > 0 && !name.Contains('/') && System.IO.File.Exists(File(name))) System.IO.File.Delete(File(name));
        var manifest = System.IO.Path.Combine(commit, ManifestName);
        if (System.IO.File.Exists(manifest)) System.IO.File.Move(manifest, File(ManifestName), overwrite: true);
        Directory.Delete(commit, recursive: true);
    }

    private void Recover()
    {
        var commits = Directory.GetDirectories(Path, CommitPrefix + "*")
            .Select(d => (Dir: d, Gen: int.TryParse(System.IO.Path.GetFileName(d)[CommitPrefix.Length..], out var g) ? g : -1))
            .OrderBy(c => c.Gen);
        foreach (var (dir, _) in commits)
        {
            if (System.IO.File.Exists(System.IO.Path.Combine(dir, ManifestName))) RollForward(dir);
            else Directory.Delete(dir, recursive: true);
        }
        foreach (var dir in Directory.GetDirectories(Path, StagingPrefix + "*")) Directory.Delete(dir, recursive: true);
    }

    internal string NewStagingFolder()
    {
        var dir = File($"{StagingPrefix}{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    private void Lock()
    {
        if (_lock != null) return;
        try
        {
            _lock = new FileStream(File(LockName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            throw new IOException($"'{Path}' is in use by another engine command (it holds {LockName}); wait for it to finish or choose another --out.", e);
        }
    }

    public void Dispose()
    {
        _lock?.Dispose();
        _lock = null;
    }

    // The SHA-256 of a file, flushing it to disk first when asked (files are staged by several writers).
    private static string Sha256(string path, bool flush)
    {
        using var fs = new FileStream(path, FileMode.Open, flush ? FileAccess.ReadWrite : FileAccess.Read, FileShare.Read);
        if (flush) fs.Flush(flushToDisk: true);
        return Convert.ToHexStringLower(SHA256.HashData(fs));
    }

    private static void WriteDurably(string path, string text)
    {
        using var fs = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        fs.Write(System.Text.Encoding.UTF8.GetBytes(text));
        fs.Flush(flushToDisk: true);
    }

    /// <summary>Throws when a JSON tree holds a NaN or an infinity, naming its path (JSON cannot hold them).</summary>
    internal static void CheckFinite(JsonNode? node, string path)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (key, value) in o) CheckFinite(value, path.Length == 0 ? key : $"{path}.{key}");
                break;
            case JsonArray a:
                for (int i = 0; i < a.Count; i++) CheckFinite(a[i], $"{path}[{i}]");
                break;
            case JsonValue v when v.TryGetValue<double>(out var d) && !double.IsFinite(d):
                throw new InvalidDataException($"{MetricsName}: {path} is {d}, which is not a number JSON can hold; nothing was written.");
            case JsonValue v when v.TryGetValue<float>(out var f) && !float.IsFinite(f):
                throw new InvalidDataException($"{MetricsName}: {path} is {f}, which is not a number JSON can hold; nothing was written.");
        }
    }

    private sealed record Manifest(int Generation, SortedDictionary<string, string> Files)
    {
        public static Manifest? Read(string path)
        {
            if (!System.IO.File.Exists(path)) return null;
            try
            {
                var o = JsonNode.Parse(System.IO.File.ReadAllText(path)) as JsonObject;
                if (o is null || (string?)o["format"] != Format || o["files"] is not JsonObject files)
                    throw new InvalidDataException($"'{path}' is not an engine run manifest.");
                var map = new SortedDictionary<string, string>(StringComparer.Ordinal);
                foreach (var (name, hash) in files)
                {
                    if (name.Length == 0 || name.Contains('/') || name.Contains('\\') || name.StartsWith('.') || name == ManifestName)
                        throw new InvalidDataException($"'{path}' names '{name}', which is not a file of the run.");
                    map[name] = (string?)hash ?? throw new InvalidDataException($"'{path}': '{name}' has no hash.");
                }
                int generation = (int?)o["generation"] is { } g and > 0 ? g : throw new InvalidDataException($"'{path}' has no positive generation number.");
                return new Manifest(generation, map);
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
            {
                throw new InvalidDataException($"'{path}' is not a valid engine run manifest: {e.Message}", e);
            }
        }

        public string ToJson()
        {
            var files = new JsonObject();
            foreach (var (name, hash) in Files) files[name] = hash;
            return new JsonObject { ["format"] = Format, ["generation"] = Generation, ["files"] = files }.ToJsonString(s_json);
        }
    }
}

/// <summary>The files of one generation of a run folder, staged until <see cref="Commit"/>; disposing without it discards them.</summary>
public sealed class RunGeneration : IDisposable
{
    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };
    private readonly RunDirectory _run;
    private readonly bool _fresh;
    private readonly string _staging;
    private bool _done;

    internal RunGeneration(RunDirectory run, bool fresh)
    {
        _run = run;
        _fresh = fresh;
        _staging = run.NewStagingFolder();
    }

    /// <summary>The staged path of a file of the run; <paramref name="name"/> is a plain file name.</summary>
    public string PathFor(string name)
    {
        if (!IsFileName(name) || name == RunDirectory.ManifestName)
            throw new ArgumentException($"'{name}' is not a file name a run can write (no folders, no leading '.', not {RunDirectory.ManifestName}).", nameof(name));
        return Path.Combine(_staging, name);
    }

    /// <summary>True for a plain file name: no folder part, no leading dot.</summary>
    public static bool IsFileName(string name) =>
        name.Length > 0 && name.IndexOfAny(['/', '\\', '\0']) < 0 && !name.StartsWith('.');

    /// <summary>Stages metrics.json after checking it holds only finite numbers.</summary>
    public void WriteMetrics(JsonObject metrics)
    {
        RunDirectory.CheckFinite(metrics, "");
        File.WriteAllText(PathFor(RunDirectory.MetricsName), metrics.ToJsonString(s_json));
    }

    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_done, this);
        _run.Commit(_staging, _fresh);
        _done = true;
    }

    public void Dispose()
    {
        if (_done) return;
        _done = true;
        try { Directory.Delete(_staging, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
