using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace Engine.Devices;

/// <summary>The kinds of ILGPU accelerator a device can run on.</summary>
public enum IlgpuKind
{
    /// <summary>An NVIDIA GPU through CUDA (PTX).</summary>
    Cuda,
    /// <summary>A GPU through OpenCL (C kernels; double needs the cl_khr_fp64 extension).</summary>
    OpenCL,
    /// <summary>ILGPU's CPU accelerator: a slow, single-stepping simulator of the GPU model, for tests without a GPU.</summary>
    Cpu,
}

/// <summary>Host-device copies counted by an <see cref="IlgpuDevice"/>: calls and bytes in each direction.</summary>
public readonly record struct TransferCounts(long ToDevice, long ToHost, long BytesToDevice, long BytesToHost)
{
    /// <summary>Copies in either direction.</summary>
    public long Total => ToDevice + ToHost;
}

/// <summary>
/// A device backed by an ILGPU accelerator: tensors live in its memory and every op runs as a device kernel
/// (Engine.Kernels.Gpu). Nothing picks a device silently: <see cref="Create"/> takes an explicit kind,
/// <see cref="Device.Open"/> a name ("cpu", "gpu", "ilgpu-cpu", "cuda", "opencl"), and "gpu" means CUDA when present,
/// else an OpenCL GPU, else an error (ILGPU's CPU accelerator only when asked for by name).
/// </summary>
/// <remarks>
/// <para>Kernels are compiled on first use and cached for the device's lifetime; launches go through preloaded,
/// typed delegates on the accelerator's default stream, in order, so ops return before their kernels finish and a
/// host read (<see cref="Tensor.ToFloatArray"/>, <see cref="Tensor.Item"/>) waits for them.</para>
/// <para>Every copy between host and device memory is counted in <see cref="Transfers"/>: creating a tensor from host
/// data, reading one back, the index lists of GatherRows/ScatterAddRows (uploaded inside the call), and the scalars
/// that SumOfSquares (gradient clipping) and AllFinite (anomaly mode) return. A training step of fills, kernels and
/// optimizer updates copies nothing.</para>
/// <para>Memory: tensors made inside a <see cref="TensorScope"/> recycle their device blocks through an exact-size pool;
/// others are freed when collected (ILGPU's finalizers) or when the device is disposed.</para>
/// </remarks>
public sealed class IlgpuDevice : Device, IDisposable
{
    private static readonly Lock s_openGate = new();
    private static readonly Dictionary<IlgpuKind, IlgpuDevice> s_opened = new();

    private readonly Context _context;
    private readonly IlgpuBackend _backend;
    private long _toDevice, _toHost, _bytesToDevice, _bytesToHost;
    private bool _disposed;

    private IlgpuDevice(IlgpuKind kind, Context context, Accelerator accelerator, bool shared)
    {
        Kind = kind;
        _context = context;
        Accelerator = accelerator;
        IsShared = shared;
        _backend = new IlgpuBackend(this, accelerator);
    }

    /// <summary>The accelerator kind.</summary>
    public IlgpuKind Kind { get; }

    /// <summary>The ILGPU accelerator (for interop such as cuBLAS; ops never need it).</summary>
    public Accelerator Accelerator { get; }

    /// <summary>True for the process-wide devices <see cref="Device.Open"/> returns, which <see cref="Dispose"/> leaves alone.</summary>
    public bool IsShared { get; }

    /// <inheritdoc/>
    public override string Name => Kind switch { IlgpuKind.Cuda => "cuda", IlgpuKind.OpenCL => "opencl", _ => "ilgpu-cpu" };

    /// <inheritdoc/>
    public override Backend Backend => _backend;

    /// <summary>The accelerator's own description (model, memory).</summary>
    public string Description => Kind == IlgpuKind.Cpu
        ? $"{Name}: {Accelerator.Name} (a simulator of the GPU model; groups of up to {Accelerator.MaxNumThreadsPerGroup} threads)"
        : $"{Name}: {Accelerator.Name} ({Accelerator.MemorySize / (1 << 20)} MiB, {Accelerator.NumMultiprocessors} multiprocessors, warp {Accelerator.WarpSize})";

