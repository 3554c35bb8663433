using Engine.Models.Distributions;
using Engine.Models.Vae;

namespace Engine.Tests.Models;

/// <summary>
/// Probabilistic PCA in float64 as an <see cref="ILatentVariableModel"/> whose marginal likelihood is known exactly:
/// z ~ N(0, I_L), x | z ~ N(W z + b, s^2 I_D), so p(x) = N(x; b, W W^T + s^2 I). W has orthogonal columns, which
/// makes the exact posterior N(M^-1 W^T (x - b), s^2 M^-1), M = W^T W + s^2 I, diagonal.
/// <para>The approximate posterior is the exact one plus learnable offsets: q(z | x) = N(m(x) + MeanOffset,
/// diag exp(log v + LogVarOffset)). Zero offsets give the exact posterior; non-zero ones a worse q. The offsets
/// are the "encoder parameters" phi (leaves that require grad, of shape [L] or [B, L]: one copy per row gives
/// one gradient sample per row); <see cref="W"/> and <see cref="B"/> are the decoder parameters theta.
/// The exact posterior's mean map is built from the plain-C# copy of W, so no gradient reaches theta through q.</para>
/// </summary>
public sealed class LinearGaussianModel : ILatentVariableModel
{
    private readonly double[,] _w;   // [D, L]
    private readonly double[] _b;    // [D]
    private readonly Tensor _postA;  // [L, D]: M^-1 W^T
    private readonly Tensor _postC;  // [L]: -M^-1 W^T b
    private readonly Tensor _postLogVar; // [L]: log(s^2 / M_jj)

    /// <param name="w">[D, L] with orthogonal columns.</param>
    public LinearGaussianModel(double[,] w, double[] b, double noiseStd)
    {
        D = w.GetLength(0);
        L = w.GetLength(1);
        if (b.Length != D) throw new ArgumentException("b must have D entries.", nameof(b));
        for (int i = 0; i < L; i++)
            for (int j = i + 1; j < L; j++)
            {
                double dot = 0;
                for (int d = 0; d < D; d++) dot += w[d, i] * w[d, j];
                if (Math.Abs(dot) > 1e-12) throw new ArgumentException($"Columns {i} and {j} of W are not orthogonal (dot {dot}).", nameof(w));
            }
        _w = (double[,])w.Clone();
        _b = (double[])b.Clone();
        NoiseVariance = noiseStd * noiseStd;
        PosteriorVariance = new double[L];
        var a = new double[L * D];
        var c = new double[L];
        var lv = new double[L];
        for (int j = 0; j < L; j++)
        {
            double m = NoiseVariance;
            for (int d = 0; d < D; d++) m += w[d, j] * w[d, j];
            PosteriorVariance[j] = NoiseVariance / m;
            lv[j] = Math.Log(PosteriorVariance[j]);
            for (int d = 0; d < D; d++)
            {
                a[j * D + d] = w[d, j] / m;
                c[j] -= w[d, j] / m * b[d];
            }
        }
        _postA = Tensor.FromArray(a, L, D);
        _postC = Tensor.FromArray(c, L);
        _postLogVar = Tensor.FromArray(lv, L);
        var wFlat = new double[D * L];
        for (int d = 0; d < D; d++) for (int j = 0; j < L; j++) wFlat[d * L + j] = w[d, j];
        W = Tensor.FromArray(wFlat, D, L).RequireGrad();
        B = Tensor.FromArray((double[])b.Clone(), D).RequireGrad();
        LogNoiseVariance = Math.Log(NoiseVariance);
        SetOffsets(new double[L], new double[L]);
    }

    /// <summary>A model with D = <paramref name="d"/>, L = 2: W's columns are Gram-Schmidt-orthogonalized random vectors of norms 1.6 and 0.9.</summary>
    public static LinearGaussianModel Create(int d = 5, double noiseStd = 0.5, int seed = 7)
    {
        var rng = new Random(seed);
        var cols = new double[2][];
        double[] norms = [1.6, 0.9];
        for (int j = 0; j < 2; j++)
        {
            var v = Enumerable.Range(0, d).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
            for (int i = 0; i < j; i++)
            {
                double dot = v.Zip(cols[i]).Sum(p => p.First * p.Second);
                for (int k = 0; k < d; k++) v[k] -= dot * cols[i][k];
            }
            double n = Math.Sqrt(v.Sum(t => t * t));
            cols[j] = v.Select(t => t / n).ToArray();
        }
        // Re-orthogonalize once more so the dot product is zero to rounding, then scale.
        double dot01 = cols[1].Zip(cols[0]).Sum(p => p.First * p.Second);
        for (int k = 0; k < d; k++) cols[1][k] -= dot01 * cols[0][k];
        var w = new double[d, 2];
        for (int j = 0; j < 2; j++)
        {
            double n = Math.Sqrt(cols[j].Sum(t => t * t));
            for (int k = 0; k < d; k++) w[k, j] = cols[j][k] / n * norms[j];
        }
        var b = Enumerable.Range(0, d).Select(_ => rng.NextDouble() - 0.5).ToArray();
        return new LinearGaussianModel(w, b, noiseStd);
    }

