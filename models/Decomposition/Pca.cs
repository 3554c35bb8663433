using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Engine.Kernels.Cpu;

namespace Engine.Models.Decomposition;

/// <summary>
/// Principal component analysis: the leading eigenvectors of the sample covariance, so that data (for example
/// images, D = 784) can be clustered or plotted in a few dimensions. Float64 throughout; float data (pixels) are
/// widened block by block.
/// </summary>
/// <remarks>
/// The covariance (1 / (N - 1)) (X - mean)^T (X - mean) is accumulated with GEMM over blocks of rows, then
/// <see cref="LinearAlgebra.SymmetricEigen"/> (Householder tridiagonalization and implicit QL) gives its
/// eigenpairs. Forming the covariance squares the condition number, which does not matter for the leading
/// components PCA keeps. Sign convention: the entry of largest magnitude of each axis is positive (scikit-learn
/// fixes signs from the scores instead, so axes may differ from it by a sign).
/// </remarks>
public sealed class Pca
{
    private const int BlockRows = 512;

    private double[]? _mean;
    private double[] _axes = [];

    /// <summary>A PCA that keeps <paramref name="components"/> principal axes.</summary>
    public Pca(int components)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(components, 1);
        Components = components;
    }

    /// <summary>Number of principal axes kept.</summary>
    public int Components { get; }

    /// <summary>The input dimension D seen by Fit.</summary>
    public int Dimensions => Mean.Length;

    /// <summary>The per-feature mean of the training data (D).</summary>
    public double[] Mean => _mean ?? throw new InvalidOperationException("This Pca is not fitted yet: call Fit first.");

    /// <summary>The principal axes, Components x D row-major, by decreasing variance; each row has unit length.</summary>
    public double[] Axes => _mean is null ? throw new InvalidOperationException("This Pca is not fitted yet: call Fit first.") : (double[])_axes.Clone();

    /// <summary>The variance of the data along each axis (the covariance's eigenvalues), decreasing.</summary>
    public double[] ExplainedVariance { get; private set; } = [];

    /// <summary>Each axis's share of the total variance (trace of the covariance).</summary>
    public double[] ExplainedVarianceRatio { get; private set; } = [];

    /// <summary>Fits the axes to <paramref name="x"/> (rows x columns, row-major).</summary>
    public Pca Fit(ReadOnlySpan<double> x, int rows, int columns) => FitCore(x, rows, columns);

    /// <summary>Fits the axes to float data (for example pixel intensities), widened to double block by block.</summary>
    public Pca Fit(ReadOnlySpan<float> x, int rows, int columns) => FitCore(x, rows, columns);

    /// <summary>The coordinates (X - mean) A^T of each row on the axes: rows x Components, row-major.</summary>
    public double[] Transform(ReadOnlySpan<double> x, int rows, int columns) => TransformCore(x, rows, columns);

    /// <inheritdoc cref="Transform(ReadOnlySpan{double}, int, int)"/>
    public double[] Transform(ReadOnlySpan<float> x, int rows, int columns) => TransformCore(x, rows, columns);

    /// <summary>Fit, then Transform the same data.</summary>
    public double[] FitTransform(ReadOnlySpan<double> x, int rows, int columns) => Fit(x, rows, columns).Transform(x, rows, columns);

    /// <inheritdoc cref="FitTransform(ReadOnlySpan{double}, int, int)"/>
    public double[] FitTransform(ReadOnlySpan<float> x, int rows, int columns) => Fit(x, rows, columns).Transform(x, rows, columns);

    /// <summary>Maps coordinates back to the data space: mean + Z A (rows x D); exact for data in the span of the axes.</summary>
    public double[] InverseTransform(ReadOnlySpan<double> z, int rows)
    {
        double[] mean = Mean;
        int d = mean.Length, k = Components;
        if (z.Length != (long)rows * k)
            throw new ArgumentException($"z holds {z.Length} values; {rows} rows of {k} coordinates need {(long)rows * k}.", nameof(z));
        var x = new double[(long)rows * d];
        for (int i = 0; i < rows; i++) mean.CopyTo(x, i * d);
        Gemm.Compute(false, false, rows, d, k, 1.0, z, k, _axes, d, 1.0, x, d);
        return x;
    }

    private Pca FitCore<T>(ReadOnlySpan<T> x, int rows, int columns) where T : unmanaged
    {
        Check(x.Length, rows, columns);
        if (rows < 2) throw new ArgumentException($"PCA needs at least 2 rows; x has {rows}.", nameof(rows));
        if (Components > columns)
            throw new ArgumentException($"Cannot keep {Components} components of {columns}-dimensional data.", nameof(columns));
        int d = columns;
        var block = new double[BlockRows * d];

        var mean = new double[d];
        for (int r0 = 0; r0 < rows; r0 += BlockRows)
        {
            int n = Math.Min(BlockRows, rows - r0);
            Widen(x, r0, n, d, block);
            for (int i = 0; i < n; i++) TensorPrimitives.Add(mean, block.AsSpan(i * d, d), mean);
        }
        TensorPrimitives.Divide(mean, rows, mean);
        if (!double.IsFinite(TensorPrimitives.Sum<double>(mean)))
            throw new ArgumentException("x holds NaN or infinite values.", nameof(x));

        var covariance = new double[d * d];
        for (int r0 = 0; r0 < rows; r0 += BlockRows)
        {
            int n = Math.Min(BlockRows, rows - r0);
            Widen(x, r0, n, d, block);
            for (int i = 0; i < n; i++) TensorPrimitives.Subtract(block.AsSpan(i * d, d), mean, block.AsSpan(i * d, d));
            Gemm.Compute(true, false, d, d, n, 1.0, block.AsSpan(0, n * d), d, block.AsSpan(0, n * d), d, 1.0, covariance, d);
        }
        TensorPrimitives.Divide(covariance, rows - 1.0, covariance);
        double total = 0;
        for (int j = 0; j < d; j++) total += covariance[j * d + j];

        var values = new double[d];
        var vectors = new double[d * d];
        LinearAlgebra.SymmetricEigen(covariance, d, values, vectors);

        int k = Components;
        var axes = new double[k * d];
        var variance = new double[k];
        for (int c = 0; c < k; c++)
        {
            int source = d - 1 - c;   // eigenvalues ascend
            Span<double> axis = axes.AsSpan(c * d, d);
            vectors.AsSpan(source * d, d).CopyTo(axis);
            if (axis[TensorPrimitives.IndexOfMaxMagnitude<double>(axis)] < 0) TensorPrimitives.Negate<double>(axis, axis);
            variance[c] = Math.Max(0, values[source]);
        }
        _mean = mean;
        _axes = axes;
        ExplainedVariance = variance;
        ExplainedVarianceRatio = variance.Select(v => total > 0 ? v / total : 0).ToArray();
        return this;
    }

    private double[] TransformCore<T>(ReadOnlySpan<T> x, int rows, int columns) where T : unmanaged
    {
        double[] mean = Mean;
        int d = mean.Length, k = Components;
        Check(x.Length, rows, columns);
        if (columns != d) throw new ArgumentException($"x has {columns} columns, but the PCA was fitted to {d}.", nameof(columns));
        var z = new double[(long)rows * k];
        var block = new double[BlockRows * d];
        for (int r0 = 0; r0 < rows; r0 += BlockRows)
        {
            int n = Math.Min(BlockRows, rows - r0);
            Widen(x, r0, n, d, block);
            for (int i = 0; i < n; i++) TensorPrimitives.Subtract(block.AsSpan(i * d, d), mean, block.AsSpan(i * d, d));
            Gemm.Compute(false, true, n, k, d, 1.0, block.AsSpan(0, n * d), d, _axes, d, 0.0, z.AsSpan(r0 * k, n * k), k);
        }
        return z;
    }

    /// <summary>Rows [r0, r0 + n) of x as doubles in <paramref name="block"/>.</summary>
    private static void Widen<T>(ReadOnlySpan<T> x, int r0, int n, int d, double[] block) where T : unmanaged
    {
        if (typeof(T) == typeof(double))
            MemoryMarshal.Cast<T, double>(x).Slice(r0 * d, n * d).CopyTo(block);
        else if (typeof(T) == typeof(float))
            TensorPrimitives.ConvertTruncating<float, double>(MemoryMarshal.Cast<T, float>(x).Slice(r0 * d, n * d), block.AsSpan(0, n * d));
        else
            throw new NotSupportedException($"PCA takes float or double data, not {typeof(T).Name}.");
    }

    private static void Check(int length, int rows, int columns)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        if (length != (long)rows * columns)
            throw new ArgumentException($"x holds {length} values, but {rows} rows of {columns} columns need {(long)rows * columns}.", "x");
    }
}
