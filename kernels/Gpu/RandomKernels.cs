using ILGPU;
using Engine.Kernels.Cpu;

namespace Engine.Kernels.Gpu;

/// <summary>
/// The counter-based random fills of <see cref="RandomFill"/> on the device, one thread per Philox block: thread j
/// computes block offset + j with the very same <see cref="Philox.Block"/> and word maps
/// (<see cref="RandomFill.WordToFloat"/>, <see cref="RandomFill.WordsToDouble"/>) the CPU uses, and writes the elements
/// that block defines (four floats or two doubles; a partial last block writes only what exists). Box-Muller runs in
/// double as on the CPU, pairing the uniforms inside each block. Hence a seeded fill draws the same stream on every
/// device: bit for bit for uniforms, and for normals whenever the device's double log, sin and cos round as the host's
/// (exactly so on ILGPU's CPU accelerator, which runs the runtime's own functions).
/// </summary>
public static class RandomKernels
{
    private const double TwoPi = 6.283185307179586; // 2 pi rounded to double, as RandomFill

    /// <summary>y[i] = low + u_i range with the float uniforms of the stream (seed, offset).</summary>
    public static void UniformFloat(ArrayView<float> y, int n, ulong seed, ulong offset, float low, float range)
    {
        int blocks = (n + 3) >> 2;
        for (int j = Grid.GlobalIndex.X; j < blocks; j += Grid.DimX * Group.DimX)
        {
            Words(seed, offset + (ulong)j, out uint w0, out uint w1, out uint w2, out uint w3);
            int i = j << 2;
            y[i] = low + RandomFill.WordToFloat(w0) * range;
            if (i + 1 < n) y[i + 1] = low + RandomFill.WordToFloat(w1) * range;
            if (i + 2 < n) y[i + 2] = low + RandomFill.WordToFloat(w2) * range;
            if (i + 3 < n) y[i + 3] = low + RandomFill.WordToFloat(w3) * range;
        }
    }

    /// <summary>y[i] = low + u_i range with the double uniforms of the stream.</summary>
    public static void UniformDouble(ArrayView<double> y, int n, ulong seed, ulong offset, double low, double range)
    {
        int blocks = (n + 1) >> 1;
        for (int j = Grid.GlobalIndex.X; j < blocks; j += Grid.DimX * Group.DimX)
        {
            Words(seed, offset + (ulong)j, out uint w0, out uint w1, out uint w2, out uint w3);
            int i = j << 1;
            y[i] = low + RandomFill.WordsToDouble(w0, w1) * range;
            if (i + 1 < n) y[i + 1] = low + RandomFill.WordsToDouble(w2, w3) * range;
        }
    }

    /// <summary>y[i] = mean + std z_i: block j's uniforms (u0, u1), (u2, u3) give elements 4j .. 4j + 3 by Box-Muller.</summary>
    public static void NormalFloat(ArrayView<float> y, int n, ulong seed, ulong offset, float mean, float std)
    {
        int blocks = (n + 3) >> 2;
        for (int j = Grid.GlobalIndex.X; j < blocks; j += Grid.DimX * Group.DimX)
        {
            Words(seed, offset + (ulong)j, out uint w0, out uint w1, out uint w2, out uint w3);
            int i = j << 2;
            BoxMuller(RandomFill.WordToFloat(w0), RandomFill.WordToFloat(w1), out double z0, out double z1);
            y[i] = mean + std * (float)z0;
            if (i + 1 < n) y[i + 1] = mean + std * (float)z1;
            if (i + 2 < n)
            {
                BoxMuller(RandomFill.WordToFloat(w2), RandomFill.WordToFloat(w3), out double z2, out double z3);
                y[i + 2] = mean + std * (float)z2;
                if (i + 3 < n) y[i + 3] = mean + std * (float)z3;
            }
        }
    }

    /// <summary>y[i] = mean + std z_i: block j's two double uniforms give elements 2j, 2j + 1 by Box-Muller.</summary>
    public static void NormalDouble(ArrayView<double> y, int n, ulong seed, ulong offset, double mean, double std)
    {
        int blocks = (n + 1) >> 1;
        for (int j = Grid.GlobalIndex.X; j < blocks; j += Grid.DimX * Group.DimX)
        {
            Words(seed, offset + (ulong)j, out uint w0, out uint w1, out uint w2, out uint w3);
            int i = j << 1;
            BoxMuller(RandomFill.WordsToDouble(w0, w1), RandomFill.WordsToDouble(w2, w3), out double z0, out double z1);
            y[i] = mean + std * z0;
            if (i + 1 < n) y[i + 1] = mean + std * z1;
        }
    }

    /// <summary>Block <paramref name="block"/> of the stream keyed by <paramref name="seed"/>: the CPU's definition.</summary>
    private static void Words(ulong seed, ulong block, out uint w0, out uint w1, out uint w2, out uint w3)
        => Philox.Block((uint)block, (uint)(block >> 32), 0u, 0u, (uint)seed, (uint)(seed >> 32), out w0, out w1, out w2, out w3);

    // r = sqrt(-2 ln a), t = 2 pi b: (r cos t, r sin t), in double (Math.Sin and Math.Cos, which Math.SinCos equals on the host).
    private static void BoxMuller(double a, double b, out double z0, out double z1)
    {
        double r = Math.Sqrt(-2.0 * Math.Log(a));
        double t = TwoPi * b;
        z0 = r * Math.Cos(t);
        z1 = r * Math.Sin(t);
    }
}
