using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Engine.Tests.Packaging;

/// <summary>
/// Packs the three libraries and the command-line tool as `dotnet pack` would for a release, then uses them as a
/// stranger would: installs the tool and runs it, and builds a project outside the repository that trains a VAE
/// from the Engine.Models package.
/// </summary>
[Category("Packaging")]
[NonParallelizable]
public class PackagingTests
{
    private const string Tool = "Engine.Cli";

    /// <summary>Package id, project file relative to the repository root, assembly built into bin/Release.</summary>
    private static readonly (string Id, string Project, string Assembly)[] Projects =
    [
        ("Engine.Kernels", "kernels/Engine.Kernels.csproj", "Engine.Kernels.dll"),
        ("Engine.Core", "engine/Engine.Core.csproj", "Engine.Core.dll"),
        ("Engine.Models", "models/Engine.Models.csproj", "Engine.Models.dll"),
        (Tool, "models/Cli/Engine.Cli.csproj", "engine.dll"),
    ];

    private static readonly TimeSpan PackTimeout = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan ShortTimeout = TimeSpan.FromMinutes(2);

    private string _repo = null!;
    private string _tmp = null!;
    private string _feed = null!;
    private string _version = null!;

    [OneTimeSetUp]
    public void PackEverything()
    {
        var clock = Stopwatch.StartNew();
        _repo = RepositoryRoot();
        _version = SingleVersion(_repo);
        _tmp = Directory.CreateTempSubdirectory("engine-pack-").FullName;
        _feed = Path.Combine(_tmp, "feed");
        Directory.CreateDirectory(_feed);

        // The Release build of `dotnet test Engine.sln -c Release` is reused when each project's assembly is newer than
        // every input of that project; otherwise pack builds them all, which is slower but never packs stale binaries.
        bool reuse = Projects.All(p => ReleaseBuildIsCurrent(p.Project, p.Assembly));
        foreach (var (id, project, _) in Projects)
        {
            string[] args = ["pack", Path.Combine(_repo, project), "-c", "Release", "-o", _feed, .. reuse ? new[] { "--no-build" } : []];
            // A tool package takes everything in the publish folder: a fresh one keeps files of earlier publishes out.
            if (id == Tool) args = [.. args, $"-p:PublishDir={Path.Combine(_tmp, "publish")}{Path.DirectorySeparatorChar}"];
            var pack = Dotnet(args, _repo, PackTimeout);
            pack.AssertSucceeded($"dotnet pack {project}");
            TestContext.Progress.WriteLine($"packed {id} ({(reuse ? "reusing the Release build" : "building")}) at {clock.Elapsed.TotalSeconds:F0} s");
        }
    }

    [OneTimeTearDown]
    public void RemoveTemporaryFolder()
    {
        if (_tmp != null && Directory.Exists(_tmp)) Directory.Delete(_tmp, recursive: true);
    }

    [Test]
    public void PackagesHaveTheExpectedIdsAndTheOneVersion()
    {
        var expected = Projects.Select(p => $"{p.Id}.{_version}.nupkg").Order().ToArray();
        var found = Directory.GetFiles(_feed, "*.nupkg").Select(Path.GetFileName).Order().ToArray();
        Assert.That(found, Is.EqualTo(expected));
        foreach (var (id, _, _) in Projects)
        {
            var meta = Nuspec(id).Metadata;
            Assert.That(meta.Text("id"), Is.EqualTo(id));
            Assert.That(meta.Text("version"), Is.EqualTo(_version), id);
        }
    }