    /// <summary>Host-device copies since creation or the last <see cref="ResetTransfers"/>.</summary>
    public TransferCounts Transfers => new(Interlocked.Read(ref _toDevice), Interlocked.Read(ref _toHost), Interlocked.Read(ref _bytesToDevice), Interlocked.Read(ref _bytesToHost));

    /// <summary>Sets the transfer counters to zero.</summary>
    public void ResetTransfers()
    {
        Interlocked.Exchange(ref _toDevice, 0);
        Interlocked.Exchange(ref _toHost, 0);
        Interlocked.Exchange(ref _bytesToDevice, 0);
        Interlocked.Exchange(ref _bytesToHost, 0);
    }

    internal void CountToDevice(long bytes)
    {
        Interlocked.Increment(ref _toDevice);
        Interlocked.Add(ref _bytesToDevice, bytes);
    }

    internal void CountToHost(long bytes)
    {
        Interlocked.Increment(ref _toHost);
        Interlocked.Add(ref _bytesToHost, bytes);
    }

    /// <summary>Waits until every enqueued kernel and copy has finished (benchmarks time with it).</summary>
    public void Synchronize() => Accelerator.Synchronize();

    /// <summary>Compiles every kernel now instead of on first use (a GPU run's start-up, benchmarks' setup).</summary>
    public void Preload() => _backend.Preload();

    /// <summary>Number of kernels compiled so far; each is compiled at most once per device.</summary>
    public int CompiledKernels => _backend.CompiledKernels;

    /// <summary>The Gaussian-mixture EM kernels of this device (the models layer's device EM launches them).</summary>
    internal Engine.Kernels.Gpu.GpuMixtureKernels MixtureKernels => _backend.MixtureKernels;

    /// <summary>Frees the pooled (recycled) device blocks.</summary>
    public void TrimPool() => _backend.TrimPool();

    // ---------------------------------------------------------------- creation

    /// <summary>ILGPU's CPU accelerator shape <see cref="Create"/> and <see cref="Device.Open"/> use: 8 threads per warp, 8 warps,
    /// one multiprocessor (groups of up to 64 threads). Small shapes simulate fastest: a launch costs about 0.3 ms here,
    /// 20 ms at 16 x 16 x 2.</summary>
    public static readonly (int WarpSize, int WarpsPerProcessor, int Processors) DefaultCpuSimulation = (8, 8, 1);

