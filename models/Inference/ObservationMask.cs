namespace Engine.Models.Inference;

/// <summary>
/// Which entries of a batch x [B, D] are observed: 1 observed, 0 missing (the lecture's digit with its top half
/// unobserved). Held as a tensor [B, D] (or [1, D], one mask for every row) with the count of missing entries per
/// row, both made once and kept, so a likelihood restricted to the observed entries costs no extra reduction per step.
/// </summary>
public sealed class ObservationMask
{
    private readonly float[] _values;

    /// <summary>A mask from 0/1 values, row-major [rows, dimension].</summary>
    public ObservationMask(float[] values, int rows, int dimension, DType dtype = DType.Float32)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (rows <= 0 || dimension <= 0)
            throw new ArgumentOutOfRangeException(nameof(rows), $"A mask needs positive rows and dimension; got [{rows}, {dimension}].");
        if (values.Length != (long)rows * dimension)
            throw new ArgumentException($"ObservationMask: {values.Length} values do not make a mask [{rows}, {dimension}].", nameof(values));
        var missing = new double[rows];
        for (int i = 0; i < values.Length; i++)
        {
            if (values[i] != 0f && values[i] != 1f)
                throw new ArgumentException($"ObservationMask: entry {i} (row {i / dimension}, column {i % dimension}) is {values[i]}; a mask holds 0 (missing) or 1 (observed).", nameof(values));
            if (values[i] == 0f) missing[i / dimension]++;
        }
        _values = (float[])values.Clone();
        Rows = rows;
        Dimension = dimension;
        MissingPerRow = missing;
        var v = Tensor.FromArray(_values, rows, dimension);
        var m = Tensor.FromArray(missing, rows);
        Values = (dtype == DType.Float32 ? v : v.To(dtype)).Keep();
        MissingCount = (dtype == DType.Float64 ? m : m.To(dtype)).Keep();
    }

    /// <summary>Number of rows: the batch size, or 1 for a mask shared by every row.</summary>
    public int Rows { get; }

    /// <summary>Entries per row (D).</summary>
    public int Dimension { get; }

    /// <summary>The mask [Rows, D]: 1 observed, 0 missing.</summary>
    public Tensor Values { get; }

    /// <summary>Missing entries per row [Rows].</summary>
    public Tensor MissingCount { get; }

    /// <summary>Missing entries per row, as numbers.</summary>
    public IReadOnlyList<double> MissingPerRow { get; }

    /// <summary>Element type of the tensors.</summary>
    public DType DType => Values.DType;

    /// <summary>Whether entry <paramref name="column"/> of row <paramref name="row"/> is observed (a one-row mask serves every row).</summary>
    public bool IsObserved(int row, int column) => _values[(Rows == 1 ? 0 : row) * Dimension + column] != 0f;

    /// <summary>A copy of the 0/1 values, row-major.</summary>
    public float[] ToArray() => (float[])_values.Clone();

    /// <summary>The same mask with tensors of another element type.</summary>
    public ObservationMask To(DType dtype) => dtype == DType ? this : new ObservationMask(_values, Rows, Dimension, dtype);

    /// <summary>This mask repeated for <paramref name="rows"/> rows (a one-row mask only).</summary>
    public ObservationMask Repeat(int rows)
    {
        if (Rows != 1) throw new InvalidOperationException($"Repeat: only a one-row mask can be repeated; this one has {Rows} rows.");
        var v = new float[rows * Dimension];
        for (int r = 0; r < rows; r++) _values.CopyTo(v, r * Dimension);
        return new ObservationMask(v, rows, Dimension, DType);
    }

    /// <summary>
    /// x with its missing entries replaced by <paramref name="fill"/>: what an encoder trained on complete data is fed
    /// (zero imputation, as in Nazabal et al. 2020 and Mattei and Frellsen 2019).
    /// </summary>
    public Tensor Hide(Tensor x, double fill = 0)
    {
        CheckBatch(x, nameof(x));
        var m = Values.DType == x.DType ? Values : Values.To(x.DType);
        var hidden = x * m;
        return fill == 0 ? hidden : hidden + (1.0 - m) * fill;
    }

    /// <summary>The same as <see cref="Hide(Tensor, double)"/> on plain arrays (row-major [B, D]).</summary>
    public float[] Hide(float[] x, float fill = 0)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Length % Dimension != 0 || (Rows != 1 && x.Length != Rows * Dimension))
            throw new ArgumentException($"Hide: {x.Length} values do not match a mask [{Rows}, {Dimension}].", nameof(x));
        var y = (float[])x.Clone();
        for (int i = 0; i < y.Length; i++) if (!IsObserved(i / Dimension, i % Dimension)) y[i] = fill;
        return y;
    }

    internal void CheckBatch(Tensor x, string arg)
    {
        ArgumentNullException.ThrowIfNull(x, arg);
        if (x.Rank < 1 || x.Shape[-1] != Dimension || (Rows != 1 && (x.Rank < 2 || x.Shape[-2] != Rows)))
            throw new ArgumentException($"The data {x.Shape} does not match the observation mask [{Rows}, {Dimension}] (the last axes must be [{Rows}, {Dimension}], or [.., {Dimension}] for a one-row mask).", arg);
    }

    // ---------------- masks of the lecture ----------------

    /// <summary>Every entry observed.</summary>
    public static ObservationMask AllObserved(int rows, int dimension) => new(Enumerable.Repeat(1f, rows * dimension).ToArray(), rows, dimension);

    /// <summary>
    /// A rectangle of an h x w image hidden (rows [top, top + height), columns [left, left + width)), the same for
    /// every row of the batch: a one-row mask.
    /// </summary>
    public static ObservationMask HideRectangle(int imageHeight, int imageWidth, int top, int left, int height, int width)
    {
        if (imageHeight <= 0 || imageWidth <= 0) throw new ArgumentOutOfRangeException(nameof(imageHeight), $"Image size must be positive; got {imageHeight}x{imageWidth}.");
        if (top < 0 || left < 0 || height < 0 || width < 0 || top + height > imageHeight || left + width > imageWidth)
            throw new ArgumentOutOfRangeException(nameof(top), $"The rectangle rows [{top}, {top + height}) x columns [{left}, {left + width}) does not fit a {imageHeight}x{imageWidth} image.");
        var v = new float[imageHeight * imageWidth];
        for (int y = 0; y < imageHeight; y++)
            for (int x = 0; x < imageWidth; x++)
                v[y * imageWidth + x] = y >= top && y < top + height && x >= left && x < left + width ? 0f : 1f;
        return new ObservationMask(v, 1, imageHeight * imageWidth);
    }

    /// <summary>The top half of an h x w image hidden (the lecture's example).</summary>
    public static ObservationMask TopHalf(int imageHeight, int imageWidth) => HideRectangle(imageHeight, imageWidth, 0, 0, imageHeight / 2, imageWidth);

    /// <summary>
    /// Each entry of each row missing independently with probability <paramref name="missingFraction"/> (missing
    /// completely at random), drawn from the generator: a different random set of missing pixels for every row.
    /// </summary>
    public static ObservationMask MissingAtRandom(int rows, int dimension, double missingFraction, Generator gen)
    {
        ArgumentNullException.ThrowIfNull(gen);
        if (!(missingFraction >= 0 && missingFraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(missingFraction), $"The missing fraction must lie in [0, 1]; got {missingFraction}.");
        float[] u;
        using (TensorScope.Suspend()) u = Tensor.RandUniform(new Shape(rows, dimension), gen).ToFloatArray();
        var v = new float[u.Length];
        for (int i = 0; i < v.Length; i++) v[i] = u[i] < missingFraction ? 0f : 1f;
        return new ObservationMask(v, rows, dimension);
    }
}
