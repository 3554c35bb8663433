using ILGPU;
using ILGPU.Runtime;
using System.Runtime.CompilerServices;

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

    /// <summary>The whole buffer as <typeparamref name="T"/>, its element type (float or double).</summary>
    public ArrayView<T> View<T>() where T : unmanaged =>
        typeof(T) == typeof(float) ? Unsafe.BitCast<ArrayView<float>, ArrayView<T>>(Floats) : Unsafe.BitCast<ArrayView<double>, ArrayView<T>>(Doubles);
}