    /// <summary>
    /// A new device on ILGPU's CPU accelerator with groups of up to <paramref name="warpSize"/> x
    /// <paramref name="warpsPerProcessor"/> threads (the 256-thread GEMM tiles need 256).
    /// </summary>
    public static IlgpuDevice CreateCpu(int warpSize, int warpsPerProcessor, int processors = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(warpSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(warpsPerProcessor, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(processors, 1);
        var context = CreateContext(IlgpuKind.Cpu, (warpSize, warpsPerProcessor, processors));
        try
        {
            return new IlgpuDevice(IlgpuKind.Cpu, context, context.CreateCPUAccelerator(0), shared: false);
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A new device on the <paramref name="index"/>-th accelerator of <paramref name="kind"/> (the caller disposes it).
    /// </summary>
    /// <exception cref="InvalidOperationException">No accelerator of that kind (with that index) exists here.</exception>
    public static IlgpuDevice Create(IlgpuKind kind, int index = 0)
    {
        if (index < 0) throw new ArgumentOutOfRangeException(nameof(index), index, "The accelerator index must be non-negative.");
        return CreateCore(kind, index, shared: false);
    }

    private static IlgpuDevice CreateCore(IlgpuKind kind, int index, bool shared)
    {
        Context? context = null;
        try
        {
            context = CreateContext(kind, DefaultCpuSimulation);
            Accelerator acc = kind switch
            {
                IlgpuKind.Cuda => context.GetCudaDevices().Count > index
                    ? context.CreateCudaAccelerator(index)
                    : throw new InvalidOperationException($"No CUDA GPU #{index} found ({context.GetCudaDevices().Count} present). Use IlgpuKind.OpenCL or Cpu, or the CPU device."),
                IlgpuKind.OpenCL => GpuCLDevices(context).Count > index
                    ? GpuCLDevices(context)[index].CreateCLAccelerator(context)
                    : throw new InvalidOperationException($"No OpenCL GPU #{index} found ({GpuCLDevices(context).Count} present). Use IlgpuKind.Cuda or Cpu, or the CPU device."),
                _ => context.CreateCPUAccelerator(0),
            };
            return new IlgpuDevice(kind, context, acc, shared);
        }
        catch
        {
            context?.Dispose();
            throw;
        }
    }

    private static Context CreateContext(IlgpuKind kind, (int WarpSize, int WarpsPerProcessor, int Processors) cpu)
    {
        Context Build(bool libDevice) => Context.Create(b =>
        {
            switch (kind)
            {
                case IlgpuKind.Cuda: b.Cuda(); break;
                case IlgpuKind.OpenCL: b.OpenCL(); break;
                default:
                    b.CPU(new CPUDevice(cpu.WarpSize, cpu.WarpsPerProcessor, cpu.Processors));
                    break;
            }
            // XMath (ILGPU.Algorithms) supplies double log/sin/cos where the backend has no instruction for them.
            b.EnableAlgorithms().Optimize(OptimizationLevel.O1);
            // With the CUDA SDK present, libdevice's correctly rounded-in-practice double math replaces XMath, so
            // Box-Muller normals match the CPU's bit for bit in all but a vanishing fraction of elements.
            if (libDevice) b.LibDevice();
        });
        if (kind != IlgpuKind.Cuda) return Build(false);
        try
        {
            return Build(true);
        }
        catch (Exception)
        {
            // No CUDA SDK (CUDA_HOME unset, libdevice or NVVM missing): XMath's double functions instead. A real
            // problem with the GPU itself surfaces from the plain build below.
            return Build(false);
        }
    }

    private static List<CLDevice> GpuCLDevices(Context context)
    {
        var gpus = new List<CLDevice>();
        foreach (var d in context.GetCLDevices())
            if (d.DeviceType == CLDeviceType.CL_DEVICE_TYPE_GPU) gpus.Add(d);
        return gpus;
    }

    /// <summary>Whether an accelerator of <paramref name="kind"/> exists on this machine (CPU: always).</summary>
    public static bool IsAvailable(IlgpuKind kind)
    {
        if (kind == IlgpuKind.Cpu) return true;
        try
        {
            using var context = Context.Create(b =>
            {
                if (kind == IlgpuKind.Cuda) b.Cuda(); else b.OpenCL();
            });
            return kind == IlgpuKind.Cuda ? context.GetCudaDevices().Count > 0 : GpuCLDevices(context).Count > 0;
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or NotSupportedException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>The GPU kind present here, CUDA first, then OpenCL; null when there is none.</summary>
    public static IlgpuKind? GpuKind() =>
        IsAvailable(IlgpuKind.Cuda) ? IlgpuKind.Cuda : IsAvailable(IlgpuKind.OpenCL) ? IlgpuKind.OpenCL : null;

    /// <summary>The process-wide device of <paramref name="kind"/> that <see cref="Device.Open"/> returns (created on first use).</summary>
    internal static IlgpuDevice Shared(IlgpuKind kind)
    {
        lock (s_openGate)
        {
            if (!s_opened.TryGetValue(kind, out var d)) s_opened[kind] = d = CreateCore(kind, 0, shared: true);
            return d;
        }
    }

    /// <summary>Releases the accelerator and its memory; tensors of this device are unusable afterwards. No-op for shared devices.</summary>
    public void Dispose()
    {
        if (IsShared || _disposed) return;
        _disposed = true;
        _backend.Dispose();
        Accelerator.Dispose();
        _context.Dispose();
    }

    public override string ToString() => Description;
}
