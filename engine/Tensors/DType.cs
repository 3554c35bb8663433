namespace Engine;

/// <summary>Element types of a tensor: float32 is the fast path, float64 serves gradient checks and EM.</summary>
public enum DType
{
    Float32,
    Float64,
}

/// <summary>Helpers on <see cref="DType"/>.</summary>
public static class DTypes
{
    /// <summary>Size of one element in bytes.</summary>
    public static int Size(this DType t) => t == DType.Float32 ? 4 : 8;

    /// <summary>The element type of a CLR type (float or double).</summary>
    public static DType Of<T>() =>
        typeof(T) == typeof(float) ? DType.Float32
        : typeof(T) == typeof(double) ? DType.Float64
        : throw new NotSupportedException($"Element type {typeof(T).Name} is not supported; use float or double.");
}
