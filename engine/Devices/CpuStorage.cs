namespace Engine.Devices;

/// <summary>CPU memory: a managed float[] or double[].</summary>
internal sealed class CpuStorage : Storage
{
    public CpuStorage(Device device, DType dtype, Array array, int length, bool pooled) : base(device, dtype, length)
    {
        Array = array;
        Pooled = pooled;
    }

    public Array Array { get; }
    public bool Pooled { get; }
}

/// <summary>
/// Recycles CPU blocks by exact element count: a training loop asks for the same shapes every step, so
/// exact-size buckets hit every time after the first step and waste nothing.
/// </summary>
internal sealed class CpuPool
{
    private readonly Dictionary<int, Stack<CpuStorage>> _float = new();
    private readonly Dictionary<int, Stack<CpuStorage>> _double = new();
    private readonly Lock _lock = new();
    private long _bytes;

    public long Bytes => Interlocked.Read(ref _bytes);

    public CpuStorage? TryRent(DType dtype, int length)
    {
        lock (_lock)
        {
            var map = dtype == DType.Float32 ? _float : _double;
            if (map.TryGetValue(length, out var stack) && stack.Count > 0)
            {
                _bytes -= (long)length * dtype.Size();
                return stack.Pop();
            }
        }
        return null;
    }

    public void Return(CpuStorage s)
    {
        lock (_lock)
        {
            var map = s.DType == DType.Float32 ? _float : _double;
            if (!map.TryGetValue(s.Length, out var stack)) map[s.Length] = stack = new Stack<CpuStorage>();
            stack.Push(s);
            _bytes += (long)s.Length * s.DType.Size();
        }
    }
}
