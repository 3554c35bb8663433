using System.Numerics;
using Engine.Kernels.Rules;
using ILGPU;

namespace Engine.Kernels.Gpu;

/// <summary>
/// The fused VAE kernels of <see cref="Cpu.Fused"/> and <see cref="Cpu.LossGradients"/> on the device: row losses with
/// a group per row (terms as in <see cref="Reference.ReferenceFused"/>, summed by a tree), their gradients one thread
/// per element, and the Adam/AdamW step. Optional outputs are switched by 0/1 flags (their views are then never
/// touched), so every kernel has one fixed signature.
/// </summary>
public static class FusedKernels
{
    /// <summary>out[r] = sum_c [max(l, 0) - l t + ln(1 + e^-|l|)] over row r of [rows, cols].</summary>
    public static void BceWithLogitsRows<T>(ArrayView<T> logits, ArrayView<T> targets, ArrayView<T> outRows, int rows, int cols)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var shared = SharedMemory.GetDynamic<T>();
        for (int r = Grid.IdxX; r < rows; r += Grid.DimX)
        {
            int b = r * cols;
            T s = T.Zero;
            for (int c = Group.IdxX; c < cols; c += Group.DimX) s += DeviceMath.BceTerm(logits[b + c], targets[b + c]);
            s = GroupReduce.Sum(shared, s);
            if (Group.IdxX == 0) outRows[r] = s;
        }
    }

    /// <summary>out[r] = -1/2 sum_c [(ln 2pi + logvar) + (x - mu)^2 e^-logvar]; <paramref name="log2Pi"/> and
    /// <paramref name="minusHalf"/> come rounded to T from the host, as the CPU rounds them.</summary>
    public static void GaussianLogDensityRows<T>(ArrayView<T> x, ArrayView<T> mu, ArrayView<T> logvar, ArrayView<T> outRows, int rows, int cols, T log2Pi, T minusHalf)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var shared = SharedMemory.GetDynamic<T>();
        for (int r = Grid.IdxX; r < rows; r += Grid.DimX)
        {
            int b = r * cols;
            T s = T.Zero;
            for (int c = Group.IdxX; c < cols; c += Group.DimX)
            {
                int i = b + c;
                T d = x[i] - mu[i];
                s += (log2Pi + logvar[i]) + d * d * T.Exp(-logvar[i]);
            }
            s = GroupReduce.Sum(shared, s);
            if (Group.IdxX == 0) outRows[r] = minusHalf * s;
        }
    }

    /// <summary>dLogits += dy[r] (sigmoid(l) - t) (flag <paramref name="hasDLogits"/>); dTargets -= dy[r] l (flag <paramref name="hasDTargets"/>).</summary>
    public static void BceWithLogitsRowsBackward<T>(ArrayView<T> logits, ArrayView<T> targets, ArrayView<T> dyRows, ArrayView<T> dLogits, ArrayView<T> dTargets,
        int rows, int cols, int hasDLogits, int hasDTargets) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int total = rows * cols;
        for (int i = Grid.GlobalIndex.X; i < total; i += Grid.DimX * Group.DimX)
        {
            T g = dyRows[i / cols];
            if (hasDLogits != 0) dLogits[i] += g * (UnaryRules.Sigmoid(logits[i]) - targets[i]);
            if (hasDTargets != 0) dTargets[i] -= g * logits[i];
        }
    }

    /// <summary>With d = (x - mu) e^-logvar: dx -= dy d; dMu += dy d; dLogvar += dy (1/2 d (x - mu) - 1/2), each behind its flag (bit 0, 1, 2 of <paramref name="outputs"/>).</summary>
    public static void GaussianLogDensityRowsBackward<T>(ArrayView<T> x, ArrayView<T> mu, ArrayView<T> logvar, ArrayView<T> dyRows,
        ArrayView<T> dx, ArrayView<T> dMu, ArrayView<T> dLogvar, int rows, int cols, int outputs) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T half = T.One / (T.One + T.One);
        int total = rows * cols;
        for (int i = Grid.GlobalIndex.X; i < total; i += Grid.DimX * Group.DimX)
        {
            T g = dyRows[i / cols];
            T diff = x[i] - mu[i];
            T d = diff * T.Exp(-logvar[i]);
            if ((outputs & 1) != 0) dx[i] -= g * d;
            if ((outputs & 2) != 0) dMu[i] += g * d;
            if ((outputs & 4) != 0) dLogvar[i] += g * (half * d * diff - half);
        }
    }

    /// <summary>
    /// One Adam/AdamW step, per element exactly the rule of <see cref="Cpu.Fused.AdamUpdate(Span{float}, ReadOnlySpan{float}, Span{float}, Span{float}, float, float, float, float, float, bool, int)"/>
    /// with its per-call constants (step size, 1/sqrt of the second bias correction, decay) computed on the host.
    /// </summary>
    public static void Adam<T>(ArrayView<T> param, ArrayView<T> grad, ArrayView<T> m, ArrayView<T> v, int n, AdamArgs<T> a)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
        {
            T p = param[i];
            T g = grad[i];
            if (a.Decoupled == 0) g += a.WeightDecay * p;
            T mi = a.Beta1 * m[i] + a.OneMinusBeta1 * g;
            T vi = a.Beta2 * v[i] + a.OneMinusBeta2 * (g * g);
            m[i] = mi;
            v[i] = vi;
            T denom = T.Sqrt(vi) * a.InvSqrtBias2 + a.Eps;
            param[i] = p * a.Decay - a.StepSize * mi / denom;
        }
    }

    /// <summary>partial[g] = sum of x^2 over the elements group g visits (grid-stride), a tree within the group.</summary>
    public static void PartialSumOfSquares<T>(ArrayView<T> x, ArrayView<T> partial, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var shared = SharedMemory.GetDynamic<T>();
        T s = T.Zero;
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX) s += x[i] * x[i];
        s = GroupReduce.Sum(shared, s);
        if (Group.IdxX == 0) partial[Grid.IdxX] = s;
    }

    /// <summary>result[0] = sum of values[0 .. n) (one group).</summary>
    public static void SumAll<T>(ArrayView<T> values, ArrayView<T> result, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var shared = SharedMemory.GetDynamic<T>();
        T s = T.Zero;
        for (int i = Group.IdxX; i < n; i += Group.DimX) s += values[i];
        s = GroupReduce.Sum(shared, s);
        if (Group.IdxX == 0) result[0] = s;
    }

    /// <summary>flag[0] = 1 when some element is NaN or infinite (flag zeroed by the caller; every writer writes 1).</summary>
    public static void AnyNonFinite<T>(ArrayView<T> x, ArrayView<int> flag, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
            if (!DeviceMath.IsFinite(x[i])) flag[0] = 1;
    }
}

/// <summary>Per-call constants of an Adam step, computed on the host in the element type exactly as the CPU computes them.</summary>
public struct AdamArgs<T> where T : unmanaged
{
    public T Beta1, Beta2, OneMinusBeta1, OneMinusBeta2, Eps, WeightDecay, StepSize, InvSqrtBias2, Decay;
    public int Decoupled;
}
