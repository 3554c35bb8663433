using System.Buffers.Binary;
using System.IO.Compression;
using Engine.Models.Data;

namespace Engine.Tests.Models;

/// <summary>The IDX reader, image data sets, the batch sampler and its binarizations, and Fashion-MNIST when installed.</summary>
[TestFixture]
public class DataTests
{
    private const double Z = 4.5;
    private string _dir = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "engine-data-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    /// <summary>An IDX file of unsigned bytes: magic 0x0000 08 rank, big-endian dimensions, data.</summary>
    private static byte[] Idx(int[] dims, byte[] data, byte type = 0x08)
    {
        var raw = new byte[4 + 4 * dims.Length + data.Length];
        raw[2] = type;
        raw[3] = (byte)dims.Length;
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(raw.AsSpan(4 + 4 * i), dims[i]);
        data.CopyTo(raw, 4 + 4 * dims.Length);
        return raw;
    }

    private static byte[] Gzip(byte[] raw)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest)) gz.Write(raw);
        return ms.ToArray();
    }

    private string Write(string name, byte[] bytes)
    {
        var p = Path.Combine(_dir, name);
        File.WriteAllBytes(p, bytes);
        return p;
    }

    private static byte[] Bytes(int n, int seed = 0) => Enumerable.Range(0, n).Select(i => (byte)((i * 37 + seed) % 256)).ToArray();

    // ------------------------------------------------------------------ IDX

    [Test]
    public void ParseReadsDimensionsAndData()
    {
        var data = Bytes(24);
        var (dims, got) = Engine.Models.Data.Idx.Parse(Idx([3, 2, 4], data), "mem");
        Assert.That(dims, Is.EqualTo(new[] { 3, 2, 4 }));
        Assert.That(got, Is.EqualTo(data));
        var (d1, g1) = Engine.Models.Data.Idx.Parse(Idx([5], Bytes(5)), "labels");
        Assert.That(d1, Is.EqualTo(new[] { 5 }));
        Assert.That(g1, Is.EqualTo(Bytes(5)));
        // Dimensions above 255 exercise the big-endian decoding.
        var (d2, _) = Engine.Models.Data.Idx.Parse(Idx([300, 1], Bytes(300)), "big");
        Assert.That(d2, Is.EqualTo(new[] { 300, 1 }));
    }

    [Test]
    public void ReadHandlesPlainAndGzipFilesByContentNotName()
    {
        var raw = Idx([2, 3, 3], Bytes(18));
        var plain = Write("images-idx3-ubyte", raw);
        var gz = Write("images-idx3-ubyte.gz", Gzip(raw));
        var gzNoSuffix = Write("compressed-without-suffix", Gzip(raw));
        var plainWithGzName = Write("not-really.gz", raw);
        foreach (var p in new[] { plain, gz, gzNoSuffix, plainWithGzName })
        {
            var (dims, data) = Engine.Models.Data.Idx.Read(p);
            Assert.That(dims, Is.EqualTo(new[] { 2, 3, 3 }), p);
            Assert.That(data, Is.EqualTo(Bytes(18)), p);
        }
    }

    [Test]
    public void ErrorsNameTheFile()
    {
        var full = Idx([3, 2, 4], Bytes(24));
        var cases = new (string Name, byte[] Bytes, string[] Expected)[]
        {
            ("truncated-data", full.AsSpan(0, full.Length - 4).ToArray(), ["24 bytes", "20"]),
            ("gz-truncated-data", Gzip(full.AsSpan(0, full.Length - 4).ToArray()), ["24 bytes", "20"]),
            ("trailing-data", [.. full, 1, 2], ["24 bytes", "26"]),
            ("truncated-header", full.AsSpan(0, 10).ToArray(), ["truncated"]),
            ("tiny", [0, 0], ["magic"]),
            ("bad-magic", [.. new byte[] { 0x50, 0x4B }, .. full.AsSpan(2).ToArray()], ["magic"]),
            ("float-type", Idx([2], new byte[8], type: 0x0D), ["0x0d"]),
            ("rank-zero", [0, 0, 8, 0], ["rank 0"]),
            ("negative-dimension", Idx([-1], []), ["negative"]),
            ("bad-gzip", [0x1f, 0x8b, 1, 2, 3, 4, 5, 6, 7, 8], ["gzip"]),
            ("cut-gzip", Gzip(full).AsSpan(0, Gzip(full).Length / 2).ToArray(), []),
        };
        foreach (var (name, bytes, expected) in cases)
        {
            var p = Write(name, bytes);
            var ex = Assert.Throws<InvalidDataException>(() => Engine.Models.Data.Idx.Read(p), name);
            Assert.That(ex!.Message, Does.Contain(p), $"{name}: {ex.Message}");
            foreach (var e in expected) Assert.That(ex.Message, Does.Contain(e), $"{name}: {ex.Message}");
        }
        var missing = Path.Combine(_dir, "missing-idx3-ubyte");
        var fnf = Assert.Throws<FileNotFoundException>(() => Engine.Models.Data.Idx.Read(missing));
        Assert.That(fnf!.Message, Does.Contain(missing));
        // Parse names whatever it is given.
        var pe = Assert.Throws<InvalidDataException>(() => Engine.Models.Data.Idx.Parse([9, 9, 9, 9], "my-buffer"));
        Assert.That(pe!.Message, Does.Contain("my-buffer"));
    }

    // ------------------------------------------------------------------ ImageDataSet

    [Test]
    public void FromIdxScalesPixelsAndReadsLabels()
    {
        var px = Bytes(5 * 2 * 3);
        var images = Write("img", Idx([5, 2, 3], px));
        var labels = Write("lbl.gz", Gzip(Idx([5], [3, 1, 4, 1, 5])));
        var ds = ImageDataSet.FromIdx(images, labels);
        Assert.That((ds.Count, ds.Height, ds.Width, ds.Dimension), Is.EqualTo((5, 2, 3, 6)));
        Assert.That(ds.Pixels, Is.EqualTo(px.Select(b => b / 255f).ToArray()));
        Assert.That(ds.Labels, Is.EqualTo(new[] { 3, 1, 4, 1, 5 }));
        Assert.That(ds.Name, Is.EqualTo("img"));

        var lim = ImageDataSet.FromIdx(images, labels, limit: 3);
        Assert.That(lim.Count, Is.EqualTo(3));
        Assert.That(lim.Pixels, Is.EqualTo(px.Take(18).Select(b => b / 255f).ToArray()));
        Assert.That(lim.Labels, Is.EqualTo(new[] { 3, 1, 4 }));
        Assert.That(ImageDataSet.FromIdx(images, null, limit: 99).Count, Is.EqualTo(5));
        Assert.That(ImageDataSet.FromIdx(images, null).Labels, Is.Null);

        var take = ds.Take(2);
        Assert.That(take.Count, Is.EqualTo(2));
        Assert.That(take.Pixels, Is.EqualTo(ds.Pixels.Take(12).ToArray()));
        Assert.That(take.Labels, Is.EqualTo(new[] { 3, 1 }));
        Assert.That(ds.Take(50).Count, Is.EqualTo(5));
    }

    [Test]
    public void FromIdxRejectsMismatchedFilesNamingThem()
    {
        var images = Write("img", Idx([5, 2, 3], Bytes(30)));
        var flat = Write("flat", Idx([5, 6], Bytes(30)));
        var fewLabels = Write("few-labels", Idx([4], Bytes(4)));
        var ex = Assert.Throws<InvalidDataException>(() => ImageDataSet.FromIdx(flat, null));
        Assert.That(ex!.Message, Does.Contain(flat).And.Contain("[5, 6]"));
        ex = Assert.Throws<InvalidDataException>(() => ImageDataSet.FromIdx(images, fewLabels));
        Assert.That(ex!.Message, Does.Contain(fewLabels).And.Contain("5 labels"));
    }

    [Test]
    public void ImageDataSetConstructorChecksSizes()
    {
        var ex = Assert.Throws<ArgumentException>(() => _ = new ImageDataSet(new float[11], 3, 2, 2, null, "odd"));
        Assert.That(ex!.Message, Does.Contain("odd").And.Contain("11").And.Contain("2x2"));
        ex = Assert.Throws<ArgumentException>(() => _ = new ImageDataSet(new float[12], 3, 2, 2, [1, 2], "labels"));
        Assert.That(ex!.Message, Does.Contain("2 labels for 3 images"));
    }

    // ------------------------------------------------------------------ BatchSampler

    private static ImageDataSet Indexed(int n, int d)
    {
        // Row i's pixels all equal (i + 1) / (n + 1): a batch's pixels reveal its rows.
        var px = new float[n * d];
        for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) px[i * d + j] = (i + 1f) / (n + 1);
        return new ImageDataSet(px, n, 1, d, null, "indexed");
    }

    [Test]
    public void EpochIsAPermutationCoveringEveryRowOnce()
    {
        const int n = 103, d = 3;
        var ds = Indexed(n, d);
        var s = new BatchSampler(ds, 10, Binarization.None, seed: 5);
        Assert.That(s.BatchesPerEpoch, Is.EqualTo(11));
        for (int epoch = 0; epoch < 3; epoch++)
        {
            var batches = s.Epoch(epoch).ToList();
            Assert.That(batches.Count, Is.EqualTo(11));
            Assert.That(batches.Take(10).All(b => b.Rows.Length == 10) && batches[10].Rows.Length == 3, Is.True);
            var rows = batches.SelectMany(b => b.Rows).ToArray();
            Assert.That(rows.OrderBy(r => r), Is.EqualTo(Enumerable.Range(0, n)), $"epoch {epoch}");
            Assert.That(rows, Is.EqualTo(s.Permutation(epoch)));
            foreach (var (pixels, rs) in batches)
                for (int i = 0; i < rs.Length; i++)
                    Assert.That(pixels.AsSpan(i * d, d).ToArray(), Is.EqualTo(ds.Pixels.AsSpan(rs[i] * d, d).ToArray()));
        }
        Assert.That(s.Epoch(0, shuffle: false).SelectMany(b => b.Rows), Is.EqualTo(Enumerable.Range(0, n)));
    }

    [Test]
    public void PermutationIsDeterministicPerSeedAndEpoch()
    {
        var ds = Indexed(200, 1);
        var a = new BatchSampler(ds, 16, Binarization.None, seed: 7);
        var b = new BatchSampler(ds, 64, Binarization.None, seed: 7); // the batch size does not enter the order
        var c = new BatchSampler(ds, 16, Binarization.None, seed: 8);
        Assert.That(b.Permutation(3), Is.EqualTo(a.Permutation(3)));
        Assert.That(new BatchSampler(ds, 16, Binarization.None, seed: 7).Permutation(3), Is.EqualTo(a.Permutation(3)), "a fresh sampler");
        Assert.That(a.Permutation(4), Is.Not.EqualTo(a.Permutation(3)));
        Assert.That(c.Permutation(3), Is.Not.EqualTo(a.Permutation(3)));
        Assert.That(a.Permutation(0), Is.Not.EqualTo(Enumerable.Range(0, 200)), "shuffled");
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new BatchSampler(ds, 0, Binarization.None, 1));
    }

    [Test]
    public void StaticBinarizationThresholdsAtOneHalf()
    {
        float[] x = [0f, 0.25f, 0.4999f, 0.5f, 0.5001f, 0.75f, 1f];
        BatchSampler.Binarize(x, Binarization.Static, seed: 1, epoch: 0, batch: 0);
        Assert.That(x, Is.EqualTo(new float[] { 0, 0, 0, 0, 1, 1, 1 }));
        float[] y = [0.3f, 0.7f];
        BatchSampler.Binarize(y, Binarization.None, 1, 0, 0);
        Assert.That(y, Is.EqualTo(new[] { 0.3f, 0.7f }));
    }

    [Test]
    public void DynamicBinarizationFrequenciesMatchIntensities()
    {
        float[] intensities = [0f, 0.02f, 0.1f, 0.25f, 0.5f, 0.6f, 0.9f, 0.99f, 1f];
        int d = intensities.Length;
        const int n = 5000;
        var px = Enumerable.Range(0, n).SelectMany(_ => intensities).ToArray();
        var ds = new ImageDataSet(px, n, 1, d, null, "intensities");
        var s = new BatchSampler(ds, n, Binarization.Dynamic, seed: 11);
        var all = Enumerable.Range(0, n).ToArray();
        var x = s.Gather(all, epoch: 2, batch: 0);
        Assert.That(x.All(v => v == 0f || v == 1f), Is.True);
        for (int j = 0; j < d; j++)
        {
            double p = intensities[j];
            double f = Enumerable.Range(0, n).Average(i => x[i * d + j]);
            double se = Math.Sqrt(p * (1 - p) / n);
            Assert.That(f, Is.EqualTo(p).Within(Z * se), $"intensity {p}: frequency {f}");
        }
        // The same (seed, epoch, batch) gives the same bits; another epoch or batch redraws them.
        Assert.That(s.Gather(all, 2, 0), Is.EqualTo(x));
        Assert.That(s.Gather(all, 3, 0), Is.Not.EqualTo(x));
        Assert.That(s.Gather(all, 2, 1), Is.Not.EqualTo(x));
        Assert.That(new BatchSampler(ds, n, Binarization.Dynamic, seed: 12).Gather(all, 2, 0), Is.Not.EqualTo(x));
        // The data set itself is untouched.
        Assert.That(ds.Pixels, Is.EqualTo(px));

        // Across epochs, one pixel of one image is redrawn independently each time with its intensity.
        var one = new BatchSampler(new ImageDataSet([0.3f], 1, 1, 1, null, "one"), 1, Binarization.Dynamic, seed: 13);
        var draws = Enumerable.Range(0, 4000).Select(e => (double)one.Epoch(e).Single().Pixels[0]).ToArray();
        double fe = draws.Average();
        Assert.That(fe, Is.EqualTo(0.3).Within(Z * Math.Sqrt(0.3 * 0.7 / draws.Length)), $"frequency over epochs {fe}");
    }

    // ------------------------------------------------------------------ Fashion-MNIST

    [Test]
    public void FashionMnistLoadsFromAFolderOfIdxFiles()
    {
        // A miniature of the real layout (two names, gzip and plain), through Locate and Load.
        Write("train-images-idx3-ubyte.gz", Gzip(Idx([6, 28, 28], Bytes(6 * 784))));
        Write("train-labels-idx1-ubyte.gz", Gzip(Idx([6], [0, 1, 2, 3, 4, 9])));
        Write("t10k-images-idx3-ubyte", Idx([2, 28, 28], Bytes(2 * 784, 5)));
        Write("t10k-labels-idx1-ubyte", Idx([2], [7, 8]));
        Assert.That(FashionMnist.Locate(_dir), Is.EqualTo(_dir));
        var f = FashionMnist.Load(_dir, trainLimit: 4);
        Assert.That(f.Train.Count, Is.EqualTo(4));
        Assert.That(f.Train.Labels, Is.EqualTo(new[] { 0, 1, 2, 3 }));
        Assert.That(f.Test.Count, Is.EqualTo(2));
        Assert.That(f.Test.Labels, Is.EqualTo(new[] { 7, 8 }));
        Assert.That(f.Test.Dimension, Is.EqualTo(784));

        File.Delete(Path.Combine(_dir, "t10k-labels-idx1-ubyte"));
        var ex = Assert.Throws<FileNotFoundException>(() => FashionMnist.Load(_dir));
        Assert.That(ex!.Message, Does.Contain("t10k-labels-idx1-ubyte").And.Contain("dataset-fashion-mnist"));
        // A folder without the files is skipped (Locate falls back on $ENGINE_DATA, then the Debian path).
        Assert.That(FashionMnist.Locate(Path.Combine(_dir, "nowhere")), Is.Not.EqualTo(Path.Combine(_dir, "nowhere")));
    }

    [Test]
    public void RealFashionMnistWhenInstalled()
    {
        var dir = FashionMnist.Locate();
        if (dir == null)
        {
            string where = $"neither $ENGINE_DATA ({Environment.GetEnvironmentVariable("ENGINE_DATA") ?? "unset"}) nor {FashionMnist.DebianPath} holds train-images-idx3-ubyte[.gz]";
            if (Environment.GetEnvironmentVariable("CI") == "true")
                Assert.Fail($"Fashion-MNIST is required in CI but missing: {where}. Install it with `apt-get install dataset-fashion-mnist` (or set ENGINE_DATA to a folder with the four IDX files).");
            Assert.Ignore($"Fashion-MNIST is not installed: {where}. Install it with `apt-get install dataset-fashion-mnist` to run this test.");
        }
        var f = FashionMnist.Load(dir!, trainLimit: 1000, testLimit: 100);
        Assert.That((f.Train.Count, f.Train.Height, f.Train.Width), Is.EqualTo((1000, 28, 28)));
        Assert.That(f.Train.Pixels.Length, Is.EqualTo(1000 * 784));
        Assert.That(f.Test.Count, Is.EqualTo(100));
        Assert.That(f.Train.Pixels.All(v => v >= 0f && v <= 1f), Is.True);
        Assert.That(f.Train.Labels, Is.Not.Null);
        Assert.That(f.Train.Labels!.All(l => l >= 0 && l < FashionMnist.ClassNames.Length), Is.True);
        // The training set is shuffled: its first thousand images cover all ten classes.
        Assert.That(f.Train.Labels!.Distinct().Count(), Is.EqualTo(10));
        // The first thousand are a random sample of the sixty thousand, whose mean intensity is 0.2860 (the figure
        // every Fashion-MNIST normalization uses): the sample's mean of per-image means agrees within its SE.
        var perImage = Enumerable.Range(0, 1000).Select(i => (double)f.Train.Pixels.AsSpan(i * 784, 784).ToArray().Average()).ToArray();
        var s = Stats.Of(perImage);
        Assert.That(s.Mean, Is.EqualTo(0.2860).Within(Z * s.Se), $"mean intensity {s}");
    }
}
