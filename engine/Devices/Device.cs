namespace Engine.Devices;

/// <summary>
/// Where tensors live and ops run. Every op goes through its device's <see cref="Backend"/>, so a new
/// device (the ILGPU backend) plugs in by implementing that contract; no op assumes the CPU.
/// </summary>
public abstract class Device
{
    /// <summary>A short name, e.g. "cpu".</summary>
    public abstract string Name { get; }

    /// <summary>The kernels this device runs.</summary>
    public abstract Backend Backend { get; }

    /// <summary>The process-wide CPU device.</summary>
    public static Device Cpu => CpuDevice.Instance;

    /// <summary>The device new tensors go to when none is named (the CPU).</summary>
    public static Device Default => CpuDevice.Instance;

    public override string ToString() => Name;
}

/// <summary>The CPU: SIMD kernels from Engine.Kernels.Cpu on managed arrays.</summary>
public sealed class CpuDevice : Device
{
    internal static readonly CpuDevice Instance = new();
    private readonly CpuBackend _backend;

    private CpuDevice() => _backend = new CpuBackend(this);

    public override string Name => "cpu";
    public override Backend Backend => _backend;
}
