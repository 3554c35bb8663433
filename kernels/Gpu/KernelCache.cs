using ILGPU.Runtime;

namespace Engine.Kernels.Gpu;

/// <summary>
/// Compiles each kernel of an accelerator on first use and keeps its typed launch delegate for the accelerator's
/// lifetime (ILGPU compiles a kernel in tens to hundreds of milliseconds; a launch through the cached delegate costs
/// microseconds). Loading is guarded, so first uses on several threads may race safely.
/// </summary>
internal sealed class KernelCache(Accelerator accelerator)
{
    private readonly Lock _gate = new();

    /// <summary>The accelerator the kernels are compiled for.</summary>
    public Accelerator Accelerator { get; } = accelerator ?? throw new ArgumentNullException(nameof(accelerator));

    /// <summary>Number of kernels compiled and loaded so far (each at most once).</summary>
    public int LoadedCount { get; private set; }

    /// <summary>
    /// The delegate in <paramref name="field"/>, loading it with <paramref name="load"/> the first time. The accelerator
    /// is made current on the calling thread first (a thread-static check when it already is; CUDA contexts are per
    /// thread, so a device driven from another thread still launches correctly).
    /// </summary>
    public TDel Get<TDel>(ref TDel? field, Func<Accelerator, TDel> load) where TDel : class
    {
        Accelerator.Bind();
        if (field is { } d) return d;
        lock (_gate)
        {
            if (field is null)
            {
                field = load(Accelerator);
                LoadedCount++;
            }
            return field;
        }
    }
}
