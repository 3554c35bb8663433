using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Engine.IO;

namespace Engine.Tests.Core;

public class SafeTensorsTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "engine-core-st-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static readonly int[][] Shapes = [[], [3], [2, 3], [2, 1, 4], [1, 2, 3, 2]];

    private static Dictionary<string, Tensor> Sample()
    {
        var gen = new Generator(5);
        var d = new Dictionary<string, Tensor>();
        for (int r = 0; r < Shapes.Length; r++)
        {
            var shape = new Shape(Shapes[r]);
            d[$"f32.rank{r}"] = Tensor.RandNormal(shape, gen);
            d[$"f64.rank{r}"] = Tensor.RandNormal(shape, gen, dtype: DType.Float64);
        }
        d["empty"] = Tensor.Zeros(0, 4);
        return d;
    }

    [Test]
    public void RoundTripFloat32AndFloat64OfRanksZeroToFour()
    {
        var path = Path.Combine(_dir, "model.safetensors");
        var tensors = Sample();
        var meta = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "héllo \"quoted\"" };
        SafeTensors.Save(path, tensors, meta);

        var (loaded, loadedMeta) = SafeTensors.Load(path);
        Assert.That(loadedMeta, Is.EquivalentTo(meta));
        Assert.That(loaded.Keys, Is.EquivalentTo(tensors.Keys));
        foreach (var (name, t) in tensors)
        {
            var l = loaded[name];
            Assert.That(l.Shape, Is.EqualTo(t.Shape), name);
            Assert.That(l.DType, Is.EqualTo(t.DType), name);
            Assert.That(l.RequiresGrad, Is.False, name);
            if (t.DType == DType.Float32)
                Assert.That(l.ToFloatArray().Select(BitConverter.SingleToInt32Bits), Is.EqualTo(t.ToFloatArray().Select(BitConverter.SingleToInt32Bits)), name);
            else
                Assert.That(l.ToDoubleArray().Select(BitConverter.DoubleToInt64Bits), Is.EqualTo(t.ToDoubleArray().Select(BitConverter.DoubleToInt64Bits)), name);
        }
        Assert.That(loaded["f32.rank0"].Rank, Is.EqualTo(0), "a scalar stays a scalar");
    }

    [Test]
    public void FileLayoutIsValidSafetensors()
    {
        var path = Path.Combine(_dir, "layout.safetensors");
        var tensors = Sample();
        SafeTensors.Save(path, tensors, new Dictionary<string, string> { ["k"] = "v" });
        var bytes = File.ReadAllBytes(path);

        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.That(n, Is.LessThanOrEqualTo((ulong)bytes.Length - 8));
        var headerText = Encoding.UTF8.GetString(bytes, 8, (int)n);
        Assert.That(headerText[0], Is.EqualTo('{'));
        using var doc = JsonDocument.Parse(headerText);
        var root = doc.RootElement;
        Assert.That(root.GetProperty("__metadata__").GetProperty("k").GetString(), Is.EqualTo("v"));

        int dataStart = 8 + (int)n;
        long dataLen = bytes.Length - dataStart;
        var ranges = new List<(long Begin, long End)>();
        foreach (var (name, t) in tensors)
        {
            var e = root.GetProperty(name);
            Assert.That(e.GetProperty("dtype").GetString(), Is.EqualTo(t.DType == DType.Float32 ? "F32" : "F64"), name);
            var shape = e.GetProperty("shape").EnumerateArray().Select(x => x.GetInt32()).ToArray();
            Assert.That(shape, Is.EqualTo(t.Rank == 0 ? Array.Empty<int>() : t.Shape.ToArray()), name);
            var offs = e.GetProperty("data_offsets").EnumerateArray().Select(x => x.GetInt64()).ToArray();
            Assert.That(offs, Has.Length.EqualTo(2), name);
            Assert.That(offs[1] - offs[0], Is.EqualTo((long)t.Count * t.DType.Size()), name);
            Assert.That(offs[1], Is.LessThanOrEqualTo(dataLen), name);
            ranges.Add((offs[0], offs[1]));

            // the bytes at those offsets are the little-endian elements
            var span = bytes.AsSpan(dataStart + (int)offs[0], (int)(offs[1] - offs[0]));
            if (t.DType == DType.Float32)
                Assert.That(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(span).ToArray(), Is.EqualTo(t.ToFloatArray()), name);
            else
                Assert.That(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(span).ToArray(), Is.EqualTo(t.ToDoubleArray()), name);
        }
        // the data section is exactly covered, without overlaps or holes
        ranges.Sort();
        long cursor = 0;
        foreach (var (b, e) in ranges)
        {
            Assert.That(b, Is.EqualTo(cursor));
            cursor = e;
        }
        Assert.That(cursor, Is.EqualTo(dataLen));
    }

    [Test]
    public void TruncatedFileRaisesNamingTheFile()
    {
        var path = Path.Combine(_dir, "trunc.safetensors");
        SafeTensors.Save(path, Sample());
        var bytes = File.ReadAllBytes(path);

        File.WriteAllBytes(path, bytes[..(bytes.Length - 4)]); // data cut short
        var ex = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path));
        Assert.That(ex!.Message, Does.Contain(path).And.Contain("data_offsets"));

        File.WriteAllBytes(path, bytes[..40]); // header cut short
        ex = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path));
        Assert.That(ex!.Message, Does.Contain(path).And.Contain("header length"));

        File.WriteAllBytes(path, bytes[..5]); // not even the length
        ex = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path));
        Assert.That(ex!.Message, Does.Contain(path).And.Contain("8-byte"));
    }

    [Test]
    public void GarbageHeaderRaisesNamingTheFile()
    {
        var path = Path.Combine(_dir, "garbage.safetensors");
        void WriteHeader(string header)
        {
            var json = Encoding.UTF8.GetBytes(header);
            var buf = new byte[8 + json.Length];
            BinaryPrimitives.WriteUInt64LittleEndian(buf, (ulong)json.Length);
            json.CopyTo(buf, 8);
            File.WriteAllBytes(path, buf);
        }

        WriteHeader("{not json at all");
        var ex = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path));
        Assert.That(ex!.Message, Does.Contain(path).And.Contain("header"));

        WriteHeader("[1, 2, 3]");
        ex = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path));
        Assert.That(ex!.Message, Does.Contain(path).And.Contain("JSON object"));

        WriteHeader("{\"w\": {\"dtype\": \"I8\", \"shape\": [1], \"data_offsets\": [0, 1]}}");
        ex = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path));
        Assert.That(ex!.Message, Does.Contain(path).And.Contain("'w'").And.Contain("I8"));

        WriteHeader("{\"w\": {\"dtype\": \"F32\", \"shape\": [\"x\"], \"data_offsets\": [0, 4]}}");
        ex = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path));
        Assert.That(ex!.Message, Does.Contain(path).And.Contain("'w'"));

        var random = new byte[64];
        new Random(3).NextBytes(random);
        File.WriteAllBytes(path, random);
        ex = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path));
        Assert.That(ex!.Message, Does.Contain(path));
    }

    [Test]
    public void MissingFileRaisesNamingTheFile()
    {
        var path = Path.Combine(_dir, "nope.safetensors");
        var ex = Assert.Throws<FileNotFoundException>(() => SafeTensors.Load(path));
        Assert.That(ex!.Message, Does.Contain(path));
        Assert.That(ex.FileName, Is.EqualTo(path));
    }

    [Test]
    public void FailedAtomicWriteLeavesPreviousFileAndNoTemp()
    {
        var path = Path.Combine(_dir, "state.bin");
        AtomicFile.WriteAllText(path, "old content");

        var ex = Assert.Throws<IOException>(() => AtomicFile.Write(path, s =>
        {
            s.Write(Encoding.UTF8.GetBytes("new half-written"));
            throw new IOException("disk full (simulated)");
        }));
        Assert.That(ex!.Message, Does.Contain("simulated"));
        Assert.That(File.ReadAllText(path), Is.EqualTo("old content"));
        Assert.That(Directory.GetFiles(_dir).Select(Path.GetFileName), Is.EquivalentTo(new[] { "state.bin" }), "no temporary file left");

        AtomicFile.WriteAllText(path, "new content");
        Assert.That(File.ReadAllText(path), Is.EqualTo("new content"));
        Assert.That(Directory.GetFiles(_dir), Has.Length.EqualTo(1));
    }

    [Test]
    public void FailedSafeTensorsSaveLeavesPreviousFileIntact()
    {
        var path = Path.Combine(_dir, "ckpt.safetensors");
        var good = new Dictionary<string, Tensor> { ["a"] = Tensor.FromArray(new float[] { 1, 2, 3 }) };
        SafeTensors.Save(path, good);
        var before = File.ReadAllBytes(path);

        // A tensor released by its scope fails while the data section is being written.
        Tensor released;
        using (TensorScope.Begin()) released = Tensor.Ones(1000);
        var bad = new Dictionary<string, Tensor> { ["a"] = Tensor.Ones(1000), ["b"] = released };
        Assert.Throws<ObjectDisposedException>(() => SafeTensors.Save(path, bad));

        Assert.That(File.ReadAllBytes(path), Is.EqualTo(before));
        Assert.That(Directory.GetFiles(_dir), Has.Length.EqualTo(1), "no temporary file left");
        Assert.That(SafeTensors.Load(path).Tensors["a"].ToFloatArray(), Is.EqualTo(new float[] { 1, 2, 3 }));
    }

    [Test]
    public void SaveIntoNewFolderAndOverwrite()
    {
        var path = Path.Combine(_dir, "sub", "deeper", "x.safetensors");
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["x"] = Tensor.Full(new Shape(2), 1) });
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["y"] = Tensor.Full(new Shape(3), 2, DType.Float64) });
        var (t, meta) = SafeTensors.Load(path);
        Assert.That(t.Keys, Is.EquivalentTo(new[] { "y" }));
        Assert.That(t["y"].ToDoubleArray(), Is.EqualTo(new double[] { 2, 2, 2 }));
        Assert.That(meta, Is.Empty);
        var ex = Assert.Throws<ArgumentException>(() => SafeTensors.Save(path, new Dictionary<string, Tensor> { ["__metadata__"] = Tensor.Zeros(1) }));
        Assert.That(ex!.Message, Does.Contain("__metadata__"));
    }
}
