using ILGPU;
using ILGPU.Runtime;

namespace Engine.Devices;

/// <summary>Device memory of an <see cref="IlgpuDevice"/>: one ILGPU buffer of float or double.</summary>
internal sealed class IlgpuStorage : Storage
{
    public IlgpuStorage(Device device, DType dtype, MemoryBuffer buffer, int length, bool pooled) : base(device, dtype, length)
    {
        Buffer = buffer;
        Pooled = pooled;
        if (buffer is MemoryBuffer1D<float, Stride1D.Dense> f) Floats = f.View.BaseView;
        else Doubles = ((MemoryBuffer1D<double, Stride1D.Dense>)buffer).View.BaseView;
    }

    public MemoryBuffer Buffer { get; }
    public bool Pooled { get; }

    /// <summary>The whole buffer as floats (Float32 storage only).</summary>
    public ArrayView<float> Floats { get; }

    /// <summary>The whole buffer as doubles (Float64 storage only).</summary>
    public ArrayView<double> Doubles { get; }
}

/// <summary>
/// Recycles device blocks by exact element count, as <see cref="CpuPool"/> does on the host: a training loop asks for
/// the same shapes every step, so after the first step no device allocation (a driver call) happens at all.
/// </summary>
internal sealed class IlgpuPool
{
    private readonly Dictionary<int, Stack<IlgpuStorage>> _float = new();
    private readonly Dictionary<int, Stack<IlgpuStorage>> _double = new();
    private readonly Lock _lock = new();
    private long _bytes;

    public long Bytes => Interlocked.Read(ref _bytes);

    public IlgpuStorage? TryRent(DType dtype, int length)
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

    public void Return(IlgpuStorage s)
    {
        lock (_lock)
        {
            var map = s.DType == DType.Float32 ? _float : _double;
            if (!map.TryGetValue(s.Length, out var stack)) map[s.Length] = stack = new Stack<IlgpuStorage>();
            stack.Push(s);
            _bytes += (long)s.Length * s.DType.Size();
        }
    }

    /// <summary>Frees every pooled block.</summary>
    public void Clear()
    {
        lock (_lock)
        {
            foreach (var map in new[] { _float, _double })
            {
                foreach (var stack in map.Values)
                    while (stack.Count > 0) stack.Pop().Buffer.Dispose();
                map.Clear();
            }
            _bytes = 0;
        }
    }
}
