using System.Numerics;
using ILGPU;

namespace Engine.Kernels.Gpu;

/// <summary>
/// Reductions across the threads of one group, by a binary tree in shared memory (the group size is a power of two;
/// the shared buffer holds one element per thread). Every thread gets the result. A tree rather than
/// warp shuffles or ILGPU.Algorithms' group reductions: it runs unchanged on CUDA, OpenCL and the CPU accelerator for
/// float and double alike, the order of additions depends only on the group size (so results are reproducible run
/// to run), and max keeps NaN, which the hardware max instructions drop.
/// </summary>
public static class GroupReduce
{
    /// <summary>The sum of <paramref name="value"/> over the group.</summary>
    public static T Sum<T>(ArrayView<T> shared, T value) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int t = Group.IdxX;
        shared[t] = value;
        Group.Barrier();
        for (int w = Group.DimX >> 1; w > 0; w >>= 1)
        {
            if (t < w) shared[t] = shared[t] + shared[t + w];
            Group.Barrier();
        }
        T r = shared[0];
        Group.Barrier(); // the buffer may be reused right away
        return r;
    }

    /// <summary>The maximum of <paramref name="value"/> over the group (NaN if any thread holds NaN).</summary>
    public static T Max<T>(ArrayView<T> shared, T value) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int t = Group.IdxX;
        shared[t] = value;
        Group.Barrier();
        for (int w = Group.DimX >> 1; w > 0; w >>= 1)
        {
            if (t < w) shared[t] = DeviceMath.Max(shared[t], shared[t + w]);
            Group.Barrier();
        }
        T r = shared[0];
        Group.Barrier();
        return r;
    }
}
