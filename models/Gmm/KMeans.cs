using System.Numerics.Tensors;
using Engine.Kernels.Cpu;

namespace Engine.Models.Gmm;

/// <summary>A k-means clustering: centers (K x D row-major), the nearest center of every point, and the inertia.</summary>
/// <param name="Centers">The cluster centers, K x D row-major.</param>
/// <param name="Labels">The index of the nearest center of each point.</param>
/// <param name="Inertia">Sum of squared distances of the points to their nearest center.</param>
/// <param name="Iterations">Lloyd iterations run.</param>
public sealed record KMeansResult(double[] Centers, int[] Labels, double Inertia, int Iterations);

/// <summary>
/// k-means clustering as scikit-learn's <c>KMeans(n_init=1)</c>: greedy k-means++ seeding (Arthur and
/// Vassilvitskii 2007, with 2 + ln K candidates per center), then Lloyd's algorithm until the labels stop changing
/// or the centers move less than <c>tolerance</c> times the mean per-feature variance. It is the default
/// initialization of <see cref="GaussianMixture"/>.
/// </summary>
public static class KMeans
{
    private const int BlockRows = 256;

    /// <summary>
    /// Indices of <paramref name="clusters"/> distinct-by-construction seed points chosen by greedy k-means++: each
    /// new seed is drawn with probability proportional to the squared distance to the nearest seed so far, keeping
    /// the best of 2 + floor(ln K) candidates (the one that lowers the total potential most).
    /// </summary>
    public static int[] PlusPlusSeeds(ReadOnlySpan<double> x, int rows, int columns, int clusters, Random random)
    {
        Check(x, rows, columns, clusters);
        ArgumentNullException.ThrowIfNull(random);
        int trials = 2 + (int)Math.Log(clusters);
        var seeds = new int[clusters];
        var closest = new double[rows];
        var candidate = new double[rows];
        var best = new double[rows];
        var cumulative = new double[rows];

        seeds[0] = random.Next(rows);
        double potential = SquaredDistances(x, rows, columns, seeds[0], closest, null);
        for (int c = 1; c < clusters; c++)
        {
            double running = 0;
            for (int i = 0; i < rows; i++) cumulative[i] = running += closest[i];
            double bestPotential = double.PositiveInfinity;
            int bestIndex = -1;
            for (int t = 0; t < trials; t++)
            {
                int index = potential > 0 ? SearchSorted(cumulative, random.NextDouble() * potential) : random.Next(rows);
                double p = SquaredDistances(x, rows, columns, index, candidate, closest);
                if (p < bestPotential)
                {
                    bestPotential = p;
                    bestIndex = index;
                    (best, candidate) = (candidate, best);
                }
            }
            seeds[c] = bestIndex;
            potential = bestPotential;
            (closest, best) = (best, closest);
        }
        return seeds;
    }

    /// <summary>Lloyd's k-means from k-means++ seeds (see the class remarks).</summary>
    /// <param name="tolerance">Stop when the centers move less (sum of squared shifts) than this times the mean variance of the features.</param>
    public static KMeansResult Fit(ReadOnlySpan<double> x, int rows, int columns, int clusters, Random random,
        int maxIterations = 300, double tolerance = 1e-4)
    {
        Check(x, rows, columns, clusters);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxIterations, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(tolerance);
        int d = columns;
        int[] seeds = PlusPlusSeeds(x, rows, columns, clusters, random);
        var centers = new double[clusters * d];
        for (int c = 0; c < clusters; c++) x.Slice(seeds[c] * d, d).CopyTo(centers.AsSpan(c * d, d));

        double threshold = tolerance * MeanVariance(x, rows, d);
        var labels = new int[rows];
        var previous = new int[rows];
        var distances = new double[rows];
        var next = new double[clusters * d];
        var counts = new int[clusters];
        var rowNorms = new double[rows];
        for (int i = 0; i < rows; i++) rowNorms[i] = TensorPrimitives.Dot(x.Slice(i * d, d), x.Slice(i * d, d));

        bool strict = false;
        int iteration = 0;
        while (iteration < maxIterations)
        {
            iteration++;
            Assign(x, rows, d, centers, clusters, rowNorms, labels, distances);
            if (iteration > 1 && labels.AsSpan().SequenceEqual(previous))
            {
                strict = true;
                break;
            }
            Array.Clear(next);
            Array.Clear(counts);
            for (int i = 0; i < rows; i++)
            {
                counts[labels[i]]++;
                TensorPrimitives.Add(next.AsSpan(labels[i] * d, d), x.Slice(i * d, d), next.AsSpan(labels[i] * d, d));
            }
            RelocateEmpty(x, d, counts, next, distances);
            for (int c = 0; c < clusters; c++)
                if (counts[c] > 0) TensorPrimitives.Divide(next.AsSpan(c * d, d), counts[c], next.AsSpan(c * d, d));
            double move = TensorPrimitives.Distance<double>(next, centers);
            double shift = move * move;
            (centers, next) = (next, centers);
            labels.CopyTo(previous, 0);
            if (shift <= threshold) break;
        }
        if (!strict) Assign(x, rows, d, centers, clusters, rowNorms, labels, distances);
        return new KMeansResult(centers, labels, TensorPrimitives.Sum<double>(distances), iteration);
    }