    [TestCase("Engine.Kernels")]
    [TestCase("Engine.Core")]
    [TestCase("Engine.Models")]
    [TestCase(Tool)]
    public void NuspecCarriesDescriptionLicenseReadmeAndRepository(string id)
    {
        var (meta, entries) = Nuspec(id);
        Assert.Multiple(() =>
        {
            Assert.That(meta.Text("description"), Has.Length.GreaterThan(80), "a real description");
            Assert.That(meta.Text("description"), Does.Not.EqualTo("Package Description"));
            Assert.That(meta.Text("authors"), Is.Not.Empty);
            Assert.That(meta.Text("tags"), Does.Contain("vae"));
            var license = meta.Element("license");
            Assert.That(license?.Attribute("type")?.Value, Is.EqualTo("expression"));
            Assert.That(license?.Value, Is.EqualTo("MIT"));
            Assert.That(meta.Text("readme"), Is.EqualTo("README.md"));
            Assert.That(entries, Does.Contain("README.md"), "the readme is in the package");
            Assert.That(meta.Element("repository")?.Attribute("type")?.Value, Is.EqualTo("git"));
        });
        if (id == Tool)
        {
            var types = meta.Element("packageTypes")?.Elements().Select(e => e.Attribute("name")?.Value);
            Assert.That(types, Is.EqualTo(new[] { "DotnetTool" }));
            Assert.That(entries, Has.Some.Matches<string>(e => e.StartsWith("tools/net10.0/any/", StringComparison.Ordinal) && e.EndsWith("/DotnetToolSettings.xml", StringComparison.Ordinal)));
        }
        else
        {
            Assert.That(entries, Does.Contain($"lib/net10.0/{id}.dll"));
            Assert.That(entries, Does.Contain($"lib/net10.0/{id}.xml"), "the XML documentation ships");
        }
    }

    [Test]
    public void LibraryDependenciesPointAtTheSameVersion()
    {
        string Dependency(string id, string on) =>
            Nuspec(id).Metadata.Descendants().Single(e => e.Name.LocalName == "dependency" && e.Attribute("id")?.Value == on).Attribute("version")!.Value;
        Assert.That(Dependency("Engine.Core", "Engine.Kernels"), Is.EqualTo(_version));
        Assert.That(Dependency("Engine.Models", "Engine.Core"), Is.EqualTo(_version));
    }

    [Test]
    public void TheToolInstallsAndListsItsCommands()
    {
        string tools = Path.Combine(_tmp, "tools");
        // The configuration names the local feed only, so no package of the same id elsewhere can be installed.
        string config = WriteNugetConfig(Path.Combine(_tmp, "tool-config"), packagesFolder: null, includeOtherSources: false);
        var install = Dotnet(["tool", "install", Tool, "--tool-path", tools, "--add-source", _feed, "--configfile", config, "--version", _version], _tmp, ShortTimeout);
        install.AssertSucceeded("dotnet tool install");

        string engine = Path.Combine(tools, OperatingSystem.IsWindows() ? "engine.exe" : "engine");
        Assert.That(File.Exists(engine), Is.True, $"the tool's command is {engine}\n{install}");
        var help = Run(engine, ["--help"], _tmp, ShortTimeout);
        help.AssertSucceeded("engine --help");
        Assert.That(help.Stdout, Does.Match(@"(?m)^\s+vae\s"), $"the help lists vae\n{help}");
        Assert.That(help.Stdout, Does.Match(@"(?m)^\s+gmm\s"), $"the help lists gmm\n{help}");

        var version = Run(engine, ["--version"], _tmp, ShortTimeout);
        version.AssertSucceeded("engine --version");
        Assert.That(version.Stdout.Trim(), Does.StartWith(_version), $"the assembly carries the package version\n{version}");
    }

