namespace Engine.Models.Metrics;

/// <summary>Agreement between two labelings of the same points.</summary>
public static class Clustering
{
    /// <summary>
    /// The adjusted Rand index (Hubert and Arabie 1985): 1 for identical partitions (up to renaming), about 0 for
    /// independent ones, as scikit-learn's adjusted_rand_score.
    /// </summary>
    public static double AdjustedRandIndex(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Count != b.Count) throw new ArgumentException($"The labelings have {a.Count} and {b.Count} points.", nameof(b));
        int n = a.Count;
        if (n < 2) return 1;
        var table = new Dictionary<(int, int), long>();
        var rows = new Dictionary<int, long>();
        var cols = new Dictionary<int, long>();
        for (int i = 0; i < n; i++)
        {
            table[(a[i], b[i])] = table.GetValueOrDefault((a[i], b[i])) + 1;
            rows[a[i]] = rows.GetValueOrDefault(a[i]) + 1;
            cols[b[i]] = cols.GetValueOrDefault(b[i]) + 1;
        }
        static double Pairs(long m) => m * (m - 1) / 2.0;
        double index = table.Values.Sum(Pairs);
        double sumA = rows.Values.Sum(Pairs), sumB = cols.Values.Sum(Pairs);
        double expected = sumA * sumB / Pairs(n);
        double max = 0.5 * (sumA + sumB);
        // Both partitions trivial (all one cluster, or all singletons): they agree perfectly.
        if (max == expected) return 1;
        return (index - expected) / (max - expected);
    }
}
