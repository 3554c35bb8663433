using ILGPU;
using ILGPU.Runtime;

namespace Engine.Kernels.Gpu;

/// <summary>
/// How kernels are laid out on one accelerator: the group size of elementwise and row kernels and how many groups a
/// grid-stride launch uses (enough to fill every multiprocessor a few times over; more only adds scheduling).
/// </summary>
public sealed class LaunchGeometry
{
    public LaunchGeometry(Accelerator accelerator)
    {
        ArgumentNullException.ThrowIfNull(accelerator);
        int max = accelerator.MaxNumThreadsPerGroup;
        GroupSize = FloorPow2(Math.Min(256, max));
        MinRowGroup = Math.Min(GroupSize, FloorPow2(Math.Max(1, accelerator.WarpSize)));
        MaxThreadsPerGroup = max;
        int perMp = Math.Max(1, accelerator.MaxNumThreadsPerMultiprocessor / GroupSize);
        MaxGroups = Math.Max(1, accelerator.NumMultiprocessors * perMp * 2);
    }

    /// <summary>Threads per group of elementwise kernels (a power of two).</summary>
    public int GroupSize { get; }

    /// <summary>Smallest group a row kernel uses (the warp size): short rows get small groups.</summary>
    public int MinRowGroup { get; }

    /// <summary>Largest group the accelerator runs.</summary>
    public int MaxThreadsPerGroup { get; }

    /// <summary>Groups of a grid-stride launch over many elements.</summary>
    public int MaxGroups { get; }

    /// <summary>A grid-stride launch over <paramref name="n"/> items, one thread each.</summary>
    public KernelConfig Elementwise(int n)
        => new(Math.Clamp((int)(((long)n + GroupSize - 1) / GroupSize), 1, MaxGroups), GroupSize);

    /// <summary>A launch with a group per row (grid-stride over <paramref name="rows"/>), a power-of-two group no wider
    /// than the row needs, and one element of shared memory per thread.</summary>
    public KernelConfig Rows<T>(int rows, int rowLength) where T : unmanaged
    {
        int g = MinRowGroup;
        while (g < rowLength && g < GroupSize) g <<= 1;
        return new KernelConfig(new Index3D(Math.Clamp(rows, 1, MaxGroups * 4), 1, 1), new Index3D(g, 1, 1), SharedMemoryConfig.RequestDynamic<T>(g));
    }

    /// <summary>One group of at most <see cref="GroupSize"/> threads with a shared element per thread (final reductions).</summary>
    public KernelConfig SingleGroup<T>() where T : unmanaged
        => new(new Index3D(1, 1, 1), new Index3D(GroupSize, 1, 1), SharedMemoryConfig.RequestDynamic<T>(GroupSize));

    /// <summary>A grid-stride launch whose groups each reduce into shared memory (one element per thread).</summary>
    public KernelConfig ElementwiseWithShared<T>(int n) where T : unmanaged
        => new(new Index3D(Math.Clamp((int)(((long)n + GroupSize - 1) / GroupSize), 1, MaxGroups), 1, 1), new Index3D(GroupSize, 1, 1),
            SharedMemoryConfig.RequestDynamic<T>(GroupSize));

    private static int FloorPow2(int v)
    {
        int p = 1;
        while (p * 2 <= v) p *= 2;
        return p;
    }
}
