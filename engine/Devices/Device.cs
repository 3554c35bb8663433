namespace Engine.Devices;

/// <summary>
/// Where tensors live and ops run. Every op goes through its device's <see cref="Backend"/>, so a new
/// device (the ILGPU backend) plugs in by implementing that contract; no op assumes the CPU. <see cref="Open"/>
/// is the one place that maps device names to devices.
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

    /// <summary>The names <see cref="Open"/> accepts, one for every backend.</summary>
    public static IReadOnlyList<string> DeviceNames { get; } = ["cpu", "gpu", "ilgpu-cpu", "cuda", "opencl"];

    /// <summary>
    /// The device named <paramref name="name"/> (case and surrounding blanks ignored), for a command line's
    /// <c>--device</c>: "cpu" is <see cref="Cpu"/>; "gpu" the first CUDA GPU, else the first OpenCL GPU, else an error;
    /// "ilgpu-cpu" ILGPU's CPU accelerator; "cuda" and "opencl" that kind only. Nothing falls back silently. ILGPU
    /// devices are opened once per process and shared (their Dispose does nothing).
    /// </summary>
    /// <exception cref="ArgumentException">The name is none of <see cref="DeviceNames"/> (the message lists them).</exception>
    /// <exception cref="InvalidOperationException">The named kind of accelerator is not present here.</exception>
    public static Device Open(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        IlgpuKind kind;
        switch (name.Trim().ToLowerInvariant())
        {
            case "cpu": return Cpu;
            case "ilgpu-cpu": kind = IlgpuKind.Cpu; break;
            case "cuda": kind = IlgpuKind.Cuda; break;
            case "opencl": kind = IlgpuKind.OpenCL; break;
            case "gpu":
                kind = IlgpuDevice.GpuKind() ?? throw new InvalidOperationException(
                    "no GPU found (neither CUDA nor an OpenCL GPU); use the cpu device, or ilgpu-cpu for ILGPU's (slow) CPU accelerator.");
                break;
            default:
                throw new ArgumentException($"Unknown device '{name}'; use one of {string.Join(", ", DeviceNames)}.", nameof(name));
        }
        try
        {
            return IlgpuDevice.Shared(kind);
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or NotSupportedException)
        {
            // A missing driver or runtime library: the device is unavailable, like one that is not present.
            throw new InvalidOperationException($"{name.Trim()} is not available here: {e.Message}", e);
        }
    }

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
