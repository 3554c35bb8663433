using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Engine.Kernels.Cpu;

namespace Engine.Models.Gmm;

/// <summary>Argument checks of <see cref="GaussianMixture"/>: data shapes and values, options, explicit starting values.</summary>
internal static class MixtureChecks
{
    /// <summary>Shape of x, and every value finite (the first bad row is named).</summary>
    public static void Data(ReadOnlySpan<double> x, int rows, int columns, string name = "x")
    {
        if (rows < 1) throw new ArgumentOutOfRangeException(nameof(rows), rows, "The data need at least one row.");
        if (columns < 1) throw new ArgumentOutOfRangeException(nameof(columns), columns, "The data need at least one column.");
        if (x.Length != (long)rows * columns)
            throw new ArgumentException($"{name} holds {x.Length} values, but {rows} rows of {columns} columns need {(long)rows * columns}.", name);
        if (AllFinite(x)) return;
        for (int i = 0; i < x.Length; i++)
        {
            if (double.IsFinite(x[i])) continue;
            throw new ArgumentException(
                $"Row {i / columns} of {name} holds {x[i]} (column {i % columns}); the data must be finite. Remove or impute that row.", name);
        }
    }

    /// <summary>v * 0 is 0 for finite v and NaN for NaN or +-inf, so one vector sum tells whether all are finite.</summary>
    private static bool AllFinite(ReadOnlySpan<double> x)
    {
        int i = 0;
        ref double r = ref MemoryMarshal.GetReference(x);
        if (Vector512.IsHardwareAccelerated)
        {
            var acc = Vector512<double>.Zero;
            for (; i <= x.Length - Vector512<double>.Count; i += Vector512<double>.Count)
                acc += Vector512.LoadUnsafe(ref r, (nuint)i) * Vector512<double>.Zero;
            if (Vector512.Sum(acc) != 0) return false;
        }
        double s = 0;
        for (; i < x.Length; i++) s += x[i] * 0;
        return s == 0;
    }

    public static void Options(GaussianMixture m)
    {
        if (m.Components < 1) throw new ArgumentOutOfRangeException(nameof(m.Components), m.Components, "Components must be at least 1.");
        if (!Enum.IsDefined(m.CovarianceType)) throw new ArgumentOutOfRangeException(nameof(m.CovarianceType), m.CovarianceType, "Unknown covariance type.");
        if (!Enum.IsDefined(m.Initialization)) throw new ArgumentOutOfRangeException(nameof(m.Initialization), m.Initialization, "Unknown initialization.");
        if (!(m.Tolerance >= 0)) throw new ArgumentOutOfRangeException(nameof(m.Tolerance), m.Tolerance, "Tolerance must be non-negative.");
        if (!(m.RegCovar >= 0) || double.IsPositiveInfinity(m.RegCovar))
            throw new ArgumentOutOfRangeException(nameof(m.RegCovar), m.RegCovar, "RegCovar must be finite and non-negative.");
        if (m.MaxIterations < 0) throw new ArgumentOutOfRangeException(nameof(m.MaxIterations), m.MaxIterations, "MaxIterations must be non-negative.");
        if (m.Initializations < 1) throw new ArgumentOutOfRangeException(nameof(m.Initializations), m.Initializations, "Initializations must be at least 1.");
    }

    /// <summary>scikit-learn's checks of weights_init, means_init and precisions_init, with the component named.</summary>
    public static void ExplicitInit(GaussianMixture m, int d)
    {
        int k = m.Components;
        if (m.WeightsInit is { } w)
        {
            if (w.Length != k)
                throw new ArgumentException($"WeightsInit has {w.Length} values; {k} components need {k}.", nameof(m.WeightsInit));
            for (int c = 0; c < k; c++)
                if (!(w[c] >= 0 && w[c] <= 1))
                    throw new ArgumentException($"WeightsInit[{c}] is {w[c]}; weights must lie in [0, 1].", nameof(m.WeightsInit));
            double sum = w.Sum();
            if (Math.Abs(1 - sum) > 1e-8)
                throw new ArgumentException($"WeightsInit sums to {sum:R}; the weights must sum to 1.", nameof(m.WeightsInit));
        }
        if (m.MeansInit is { } mu)
        {
            if (mu.Length != k * d)
                throw new ArgumentException($"MeansInit has {mu.Length} values; {k} components in {d} dimensions need {k * d} ({k} x {d}).", nameof(m.MeansInit));
            for (int i = 0; i < mu.Length; i++)
                if (!double.IsFinite(mu[i]))
                    throw new ArgumentException($"MeansInit of component {i / d} holds {mu[i]}; means must be finite.", nameof(m.MeansInit));
        }
        if (m.PrecisionsInit is { } p)
        {
            var type = m.CovarianceType;
            int length = MixtureParameters.CovarianceLength(type, k, d);
            if (p.Length != length)
            {
                throw new ArgumentException($"PrecisionsInit has {p.Length} values; {type} precisions of {k} components in {d} dimensions " +
                    $"need {length} ({MixtureParameters.CovarianceShape(type, k, d)}).", nameof(m.PrecisionsInit));
            }
            if (type is CovarianceType.Full or CovarianceType.Tied)
            {
                int count = type == CovarianceType.Full ? k : 1;
                var work = new double[d * d];
                for (int c = 0; c < count; c++)
                {
                    string who = type == CovarianceType.Full ? $"component {c}" : "the tied precision";
                    ReadOnlySpan<double> a = p.AsSpan(c * d * d, d * d);
                    for (int i = 0; i < d; i++)
                    {
                        for (int j = 0; j < d; j++)
                        {
                            double aij = a[i * d + j], aji = a[j * d + i];
                            if (!double.IsFinite(aij))
                                throw new ArgumentException($"PrecisionsInit of {who} holds {aij} at [{i}, {j}]; it must be finite.", nameof(m.PrecisionsInit));
                            if (Math.Abs(aij - aji) > 1e-8 + 1e-5 * Math.Abs(aji))
                                throw new ArgumentException($"PrecisionsInit of {who} is not symmetric ([{i}, {j}] = {aij}, [{j}, {i}] = {aji}).", nameof(m.PrecisionsInit));
                        }
                    }
                    a.CopyTo(work);
                    if (LinearAlgebra.TryCholesky(work, d) >= 0)
                        throw new ArgumentException($"PrecisionsInit of {who} is not positive definite.", nameof(m.PrecisionsInit));
                }
            }
            else
            {
                for (int i = 0; i < p.Length; i++)
                {
                    if (!(p[i] > 0) || double.IsPositiveInfinity(p[i]))
                    {
                        string who = type == CovarianceType.Diagonal ? $"component {i / d}, dimension {i % d}" : $"component {i}";
                        throw new ArgumentException($"PrecisionsInit of {who} is {p[i]}; {type} precisions must be positive and finite.", nameof(m.PrecisionsInit));
                    }
                }
            }
        }
    }
}
