using System.Buffers.Binary;
using System.IO.Compression;
using Engine.Models.Data;

namespace Engine.Tests.EndToEnd;

/// <summary>
/// Random option values and random byte corruptions of every file the CLI reads (IDX data, checkpoints,
/// metrics.json, manifest.json, pictures), against a good VAE run and a good mixture run. Whatever happens:
/// the exit code is 0, 1 or 2; a failure is one line on standard error with no stack trace; and no file of
/// an existing run folder changes unless the command succeeded.
/// </summary>
[Category("EndToEnd")]
[NonParallelizable]
public class CliPropertyTests
{
    private const int Cases = 96;
    private string _base = null!;
    private string _case = null!;

    [OneTimeSetUp]
    public void CreateRuns()
    {
        _base = Directory.CreateTempSubdirectory("engine-prop").FullName;
        WriteIdx(Path.Combine(_base, "idx"), SyntheticImages.Create(200, 40));
        string idx = Path.Combine(_base, "idx");
        var (code, err) = CliRobustnessTests.Run("vae", "train", "--data", idx, "--hidden", "8", "--latent", "2", "--epochs", "1", "--batch-size", "50", "--out", Path.Combine(_base, "vae"), "--quiet");
        Assert.That(code, Is.EqualTo(0), err);
        (code, err) = CliRobustnessTests.Run("gmm", "fit", "--data", idx, "--components", "3", "--pca", "4", "--out", Path.Combine(_base, "gmm"), "--quiet");
        Assert.That(code, Is.EqualTo(0), err);
    }

    [OneTimeTearDown]
    public void RemoveRuns() => Directory.Delete(_base, recursive: true);

    [SetUp]
    public void CopyRuns()
    {
        _case = Directory.CreateTempSubdirectory("engine-prop-case").FullName;
        foreach (var dir in new[] { "idx", "vae", "gmm" }) CopyFolder(Path.Combine(_base, dir), Path.Combine(_case, dir));
    }

    [TearDown]
    public void RemoveCase() => Directory.Delete(_case, recursive: true);

    private static IEnumerable<int> CaseNumbers() => Enumerable.Range(0, Cases);

    [TestCaseSource(nameof(CaseNumbers))]
    public void AnyInputEndsInOneLineAndLosesNothing(int seed)
    {
        var rng = new Random(1000 + seed);
        string idx = Path.Combine(_case, "idx"), vae = Path.Combine(_case, "vae"), gmm = Path.Combine(_case, "gmm");
        // A third of the cases corrupt a file and keep every option valid, a third also draw bad option values,
        // a third only draw option values (a bad one in some of them).
        int mode = seed % 3;
        string? corrupted = null;
        int? command = null;
        if (mode < 2)
        {
            var folder = new[] { idx, vae, gmm }[rng.Next(3)];
            var files = Directory.GetFiles(folder).Where(f => !Path.GetFileName(f).StartsWith('.')).ToArray();
            corrupted = files[rng.Next(files.Length)];
            Corrupt(corrupted, rng);
            // A command that reads the corrupted file.
            if (folder == vae) command = rng.Next(5);
            else if (folder == gmm) command = 6;
        }
        var args = new CommandLine(rng, bad: mode > 0).Draw(command, idx, vae, gmm, Path.Combine(_case, "new"));
        var before = new[] { vae, gmm, idx }.ToDictionary(d => d, CliRobustnessTests.Hashes);
        var (code, err) = CliRobustnessTests.Run(args);
        string what = $"engine {string.Join(' ', args.Select(a => a.Length == 0 ? "''" : a))}{(corrupted != null ? $" (corrupted {Path.GetRelativePath(_case, corrupted)})" : "")}";
        Assert.That(code, Is.AnyOf(0, 1, 2), what);
        if (code == 0) return;
        var lines = err.Trim().Split('\n');
        Assert.That(lines, Has.Length.EqualTo(1), $"{what}: {err}");
        Assert.That(lines[0], Does.StartWith("error: ").And.Not.Contain("internal error").And.Not.Contain("   at "), what);
        foreach (var (dir, hashes) in before)
            Assert.That(CliRobustnessTests.Hashes(dir), Is.EqualTo(hashes), $"{what} failed ({lines[0]}) and changed {Path.GetFileName(dir)}/");
    }

