namespace Engine.Models.Data;

/// <summary>
/// Images as rows of pixel intensities in [0, 1] with optional labels: [N, Height * Width], row-major.
/// </summary>
public sealed class ImageDataSet
{
    public ImageDataSet(float[] pixels, int count, int height, int width, int[]? labels, string name)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        if (pixels.Length != (long)count * height * width)
            throw new ArgumentException($"{name}: {pixels.Length} pixels do not make {count} images of {height}x{width}.", nameof(pixels));
        if (labels != null && labels.Length != count)
            throw new ArgumentException($"{name}: {labels.Length} labels for {count} images.", nameof(labels));
        Pixels = pixels;
        Count = count;
        Height = height;
        Width = width;
        Labels = labels;
        Name = name;
    }

    public float[] Pixels { get; }
    public int Count { get; }
    public int Height { get; }
    public int Width { get; }
    public int Dimension => Height * Width;
    public int[]? Labels { get; }
    public string Name { get; }

    /// <summary>Loads an IDX image file (and optionally a label file), scaling bytes to [0, 1].</summary>
    public static ImageDataSet FromIdx(string imagesPath, string? labelsPath, int? limit = null)
    {
        var (dims, data) = Idx.Read(imagesPath);
        if (dims.Length != 3) throw new InvalidDataException($"'{imagesPath}': expected images [N, H, W]; the IDX file has dimensions [{string.Join(", ", dims)}].");
        int n = Math.Min(dims[0], limit ?? int.MaxValue), h = dims[1], w = dims[2];
        var px = new float[n * h * w];
        for (int i = 0; i < px.Length; i++) px[i] = data[i] / 255f;
        int[]? labels = null;
        if (labelsPath != null)
        {
            var (ld, lb) = Idx.Read(labelsPath);
            if (ld.Length != 1 || ld[0] != dims[0])
                throw new InvalidDataException($"'{labelsPath}': expected {dims[0]} labels; the IDX file has dimensions [{string.Join(", ", ld)}].");
            labels = lb.Take(n).Select(b => (int)b).ToArray();
        }
        return new ImageDataSet(px, n, h, w, labels, Path.GetFileName(imagesPath));
    }

    /// <summary>The first <paramref name="n"/> images.</summary>
    public ImageDataSet Take(int n)
    {
        n = Math.Min(n, Count);
        return new ImageDataSet(Pixels.AsSpan(0, n * Dimension).ToArray(), n, Height, Width, Labels?.Take(n).ToArray(), Name);
    }
}

/// <summary>The Fashion-MNIST training and test sets.</summary>
public sealed record FashionMnist(ImageDataSet Train, ImageDataSet Test)
{
    /// <summary>Where Debian's dataset-fashion-mnist package installs the files.</summary>
    public const string DebianPath = "/usr/share/datasets/fashion-mnist";

    /// <summary>The class names, by label.</summary>
    public static readonly string[] ClassNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>
    /// The folder holding the data: <paramref name="explicitDir"/> when given (and only it), else $ENGINE_DATA,
    /// else the Debian path; null when the folder looked at does not hold the files.
    /// </summary>
    public static string? Locate(string? explicitDir = null)
    {
        // An explicit folder is the only place looked at: silently training on other data would mislead.
        if (!string.IsNullOrEmpty(explicitDir)) return Find(explicitDir, "train-images-idx3-ubyte") != null ? explicitDir : null;
        foreach (var dir in new[] { Environment.GetEnvironmentVariable("ENGINE_DATA"), DebianPath })
            if (!string.IsNullOrEmpty(dir) && Find(dir, "train-images-idx3-ubyte") != null) return dir;
        return null;
    }

    /// <summary>Loads the four files from <paramref name="dir"/> (gzip or plain).</summary>
    public static FashionMnist Load(string dir, int? trainLimit = null, int? testLimit = null)
    {
        string Need(string stem) => Find(dir, stem) ?? throw new FileNotFoundException($"'{dir}' has no {stem}[.gz]; install dataset-fashion-mnist or pass --data DIR.");
        return new FashionMnist(
            ImageDataSet.FromIdx(Need("train-images-idx3-ubyte"), Need("train-labels-idx1-ubyte"), trainLimit),
            ImageDataSet.FromIdx(Need("t10k-images-idx3-ubyte"), Need("t10k-labels-idx1-ubyte"), testLimit));
    }

    private static string? Find(string dir, string stem)
    {
        foreach (var name in new[] { stem + ".gz", stem, stem.Replace("-idx", ".idx") + ".gz", stem.Replace("-idx", ".idx") })
        {
            var p = Path.Combine(dir, name);
            if (File.Exists(p)) return p;
        }
        return null;
    }
}
