namespace Engine.Models.Data;

/// <summary>How grey levels become binary pixels for a Bernoulli decoder.</summary>
public enum Binarization
{
    /// <summary>Keep intensities in [0, 1] (Gaussian decoder, or Bernoulli with soft targets).</summary>
    None,
    /// <summary>x > 0.5 once and for all.</summary>
    Static,
    /// <summary>x ~ Bernoulli(intensity), redrawn every time an image is used (Salakhutdinov and Murray 2008).</summary>
    Dynamic,
}

/// <summary>
/// Shuffled mini-batches from a seed: the permutation of epoch e and the dynamic binarization of each batch are
/// pure functions of (seed, e, batch index), so a run is reproducible and resumable at an epoch boundary.
/// </summary>
public sealed class BatchSampler
{
    private readonly ImageDataSet _data;
    private readonly ulong _seed;

    public BatchSampler(ImageDataSet data, int batchSize, Binarization binarization, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), $"Batch size must be positive; got {batchSize}.");
        _data = data;
        BatchSize = batchSize;
        Binarization = binarization;
        _seed = seed;
    }

    public int BatchSize { get; }
    public Binarization Binarization { get; }
    public int BatchesPerEpoch => (_data.Count + BatchSize - 1) / BatchSize;

    /// <summary>The permutation of epoch <paramref name="epoch"/> (Fisher-Yates driven by a seeded System.Random).</summary>
    public int[] Permutation(int epoch)
    {
        var rng = new Random(unchecked((int)(_seed * 1000003UL) ^ epoch * 7919));
        var p = Enumerable.Range(0, _data.Count).ToArray();
        for (int i = p.Length - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (p[i], p[j]) = (p[j], p[i]);
        }
        return p;
    }

    /// <summary>The batches of one epoch as (pixels [B, D] float32, row indices), in shuffled order.</summary>
    public IEnumerable<(float[] Pixels, int[] Rows)> Epoch(int epoch, bool shuffle = true)
    {
        var order = shuffle ? Permutation(epoch) : Enumerable.Range(0, _data.Count).ToArray();
        for (int b = 0; b < BatchesPerEpoch; b++)
        {
            int start = b * BatchSize, n = Math.Min(BatchSize, _data.Count - start);
            var rows = order.AsSpan(start, n).ToArray();
            yield return (Gather(rows, epoch, b), rows);
        }
    }

    /// <summary>The pixels of the given rows, binarized as configured.</summary>
    public float[] Gather(int[] rows, int epoch, int batch)
    {
        int d = _data.Dimension;
        var x = new float[rows.Length * d];
        for (int i = 0; i < rows.Length; i++) _data.Pixels.AsSpan(rows[i] * d, d).CopyTo(x.AsSpan(i * d, d));
        Binarize(x, Binarization, _seed, epoch, batch);
        return x;
    }

    /// <summary>Applies a binarization in place; dynamic draws come from Philox keyed by (seed, epoch, batch).</summary>
    public static void Binarize(float[] x, Binarization mode, ulong seed, int epoch, int batch)
    {
        switch (mode)
        {
            case Binarization.None: return;
            case Binarization.Static:
                for (int i = 0; i < x.Length; i++) x[i] = x[i] > 0.5f ? 1f : 0f;
                return;
            case Binarization.Dynamic:
                var u = new float[x.Length];
                ulong key = seed ^ 0x9E3779B97F4A7C15UL * (ulong)(epoch + 1);
                Kernels.Cpu.RandomFill.Uniform(key, (ulong)batch << 32, u, 0f, 1f);
                for (int i = 0; i < x.Length; i++) x[i] = u[i] < x[i] ? 1f : 0f;
                return;
        }
    }
}
