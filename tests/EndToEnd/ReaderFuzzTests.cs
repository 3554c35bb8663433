using System.IO.Compression;
using Engine.IO;
using Engine.Models.Data;

namespace Engine.Tests.EndToEnd;

/// <summary>
/// Files are untrusted input: random and mutated IDX and safetensors files must either load or raise the
/// documented InvalidDataException — never another exception, never a huge allocation.
/// </summary>
public class ReaderFuzzTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("engine-fuzz").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static byte[] ValidIdx()
    {
        var bytes = new List<byte> { 0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5 };
        for (int i = 0; i < 3 * 4 * 5; i++) bytes.Add((byte)(i * 7));
        return bytes.ToArray();
    }

    private static byte[] Gzip(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var z = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) z.Write(data);
        return ms.ToArray();
    }

    private byte[] ValidSafeTensors()
    {
        var path = Path.Combine(_dir, "valid.safetensors");
        SafeTensors.Save(path, new Dictionary<string, Tensor>
        {
            ["a"] = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3),
            ["b"] = Tensor.FromArray(new double[] { 7, 8 }),
        }, new Dictionary<string, string> { ["k"] = "v" });
        return File.ReadAllBytes(path);
    }

    private static IEnumerable<byte[]> Mutations(byte[] valid, int seed, int count)
    {
        var rng = new Random(seed);
        for (int i = 0; i < count; i++)
        {
            var b = (byte[])valid.Clone();
            switch (i % 4)
            {
                case 0: // flip a few bytes
                    for (int j = 0; j < 1 + rng.Next(4); j++) b[rng.Next(b.Length)] = (byte)rng.Next(256);
                    break;
                case 1: // truncate
                    b = b.AsSpan(0, rng.Next(b.Length)).ToArray();
                    break;
                case 2: // random bytes of random length
                    b = new byte[rng.Next(64)];
                    rng.NextBytes(b);
                    break;
                default: // huge numbers in the header region
                    int at = rng.Next(Math.Min(16, b.Length));
                    for (int j = at; j < Math.Min(at + 4, b.Length); j++) b[j] = 0xFF;
                    break;
            }
            yield return b;
        }
    }

    private void AssertOnlyDocumentedFailures(byte[] valid, int seed, Action<string> read)
    {
        int loaded = 0, rejected = 0;
        foreach (var bytes in Mutations(valid, seed, 400))
        {
            var path = Path.Combine(_dir, "fuzz.bin");
            File.WriteAllBytes(path, bytes);
            try
            {
                read(path);
                loaded++;
            }
            catch (InvalidDataException e)
            {
                Assert.That(e.Message, Does.Contain("fuzz.bin"), "the message names the file");
                rejected++;
            }
        }
        Assert.That(rejected, Is.GreaterThan(100), $"most mutations are rejected ({loaded} loaded)");
    }

    [Test]
    public void IdxPlainRejectsCorruptFilesWithInvalidData() =>
        AssertOnlyDocumentedFailures(ValidIdx(), 1, p => Idx.Read(p));

    [Test]
    public void IdxGzipRejectsCorruptFilesWithInvalidData() =>
        AssertOnlyDocumentedFailures(Gzip(ValidIdx()), 2, p => Idx.Read(p));

    [Test]
    public void SafeTensorsRejectsCorruptFilesWithInvalidData() =>
        AssertOnlyDocumentedFailures(ValidSafeTensors(), 3, p => SafeTensors.Load(p));

    [Test]
    public void IdxHeaderAnnouncingGigabytesIsRejectedBeforeAllocating()
    {
        // dims 65535 x 65535 x 65535 with 10 bytes of data
        var bytes = new byte[] { 0, 0, 8, 3, 0, 0, 255, 255, 0, 0, 255, 255, 0, 0, 255, 255, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
        var path = Path.Combine(_dir, "huge.idx");
        File.WriteAllBytes(path, bytes);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => Idx.Read(path));
        Assert.That(e!.Message, Does.Contain("huge.idx").And.Contain("needs"));
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.LessThan(1 << 20));
    }

    [Test]
    public void GzipTrailerAnnouncingGigabytesIsRejected()
    {
        var gz = Gzip(ValidIdx());
        gz[^1] = 0x7F; // ISIZE ~ 2 GB
        var path = Path.Combine(_dir, "bomb.gz");
        File.WriteAllBytes(path, gz);
        var e = Assert.Throws<InvalidDataException>(() => Idx.Read(path));
        Assert.That(e!.Message, Does.Contain("bomb.gz"));
    }

    [Test]
    public void SafeTensorsHeaderLengthBeyondTheFileIsRejected()
    {
        var b = ValidSafeTensors();
        BitConverter.GetBytes(long.MaxValue).CopyTo(b, 0);
        var path = Path.Combine(_dir, "long.safetensors");
        File.WriteAllBytes(path, b);
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path));
        Assert.That(e!.Message, Does.Contain("long.safetensors").And.Contain("header length"));
    }
}