    public int D { get; }
    public int L { get; }
    public int LatentSize => L;
    public double NoiseVariance { get; }
    public double LogNoiseVariance { get; }
    /// <summary>The exact posterior's variances s^2 / M_jj (they do not depend on x).</summary>
    public double[] PosteriorVariance { get; }

    /// <summary>Decoder weight [D, L] (a leaf that requires grad).</summary>
    public Tensor W { get; }
    /// <summary>Decoder bias [D] (a leaf that requires grad).</summary>
    public Tensor B { get; }
    /// <summary>Added to the exact posterior mean: [L] or [B, L].</summary>
    public Tensor MeanOffset { get; private set; } = null!;
    /// <summary>Added to the exact posterior log-variance: [L] or [B, L].</summary>
    public Tensor LogVarOffset { get; private set; } = null!;

    /// <summary>Replaces the posterior offsets with fresh leaves (that require grad) of shape [L].</summary>
    public void SetOffsets(double[] meanOffset, double[] logVarOffset)
    {
        MeanOffset = Tensor.FromArray((double[])meanOffset.Clone(), L).RequireGrad();
        LogVarOffset = Tensor.FromArray((double[])logVarOffset.Clone(), L).RequireGrad();
    }

    /// <summary>Replaces the offsets with one copy per row, [rows, L], so that each row's gradient is a separate sample.</summary>
    public void SetOffsetsPerRow(int rows, double[] meanOffset, double[] logVarOffset)
    {
        var m = new double[rows * L];
        var v = new double[rows * L];
        for (int r = 0; r < rows; r++)
        {
            meanOffset.CopyTo(m, r * L);
            logVarOffset.CopyTo(v, r * L);
        }
        MeanOffset = Tensor.FromArray(m, rows, L).RequireGrad();
        LogVarOffset = Tensor.FromArray(v, rows, L).RequireGrad();
    }

    /// <summary>The leaves theta then phi, for zeroing gradients.</summary>
    public Tensor[] Leaves => [W, B, MeanOffset, LogVarOffset];

    public Distribution Posterior(Tensor x)
    {
        int batch = x.Shape[0];
        var mean = Tensor.Linear(x, _postA, _postC) + MeanOffset;
        var logVar = (_postLogVar + LogVarOffset).Expand(new Shape(batch, L));
        return new Normal(mean, logVar);
    }

    public Distribution Likelihood(Tensor z)
    {
        var mean = Tensor.Linear(z, W, B);
        return new Normal(mean, Tensor.Full(mean.Shape, LogNoiseVariance, DType.Float64));
    }

    public Distribution Prior(int batch, DType dtype) => Normal.Standard(new Shape(batch, L), dtype);

    // ---------------- exact quantities, in plain C# ----------------

    /// <summary>log p(x) = log N(x; b, W W^T + s^2 I) by a dense Cholesky factorization.</summary>
    public double ExactLogMarginal(double[] x)
    {
        var c = new double[D, D];
        for (int i = 0; i < D; i++)
            for (int j = 0; j < D; j++)
            {
                double s = i == j ? NoiseVariance : 0;
                for (int l = 0; l < L; l++) s += _w[i, l] * _w[j, l];
                c[i, j] = s;
            }
        var r = new double[D];
        for (int i = 0; i < D; i++) r[i] = x[i] - _b[i];
        return Dense.GaussianLogDensity(r, c);
    }

    /// <summary>The exact posterior's mean M^-1 W^T (x - b).</summary>
    public double[] ExactPosteriorMean(double[] x)
    {
        var m = new double[L];
        for (int j = 0; j < L; j++)
        {
            double mj = NoiseVariance, s = 0;
            for (int d = 0; d < D; d++)
            {
                mj += _w[d, j] * _w[d, j];
                s += _w[d, j] * (x[d] - _b[d]);
            }
            m[j] = s / mj;
        }
        return m;
    }

    /// <summary>Draws n data points from the model (plain C#, Box-Muller).</summary>
    public double[][] SampleData(int n, int seed)
    {
        var rng = new Random(seed);
        double N01() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        var data = new double[n][];
        for (int i = 0; i < n; i++)
        {
            var z = Enumerable.Range(0, L).Select(_ => N01()).ToArray();
            var x = new double[D];
            for (int d = 0; d < D; d++)
            {
                double s = _b[d];
                for (int l = 0; l < L; l++) s += _w[d, l] * z[l];
                x[d] = s + Math.Sqrt(NoiseVariance) * N01();
            }
            data[i] = x;
        }
        return data;
    }
}