    /// <summary>Nearest center of each row: |x|^2 - 2 x.c + |c|^2 with the cross terms from GEMM, block by block.</summary>
    private static void Assign(ReadOnlySpan<double> x, int rows, int d, double[] centers, int clusters, double[] rowNorms,
        int[] labels, double[] distances)
    {
        var centerNorms = new double[clusters];
        for (int c = 0; c < clusters; c++) centerNorms[c] = TensorPrimitives.Dot(centers.AsSpan(c * d, d), centers.AsSpan(c * d, d));
        var g = new double[BlockRows * clusters];
        for (int r0 = 0; r0 < rows; r0 += BlockRows)
        {
            int n = Math.Min(BlockRows, rows - r0);
            Gemm.Compute(false, true, n, clusters, d, -2.0, x.Slice(r0 * d, n * d), d, centers, d, 0.0, g, clusters);
            for (int i = 0; i < n; i++)
            {
                int best = 0;
                double bestDistance = double.PositiveInfinity;
                for (int c = 0; c < clusters; c++)
                {
                    double dist = g[i * clusters + c] + centerNorms[c];
                    if (dist < bestDistance)
                    {
                        bestDistance = dist;
                        best = c;
                    }
                }
                labels[r0 + i] = best;
                distances[r0 + i] = Math.Max(0, bestDistance + rowNorms[r0 + i]);
            }
        }
    }

    /// <summary>An empty cluster takes the point farthest from its center (as scikit-learn relocates them).</summary>
    private static void RelocateEmpty(ReadOnlySpan<double> x, int d, int[] counts, double[] sums, double[] distances)
    {
        int empty = counts.Count(c => c == 0);
        if (empty == 0) return;
        int[] far = Enumerable.Range(0, distances.Length).OrderByDescending(i => distances[i]).Take(empty).ToArray();
        int next = 0;
        for (int c = 0; c < counts.Length && next < far.Length; c++)
        {
            if (counts[c] != 0) continue;
            x.Slice(far[next] * d, d).CopyTo(sums.AsSpan(c * d, d));
            counts[c] = 1;
            distances[far[next]] = 0;
            next++;
        }
    }

    /// <summary>dist[i] = |x_i - x_center|^2, lowered to min(dist[i], floor[i]) when a floor is given; returns the sum.</summary>
    private static double SquaredDistances(ReadOnlySpan<double> x, int rows, int d, int center, double[] dist, double[]? floor)
    {
        ReadOnlySpan<double> y = x.Slice(center * d, d);
        double total = 0;
        for (int i = 0; i < rows; i++)
        {
            double e = TensorPrimitives.Distance(x.Slice(i * d, d), y);
            double v = e * e;
            if (floor != null && floor[i] < v) v = floor[i];
            dist[i] = v;
            total += v;
        }
        return total;
    }

    /// <summary>First index whose cumulative sum reaches <paramref name="value"/> (numpy's searchsorted), clipped to the last.</summary>
    private static int SearchSorted(double[] cumulative, double value)
    {
        int lo = 0, hi = cumulative.Length - 1;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (cumulative[mid] < value) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    private static double MeanVariance(ReadOnlySpan<double> x, int rows, int d)
    {
        var mean = new double[d];
        for (int i = 0; i < rows; i++) TensorPrimitives.Add(mean, x.Slice(i * d, d), mean);
        TensorPrimitives.Divide(mean, rows, mean);
        double total = 0;
        var diff = new double[d];
        for (int i = 0; i < rows; i++)
        {
            TensorPrimitives.Subtract(x.Slice(i * d, d), mean, diff);
            total += TensorPrimitives.SumOfSquares<double>(diff);
        }
        return total / ((double)rows * d);
    }

    private static void Check(ReadOnlySpan<double> x, int rows, int columns, int clusters)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        if (x.Length != (long)rows * columns)
            throw new ArgumentException($"x has {x.Length} values; {rows} rows of {columns} columns need {(long)rows * columns}.", nameof(x));
        if (clusters < 1 || clusters > rows)
            throw new ArgumentOutOfRangeException(nameof(clusters), clusters, $"The number of clusters must be between 1 and the number of rows ({rows}).");
    }
}
