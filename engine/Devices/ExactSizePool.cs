namespace Engine.Devices;

/// <summary>
/// Recycles storage blocks by element type and exact element count: a training loop asks for the same shapes
/// every step, so exact-size buckets hit every time after the first step and waste nothing. Each device
/// backend keeps one (host arrays on the CPU, device buffers on ILGPU).
/// </summary>
internal sealed class ExactSizePool<TStorage> where TStorage : Storage
{
    private readonly Dictionary<int, Stack<TStorage>> _float = new();
    private readonly Dictionary<int, Stack<TStorage>> _double = new();
    private readonly Lock _lock = new();
    private long _bytes;

    /// <summary>Bytes held by pooled blocks.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>A pooled block of exactly <paramref name="length"/> elements, or null.</summary>
    public TStorage? TryRent(DType dtype, int length)
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

    /// <summary>Puts a block back for reuse.</summary>
    public void Return(TStorage s)
    {
        lock (_lock)
        {
            var map = s.DType == DType.Float32 ? _float : _double;
            if (!map.TryGetValue(s.Length, out var stack)) map[s.Length] = stack = new Stack<TStorage>();
            stack.Push(s);
            _bytes += (long)s.Length * s.DType.Size();
        }
    }

    /// <summary>Empties the pool, handing every block to <paramref name="free"/> (device buffers must be disposed).</summary>
    public void Clear(Action<TStorage>? free = null)
    {
        lock (_lock)
        {
            foreach (var map in new[] { _float, _double })
            {
                foreach (var stack in map.Values)
                    while (stack.Count > 0)
                    {
                        var s = stack.Pop();
                        free?.Invoke(s);
                    }
                map.Clear();
            }
            _bytes = 0;
        }
    }
}