    /// <summary>Draws a command line: options appear at random, with a bad value now and then when <c>bad</c>.</summary>
    private sealed class CommandLine(Random rng, bool bad)
    {
        private static readonly string[] BadInts = ["-5", "0", "x", "", "99999999999"];
        private readonly List<string> _args = [];

        private string Pick(string[] valid, string[] invalid) => bad && rng.Next(3) == 0 && invalid.Length > 0 ? invalid[rng.Next(invalid.Length)] : valid[rng.Next(valid.Length)];
        private void Always(string option, string[] valid, string[]? invalid = null) => _args.AddRange([option, Pick(valid, invalid ?? BadInts)]);
        private void Maybe(string option, string[] valid, string[]? invalid = null)
        {
            if (rng.Next(3) == 0) Always(option, valid, invalid);
        }

        public string[] Draw(int? command, string idx, string vae, string gmm, string fresh)
        {
            string Out(params string[] folders) => bad ? folders[rng.Next(folders.Length)] : folders[0];
            switch (command ?? rng.Next(7))
            {
                case 0:
                    _args.AddRange(["vae", "train", "--data", idx]);
                    bool resume = rng.Next(2) == 0;
                    _args.AddRange(["--out", resume ? vae : Out(fresh, vae)]);
                    if (resume) _args.AddRange(["--resume", "--epochs", Pick(["2", "3"], ["1", "0", "-1"])]);
                    else
                    {
                        Always("--epochs", ["1", "2"], ["0", "-1", "x"]);
                        Always("--hidden", ["8", "4,4", "none"], ["", "0", "x,1"]);
                        Maybe("--batch-size", ["64", "50"]);
                        Maybe("--lr", ["1e-3", "3e-3"], ["-1", "0", "10", "NaN", "inf", "x"]);
                        Maybe("--latent", ["1", "2"]);
                        Maybe("--activation", ["relu", "tanh"], ["bogus"]);
                        Maybe("--decoder", ["bernoulli", "gaussian"], ["poisson"]);
                        Maybe("--objective", ["elbo", "elbo-mc", "iwae"], ["kl"]);
                        Maybe("--k", ["1", "2"]);
                        Maybe("--estimator", ["plain", "stl", "dreg"], ["magic"]);
                        Maybe("--binarize", ["static", "dynamic", "none"], ["half"]);
                        Maybe("--train-limit", ["100", "150"]);
                        Maybe("--test-limit", ["10", "30"]);
                        Maybe("--seed", ["0", "7"], ["-1", "x"]);
                    }
                    Maybe("--eval-k", ["0", "2"], ["-1", "x"]);
                    Maybe("--eval-limit", ["5"]);
                    break;
                case 1:
                    _args.AddRange(["vae", "eval", "--data", idx, "--out", Out(vae, gmm, fresh)]);
                    Always("--k", ["1", "5"], ["0", "-3", "x"]);
                    Maybe("--naive-k", ["0", "3"], ["-1"]);
                    Maybe("--test-limit", ["10"]);
                    break;
                case 2:
                    _args.AddRange(["vae", "sample", "--out", Out(vae, gmm)]);
                    Maybe("--count", ["1", "4"]);
                    Maybe("--file", ["s.png"], ["../s.png", "model.safetensors", "", ".hidden.png"]);
                    break;
                case 3:
                    _args.AddRange(["vae", "reconstruct", "--data", idx, "--out", vae]);
                    Maybe("--count", ["2", "8"]);
                    Maybe("--file", ["r.png"], ["a/b.png"]);
                    break;
                case 4:
                    _args.AddRange(["vae", "inpaint", "--data", idx, "--out", vae]);
                    Always("--steps", ["0", "2"], ["-1"]);
                    Always("--k", ["2", "4"]);
                    Always("--test-limit", ["4", "6"]);
                    Maybe("--region", ["top", "random", "none"], ["middle"]);
                    Maybe("--missing-fraction", ["0.5", "0.2"], ["2", "-1", "NaN"]);
                    Maybe("--lr", ["0.1"], ["0", "NaN"]);
                    Maybe("--binarize", ["static", "none"], ["x"]);
                    break;
                case 5:
                    _args.AddRange(["gmm", "fit", "--data", idx, "--out", Out(fresh, gmm, vae)]);
                    Always("--components", ["2", "3"], ["0", "-1", "x", "250"]);
                    Maybe("--covariance", ["full", "diag", "tied", "spherical"], ["banana"]);
                    Maybe("--pca", ["2", "4"], ["0", "1000"]);
                    Maybe("--max-iter", ["0", "5"], ["-1"]);
                    Maybe("--tol", ["0", "1e-3"], ["-1", "NaN"]);
                    Maybe("--reg-covar", ["1e-6", "1e-3"], ["0", "-1"]);
                    Maybe("--n-init", ["1", "2"]);
                    Maybe("--init", ["kmeans", "randomresponsibilities"], ["bogus"]);
                    Maybe("--train-limit", ["100"]);
                    Maybe("--test-limit", ["20"]);
                    break;
                default:
                    _args.AddRange(["gmm", "predict", "--data", idx, "--out", Out(gmm, vae)]);
                    Maybe("--test-limit", ["10"]);
                    break;
            }
            Maybe("--threads", ["1", "2"], ["0", "-1", "1000"]);
            _args.Add("--quiet");
            return _args.ToArray();
        }
    }

