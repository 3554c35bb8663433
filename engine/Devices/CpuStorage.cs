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
