namespace Engine.Devices;

/// <summary>
/// A block of device memory holding elements of one type. Tensors and their views share a storage;
/// a reference count decides when a pooled block goes back to its device's pool.
/// </summary>
public abstract class Storage
{
    protected Storage(Device device, DType dtype, int length)
    {
        Device = device;
        DType = dtype;
        Length = length;
    }

    /// <summary>The device that owns the memory.</summary>
    public Device Device { get; }

    /// <summary>Element type.</summary>
    public DType DType { get; }

    /// <summary>Number of elements.</summary>
    public int Length { get; }

    /// <summary>Live references from tensors that will release them (scoped tensors and views).</summary>
    internal int RefCount;
}
