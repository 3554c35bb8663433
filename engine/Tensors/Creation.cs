using Engine.Devices;

namespace Engine;

// Factory functions. Shapes are given as dimensions (params span: no allocation) or as a Shape.
public sealed partial class Tensor
{
    /// <summary>A tensor of zeros.</summary>
    public static Tensor Zeros(Shape shape, DType dtype = DType.Float32, Device? device = null) => Full(shape, 0, dtype, device);

    /// <summary>A float32 tensor of zeros on the default device.</summary>
    public static Tensor Zeros(params ReadOnlySpan<int> dims) => Full(new Shape(dims), 0);

    /// <summary>A tensor of ones.</summary>
    public static Tensor Ones(Shape shape, DType dtype = DType.Float32, Device? device = null) => Full(shape, 1, dtype, device);

    /// <summary>A float32 tensor of ones on the default device.</summary>
    public static Tensor Ones(params ReadOnlySpan<int> dims) => Full(new Shape(dims), 1);

    /// <summary>A tensor with every element equal to <paramref name="value"/>.</summary>
    public static Tensor Full(Shape shape, double value, DType dtype = DType.Float32, Device? device = null)
    {
        var t = Create(shape, dtype, device ?? Device.Default);
        t.Backend.Fill(t, value);
        return t;
    }

    /// <summary>A scalar (rank-0) tensor.</summary>
    public static Tensor Scalar(double value, DType dtype = DType.Float32, Device? device = null) => Full(Shape.Scalar, value, dtype, device);

    /// <summary>A float32 tensor holding a copy of <paramref name="data"/>, shaped by <paramref name="dims"/> (default: 1-D).</summary>
    public static Tensor FromArray(float[] data, params ReadOnlySpan<int> dims) => FromSpan<float>(data, dims, null);

    /// <summary>A float64 tensor holding a copy of <paramref name="data"/>, shaped by <paramref name="dims"/> (default: 1-D).</summary>
    public static Tensor FromArray(double[] data, params ReadOnlySpan<int> dims) => FromSpan<double>(data, dims, null);

    /// <summary>A tensor holding a copy of <paramref name="data"/> on <paramref name="device"/>.</summary>
    public static Tensor FromSpan<T>(ReadOnlySpan<T> data, ReadOnlySpan<int> dims, Device? device) where T : unmanaged
    {
        var shape = dims.Length == 0 ? new Shape(data.Length) : new Shape(dims);
        if (shape.Count != data.Length)
            throw new ArgumentException($"FromArray: the data holds {data.Length} elements; shape {shape} needs {shape.Count}.", nameof(data));
        var t = Create(shape, DTypes.Of<T>(), device ?? Device.Default);
        t.Backend.CopyFrom(data, t);
        return t;
    }

    /// <summary>A 2-D tensor from a rectangular array.</summary>
    public static Tensor FromArray(double[,] data, DType dtype = DType.Float64)
    {
        int r = data.GetLength(0), c = data.GetLength(1);
        var flat = new double[r * c];
        for (int i = 0; i < r; i++) for (int j = 0; j < c; j++) flat[i * c + j] = data[i, j];
        var t = FromArray(flat, r, c);
        return dtype == DType.Float64 ? t : t.To(dtype);
    }

    /// <summary>0, 1, ..., n - 1.</summary>
    public static Tensor Arange(int n, DType dtype = DType.Float32, Device? device = null) => Arange(0, n, 1, dtype, device);

    /// <summary>start, start + step, ... below end (as NumPy's arange).</summary>
    public static Tensor Arange(double start, double end, double step = 1, DType dtype = DType.Float32, Device? device = null)
    {
        if (step == 0 || double.IsNaN(step)) throw new ArgumentException("arange: step must be non-zero.", nameof(step));
        int n = Math.Max(0, (int)Math.Ceiling((end - start) / step));
        var v = new double[n];
        for (int i = 0; i < n; i++) v[i] = start + i * step;
        var t = FromSpan<double>(v, [n], device);
        return dtype == DType.Float64 ? t : t.To(dtype);
    }

    /// <summary>Uniform samples in (low, high) from <paramref name="generator"/> (Philox 4x32-10).</summary>
    public static Tensor RandUniform(Shape shape, Generator generator, double low = 0, double high = 1, DType dtype = DType.Float32, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(generator);
        var t = Create(shape, dtype, device ?? Device.Default);
        var (seed, offset) = generator.Take(t.Backend.RandomBlocks(dtype, t.Count, normal: false));
        t.Backend.RandomUniform(t, seed, offset, low, high);
        return t;
    }

    /// <summary>Normal samples N(mean, std^2) from <paramref name="generator"/> (Philox 4x32-10, Box-Muller).</summary>
    public static Tensor RandNormal(Shape shape, Generator generator, double mean = 0, double std = 1, DType dtype = DType.Float32, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(generator);
        var t = Create(shape, dtype, device ?? Device.Default);
        var (seed, offset) = generator.Take(t.Backend.RandomBlocks(dtype, t.Count, normal: true));
        t.Backend.RandomNormal(t, seed, offset, mean, std);
        return t;
    }

    /// <summary>A copy with another element type (not recorded by autodiff).</summary>
    public Tensor To(DType dtype)
    {
        if (dtype == DType) return Detach();
        // Created with this tensor's Shape (not via FromSpan, which reads empty dims as 1-D), so a scalar stays rank 0.
        var t = Create(Shape, dtype, Device);
        if (dtype == DType.Float64) t.Backend.CopyFrom<double>(ToDoubleArray(), t);
        else t.Backend.CopyFrom<float>(ToFloatArray(), t);
        return t;
    }

    /// <summary>A zero tensor with this tensor's shape, type and device.</summary>
    public Tensor ZerosLike() => Zeros(Shape, DType, Device);
}

/// <summary>
/// A seeded source of random tensors: a Philox 4x32-10 key (the seed) and a counter offset that advances by
/// the blocks each draw consumes. The stream is a pure function of (seed, offset), so CPU and GPU draw the
/// same numbers, and saving <see cref="Offset"/> resumes the stream exactly.
/// </summary>
public sealed class Generator
{
    /// <summary>A generator at the start of the stream of <paramref name="seed"/>.</summary>
    public Generator(ulong seed, ulong offset = 0)
    {
        Seed = seed;
        Offset = offset;
    }

    /// <summary>The Philox key.</summary>
    public ulong Seed { get; }

    /// <summary>The next unused 128-bit counter block.</summary>
    public ulong Offset { get; set; }

    internal (ulong Seed, ulong Offset) Take(ulong blocks)
    {
        ulong o = Offset;
        Offset += blocks;
        return (Seed, o);
    }
}