    [Test]
    public void AProjectOutsideTheRepositoryTrainsAVaeFromThePackage()
    {
        string dir = Path.Combine(_tmp, "consumer");
        Directory.CreateDirectory(dir);
        Assert.That(dir.StartsWith(_repo + Path.DirectorySeparatorChar, StringComparison.Ordinal), Is.False,
            $"the consumer ({dir}) must lie outside the repository ({_repo}) so its Directory.*.props do not apply");

        // Empty Directory.* files stop MSBuild's upward search, so no props from the folders above apply either.
        foreach (var name in new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props" })
            File.WriteAllText(Path.Combine(dir, name), "<Project />\n");
        // A packages folder of its own: a copy of this version left in the user's cache by an earlier run cannot be used.
        WriteNugetConfig(dir, packagesFolder: Path.Combine(_tmp, "packages"), includeOtherSources: true);
        File.WriteAllText(Path.Combine(dir, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                <NuGetAudit>false</NuGetAudit>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Engine.Models" Version="[{_version}]" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(dir, "Program.cs"), """
            using Engine;
            using Engine.Models.Data;
            using Engine.Models.Vae;

            // 64 synthetic 28x28 images in batches of 32: one epoch is two optimizer steps.
            var data = SyntheticImages.Create(train: 64, test: 16, seed: 0);
            var vae = new VariationalAutoencoder(new VaeOptions { Hidden = [32], LatentSize = 2 }, new Generator(0));
            var trainer = new VaeTrainer(vae, new TrainingOptions { Epochs = 1, BatchSize = 32 });
            var epoch = trainer.TrainEpoch(data.Train, data.Test, 0);
            Console.WriteLine(FormattableString.Invariant($"objective {epoch.TrainObjective:R}"));
            Console.WriteLine(FormattableString.Invariant($"test_elbo {epoch.TestElbo:R}"));
            """);

        var run = Dotnet(["run", "-c", "Release"], dir, PackTimeout);
        run.AssertSucceeded("dotnet run (consumer)");
        foreach (var name in new[] { "objective", "test_elbo" })
        {
            var m = Regex.Match(run.Stdout, $@"(?m)^{name} (\S+)\s*$");
            Assert.That(m.Success, Is.True, $"the consumer prints {name}\n{run}");
            bool parsed = double.TryParse(m.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out double value);
            Assert.That(parsed && double.IsFinite(value), Is.True, $"{name} is a finite number: '{m.Groups[1].Value}'\n{run}");
        }
        Assert.That(Directory.Exists(Path.Combine(_tmp, "packages", "engine.models", _version)), Is.True,
            "Engine.Models was restored into the consumer's own packages folder");
    }

    // ---- helpers ----

    private static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Engine.sln"))) return d.FullName;
        Assert.Fail($"no Engine.sln above {TestContext.CurrentContext.TestDirectory}");
        return null!;
    }

    /// <summary>The one &lt;Version&gt; in Directory.Build.props; no project file may set a version of its own.</summary>
    private static string SingleVersion(string repo)
    {
        var versions = XDocument.Load(Path.Combine(repo, "Directory.Build.props")).Descendants("Version").Select(e => e.Value.Trim()).ToArray();
        Assert.That(versions, Has.Length.EqualTo(1), "Directory.Build.props sets exactly one <Version>");
        foreach (var (_, project, _) in Projects)
        {
            var names = XDocument.Load(Path.Combine(repo, project)).Descendants().Select(e => e.Name.LocalName);
            Assert.That(names, Has.None.AnyOf("Version", "VersionPrefix", "VersionSuffix", "PackageVersion"), $"{project} sets no version of its own");
        }
        Assert.That(versions[0], Does.Match(@"^\d+\.\d+\.\d+"), "a semantic version");
        return versions[0];
    }

    /// <summary>True when bin/Release holds the project's assembly and it is newer than every source and build file it is made from.</summary>
    private bool ReleaseBuildIsCurrent(string project, string assembly)
    {
        string folder = Path.GetDirectoryName(Path.Combine(_repo, project))!;
        var built = new FileInfo(Path.Combine(folder, "bin", "Release", "net10.0", assembly));
        if (!built.Exists) return false;
        var inputs = ProjectInputs(folder).Concat(new[] { "Directory.Build.props", "Directory.Packages.props" }.Select(f => Path.Combine(_repo, f)));
        return inputs.All(f => File.GetLastWriteTimeUtc(f) <= built.LastWriteTimeUtc);
    }

    /// <summary>The .cs and project files under a project folder, leaving out bin, obj and nested projects' folders.</summary>
    private static IEnumerable<string> ProjectInputs(string folder)
    {
        foreach (var f in Directory.EnumerateFiles(folder))
            if (f.EndsWith(".cs", StringComparison.Ordinal) || f.EndsWith(".csproj", StringComparison.Ordinal)) yield return f;
        foreach (var sub in Directory.EnumerateDirectories(folder))
        {
            string name = Path.GetFileName(sub);
            if (name is "bin" or "obj" || Directory.EnumerateFiles(sub, "*.csproj").Any()) continue;
            foreach (var f in ProjectInputs(sub)) yield return f;
        }
    }

    private (XElement Metadata, string[] Entries) Nuspec(string id)
    {
        using var zip = ZipFile.OpenRead(Path.Combine(_feed, $"{id}.{_version}.nupkg"));
        var entries = zip.Entries.Select(e => e.FullName).ToArray();
        var nuspec = zip.Entries.Single(e => e.FullName == $"{id}.nuspec");
        using var stream = nuspec.Open();
        var metadata = XDocument.Load(stream).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        // Drop the nuspec's namespace so tests can name elements plainly.
        foreach (var e in metadata.DescendantsAndSelf()) e.Name = e.Name.LocalName;
        return (metadata, entries);
    }

    /// <summary>
    /// A nuget.config in <paramref name="dir"/>: the local feed of the packed packages, and with
    /// <paramref name="includeOtherSources"/> the user's packages folder as an offline source plus nuget.org for the
    /// libraries' own dependencies; package source mapping then takes Engine.* from the local feed only. (The tool's
    /// install, with the local feed alone, needs no mapping, and `--add-source` refuses to run beside one.)
    /// </summary>
    private string WriteNugetConfig(string dir, string? packagesFolder, bool includeOtherSources)
    {
        Directory.CreateDirectory(dir);
        var sources = new List<(string Key, string Value)> { ("engine-local", _feed) };
        if (includeOtherSources)
        {
            if (UserPackagesFolder() is { } cache) sources.Add(("user-packages-folder", cache));
            sources.Add(("nuget.org", "https://api.nuget.org/v3/index.json"));
        }
        var x = new StringBuilder();
        x.AppendLine("""<?xml version="1.0" encoding="utf-8"?>""");
        x.AppendLine("<configuration>");
        if (packagesFolder != null)
            x.AppendLine($"""  <config><add key="globalPackagesFolder" value="{packagesFolder}" /></config>""");
        x.AppendLine("  <packageSources>\n    <clear />");
        foreach (var (key, value) in sources) x.AppendLine($"""    <add key="{key}" value="{value}" />""");
        x.AppendLine("  </packageSources>");
        if (includeOtherSources)
        {
            x.AppendLine("  <packageSourceMapping>\n    <clear />");
            x.AppendLine("""    <packageSource key="engine-local"><package pattern="Engine.*" /></packageSource>""");
            foreach (var (key, _) in sources.Skip(1)) x.AppendLine($"""    <packageSource key="{key}"><package pattern="*" /></packageSource>""");
            x.AppendLine("  </packageSourceMapping>");
        }
        x.AppendLine("</configuration>");
        string path = Path.Combine(dir, "nuget.config");
        File.WriteAllText(path, x.ToString());
        return path;
    }

    /// <summary>The user's global packages folder (which restores of the repository fill), when it exists.</summary>
    private string? UserPackagesFolder()
    {
        var r = Dotnet(["nuget", "locals", "global-packages", "--list"], _tmp, ShortTimeout);
        var m = Regex.Match(r.Stdout, @"global-packages:\s*(.+?)\s*$", RegexOptions.Multiline);
        return r.ExitCode == 0 && m.Success && Directory.Exists(m.Groups[1].Value) ? m.Groups[1].Value : null;
    }

    private sealed record ProcessResult(string Command, int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed)
    {
        public void AssertSucceeded(string what) => Assert.That(ExitCode, Is.EqualTo(0), $"{what} failed\n{this}");

        public override string ToString() =>
            $"$ {Command}\nexit code {ExitCode} after {Elapsed.TotalSeconds:F1} s\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
    }

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    private static ProcessResult Dotnet(string[] args, string workingDirectory, TimeSpan timeout) =>
        Run(DotnetHost(), args, workingDirectory, timeout);

    /// <summary>Runs a program to its end or kills it after <paramref name="timeout"/> (a timeout fails the test with its output so far).</summary>
    private static ProcessResult Run(string program, string[] args, string workingDirectory, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        // No MSBuild nodes or build server outlive the command holding its output pipes open.
        psi.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        psi.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        // The tool's launcher finds the runtime beside the dotnet that runs these tests.
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOTNET_ROOT")) && Path.IsPathRooted(DotnetHost()))
            psi.Environment["DOTNET_ROOT"] = Path.GetDirectoryName(DotnetHost());

        string command = $"{program} {string.Join(' ', args)}  (in {workingDirectory})";
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {program}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Assert.Fail($"timed out after {timeout.TotalSeconds:F0} s\n{new ProcessResult(command, -1, Finished(stdout), Finished(stderr), clock.Elapsed)}");
        }
        // A grandchild that kept the pipes open must not hang the test: wait a little for the rest of the output.
        Task.WaitAll([stdout, stderr], TimeSpan.FromSeconds(10));
        return new ProcessResult(command, process.ExitCode, Finished(stdout), Finished(stderr), clock.Elapsed);
    }

    private static string Finished(Task<string> read) =>
        read.Wait(TimeSpan.FromSeconds(5)) ? read.Result : "(output not complete: the pipe was still open)";
}

internal static class XElementExtensions
{
    public static string? Text(this XElement parent, string child) => parent.Element(child)?.Value;
}
