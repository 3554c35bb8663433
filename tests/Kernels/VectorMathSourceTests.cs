namespace Engine.Tests.Kernels;

/// <summary>
/// kernels/Cpu/VectorMath256.cs is generated from VectorMath512.cs by replacing Vector512 with Vector256 and adding
/// a two-line header. This regenerates it from the 512 source the same way and fails when the checked-in file has
/// drifted (an edit of one width only).
/// </summary>
public class VectorMathSourceTests
{
    private const string Header =
        "// GENERATED from VectorMath512.cs by: sed 's/Vector512/Vector256/g' VectorMath512.cs (plus these two lines);\n" +
        "// VectorMathSourceTests regenerates it the same way and fails when the two drift: edit VectorMath512.cs only.\n";

    [Test]
    public void VectorMath256_IsVectorMath512WithTheWidthReplaced()
    {
        string dir = Path.Combine(RepositoryRoot(), "kernels", "Cpu");
        string wide = Read(Path.Combine(dir, "VectorMath512.cs"));
        string narrow = Read(Path.Combine(dir, "VectorMath256.cs"));
        Assert.That(wide, Does.Contain("Vector512"));
        string expected = Header + wide.Replace("Vector512", "Vector256", StringComparison.Ordinal);
        Assert.That(narrow, Is.EqualTo(expected),
            "VectorMath256.cs differs from VectorMath512.cs with Vector512 replaced by Vector256: edit VectorMath512.cs and regenerate with "
            + "(head -2 VectorMath256.cs; sed 's/Vector512/Vector256/g' VectorMath512.cs) > VectorMath256.cs.new");
    }

    private static string Read(string path) => File.ReadAllText(path).Replace("\r\n", "\n", StringComparison.Ordinal);

    private static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Engine.sln"))) return d.FullName;
        Assert.Fail($"no Engine.sln above {TestContext.CurrentContext.TestDirectory}");
        return null!;
    }
}
