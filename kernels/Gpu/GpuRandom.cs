using ILGPU;
using ILGPU.Runtime;

namespace Engine.Kernels.Gpu;

/// <summary>
/// The random fills of <see cref="RandomKernels"/> on one accelerator, as cached typed launch delegates: each fill
/// draws the elements of the Philox stream (seed, offset) that <see cref="Cpu.RandomFill"/> draws on the CPU, and
/// consumes <see cref="Cpu.RandomFill.BlocksUsed"/> blocks, so a generator advances identically on both devices.
/// </summary>
public sealed class GpuRandom
{
    private readonly Accelerator _acc;
    private readonly LaunchGeometry _geometry;
    private readonly Lock _gate = new();
    private Action<KernelConfig, ArrayView<float>, int, ulong, ulong, float, float>? _uniformF, _normalF;
    private Action<KernelConfig, ArrayView<double>, int, ulong, ulong, double, double>? _uniformD, _normalD;

    public GpuRandom(Accelerator accelerator, LaunchGeometry geometry)
    {
        _acc = accelerator ?? throw new ArgumentNullException(nameof(accelerator));
        _geometry = geometry ?? throw new ArgumentNullException(nameof(geometry));
    }

    // Every launch passes here: the accelerator is made current on this thread first (a thread-static check when it
    // already is; CUDA contexts are per thread, so a device driven from another thread still launches correctly).
    private TDel L<TDel>(ref TDel? field, Func<Accelerator, TDel> load) where TDel : class
    {
        _acc.Bind();
        if (field is { } d) return d;
        lock (_gate) return field ??= load(_acc);
    }

    /// <summary>y[i] = low + u_i (high - low), the float uniforms of (seed, offset); (high - low) rounded to float first, as on the CPU.</summary>
    public void Uniform(ArrayView<float> y, ulong seed, ulong offset, float low, float high)
    {
        int n = checked((int)y.Length);
        if (n == 0) return;
        L(ref _uniformF, static a => a.LoadStreamKernel<ArrayView<float>, int, ulong, ulong, float, float>(RandomKernels.UniformFloat))(
            _geometry.Elementwise((n + 3) / 4), y, n, seed, offset, low, high - low);
    }

    /// <summary>y[i] = low + u_i (high - low), the double uniforms of (seed, offset).</summary>
    public void Uniform(ArrayView<double> y, ulong seed, ulong offset, double low, double high)
    {
        int n = checked((int)y.Length);
        if (n == 0) return;
        L(ref _uniformD, static a => a.LoadStreamKernel<ArrayView<double>, int, ulong, ulong, double, double>(RandomKernels.UniformDouble))(
            _geometry.Elementwise((n + 1) / 2), y, n, seed, offset, low, high - low);
    }

    /// <summary>y[i] = mean + std z_i, the float normals of (seed, offset).</summary>
    public void Normal(ArrayView<float> y, ulong seed, ulong offset, float mean, float std)
    {
        int n = checked((int)y.Length);
        if (n == 0) return;
        L(ref _normalF, static a => a.LoadStreamKernel<ArrayView<float>, int, ulong, ulong, float, float>(RandomKernels.NormalFloat))(
            _geometry.Elementwise((n + 3) / 4), y, n, seed, offset, mean, std);
    }

    /// <summary>y[i] = mean + std z_i, the double normals of (seed, offset).</summary>
    public void Normal(ArrayView<double> y, ulong seed, ulong offset, double mean, double std)
    {
        int n = checked((int)y.Length);
        if (n == 0) return;
        L(ref _normalD, static a => a.LoadStreamKernel<ArrayView<double>, int, ulong, ulong, double, double>(RandomKernels.NormalDouble))(
            _geometry.Elementwise((n + 1) / 2), y, n, seed, offset, mean, std);
    }

    /// <summary>Compiles and loads the four fills now.</summary>
    public void Preload()
    {
        using var f = _acc.Allocate1D<float>(4);
        using var d = _acc.Allocate1D<double>(2);
        Uniform(f.View.BaseView, 0, 0, 0f, 1f);
        Normal(f.View.BaseView, 0, 0, 0f, 1f);
        Uniform(d.View.BaseView, 0, 0, 0.0, 1.0);
        Normal(d.View.BaseView, 0, 0, 0.0, 1.0);
        _acc.Synchronize();
    }
}