    // Flips bytes, truncates, appends garbage or empties the file.
    private static void Corrupt(string path, Random rng)
    {
        var bytes = File.ReadAllBytes(path);
        switch (rng.Next(4))
        {
            case 0:
                for (int i = 0, n = 1 + rng.Next(8); i < n && bytes.Length > 0; i++) bytes[rng.Next(bytes.Length)] ^= (byte)(1 + rng.Next(255));
                break;
            case 1:
                bytes = bytes.AsSpan(0, rng.Next(bytes.Length)).ToArray();
                break;
            case 2:
                var extra = new byte[1 + rng.Next(64)];
                rng.NextBytes(extra);
                bytes = [.. bytes, .. extra];
                break;
            default:
                bytes = [];
                break;
        }
        File.WriteAllBytes(path, bytes);
    }

    private static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
    }

    /// <summary>Writes a data set as the four Fashion-MNIST IDX files (training files plain, test files gzipped).</summary>
    private static void WriteIdx(string dir, FashionMnist data)
    {
        Directory.CreateDirectory(dir);
        void Write(string name, bool gzip, int[] dims, byte[] payload)
        {
            using var file = File.Create(Path.Combine(dir, gzip ? name + ".gz" : name));
            using Stream s = gzip ? new GZipStream(file, CompressionLevel.Fastest) : file;
            Span<byte> head = stackalloc byte[4 + 4 * dims.Length];
            head[2] = 0x08;
            head[3] = (byte)dims.Length;
            for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(head[(4 + 4 * i)..], dims[i]);
            s.Write(head);
            s.Write(payload);
        }
        foreach (var (set, stem, gz) in new[] { (data.Train, "train", false), (data.Test, "t10k", true) })
        {
            Write($"{stem}-images-idx3-ubyte", gz, [set.Count, set.Height, set.Width], set.Pixels.Select(v => (byte)Math.Round(v * 255)).ToArray());
            Write($"{stem}-labels-idx1-ubyte", gz, [set.Count], set.Labels!.Select(l => (byte)l).ToArray());
        }
    }
}