/// <summary>Small dense linear algebra and closed forms for Gaussians, in plain C#, independent of the engine.</summary>
public static class Dense
{
    /// <summary>Lower-triangular Cholesky factor of a symmetric positive-definite matrix.</summary>
    public static double[,] Cholesky(double[,] a)
    {
        int n = a.GetLength(0);
        var l = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++)
            {
                double s = a[i, j];
                for (int k = 0; k < j; k++) s -= l[i, k] * l[j, k];
                if (i == j)
                {
                    if (s <= 0) throw new ArgumentException("Matrix is not positive definite.", nameof(a));
                    l[i, i] = Math.Sqrt(s);
                }
                else l[i, j] = s / l[j, j];
            }
        return l;
    }

    /// <summary>log N(r; 0, C) = -0.5 (n log 2 pi + log det C + r^T C^-1 r).</summary>
    public static double GaussianLogDensity(double[] r, double[,] c)
    {
        int n = r.Length;
        var l = Cholesky(c);
        // Forward substitution: L y = r, so r^T C^-1 r = |y|^2.
        var y = new double[n];
        double logDet = 0, quad = 0;
        for (int i = 0; i < n; i++)
        {
            double s = r[i];
            for (int k = 0; k < i; k++) s -= l[i, k] * y[k];
            y[i] = s / l[i, i];
            quad += y[i] * y[i];
            logDet += 2 * Math.Log(l[i, i]);
        }
        return -0.5 * (n * Math.Log(2 * Math.PI) + logDet + quad);
    }

    /// <summary>KL(N(mp, vp) || N(mq, vq)) for diagonal Gaussians.</summary>
    public static double KlDiagonal(double[] mp, double[] vp, double[] mq, double[] vq)
    {
        double s = 0;
        for (int i = 0; i < mp.Length; i++)
            s += 0.5 * (Math.Log(vq[i] / vp[i]) + (vp[i] + (mp[i] - mq[i]) * (mp[i] - mq[i])) / vq[i] - 1);
        return s;
    }

    /// <summary>
    /// E_q[(p(z) / q(z))^2] = integral p^2 / q for diagonal Gaussians p = N(a, u), q = N(c, w): per dimension
    /// sqrt(w) / (u sqrt(tau)) exp(tau mu^2 / 2 - (2 a^2 / u - c^2 / w) / 2), tau = 2/u - 1/w, mu = (2a/u - c/w) / tau;
    /// infinite when tau &lt;= 0 (q narrower than half of p's variance). The variance of an importance weight
    /// p(z | x) / q(z), z ~ q, relative to its mean, is this minus one.
    /// </summary>
    public static double SecondMomentOfRatio(double[] a, double[] u, double[] c, double[] w)
    {
        double prod = 1;
        for (int i = 0; i < a.Length; i++)
        {
            double tau = 2 / u[i] - 1 / w[i];
            if (tau <= 0) return double.PositiveInfinity;
            double mu = (2 * a[i] / u[i] - c[i] / w[i]) / tau;
            prod *= Math.Sqrt(w[i]) / (u[i] * Math.Sqrt(tau)) * Math.Exp(0.5 * tau * mu * mu - 0.5 * (2 * a[i] * a[i] / u[i] - c[i] * c[i] / w[i]));
        }
        return prod;
    }
}

/// <summary>Sample statistics with standard errors, for tolerances derived from an estimator's own spread.</summary>
public readonly record struct Stats(double Mean, double Variance, int N, double FourthCentralMoment)
{
    public double Sd => Math.Sqrt(Variance);
    /// <summary>Standard error of the mean.</summary>
    public double Se => Math.Sqrt(Variance / N);
    /// <summary>Standard error of the sample variance, sqrt((m4 - s^4) / n) (large-sample, no normality assumed).</summary>
    public double VarianceSe => Math.Sqrt(Math.Max(FourthCentralMoment - Variance * Variance, 0) / N);

    public static Stats Of(IReadOnlyList<double> v)
    {
        int n = v.Count;
        double mean = v.Average();
        double m2 = 0, m4 = 0;
        foreach (var t in v)
        {
            double d = t - mean;
            m2 += d * d;
            m4 += d * d * d * d;
        }
        return new Stats(mean, m2 / (n - 1), n, m4 / n);
    }

    public override string ToString() => $"mean {Mean:G6} ± {Se:G3} (sd {Sd:G4}, n {N})";
}
