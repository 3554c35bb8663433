using Engine.Autograd;
using Engine.Models.Distributions;

namespace Engine.Models.Inference;

/// <summary>
/// The exact posterior p(z | x) = p(x, z) / p(x) of a <see cref="BinaryLatentModel"/>, tabulated over all 2^d
/// completions for each row of x (d at most <see cref="MaxBits"/>): a distribution over binary vectors [B, d] that
/// the estimators accept as q. With it the ELBO equals log p(x) and every importance weight equals p(x).
/// </summary>
public sealed class EnumeratedPosterior : Distribution
{
    /// <summary>The largest d tabulated (2^20 probabilities per row).</summary>
    public const int MaxBits = 20;

    private readonly double[] _logPost;   // [B, N]
    private readonly double[] _cdf;       // [B, N]
    private readonly long _n;

    public EnumeratedPosterior(BinaryLatentModel model, Tensor x, int chunk = 4096)
    {
        ArgumentNullException.ThrowIfNull(model);
        model.CheckData(x);
        model.CheckEnumerable(MaxBits);
        Bits = model.LatentBits;
        Rows = x.Shape[0];
        DType = model.DType;
        _n = model.CompletionCount;
        _logPost = new double[Rows * _n];
        using (GradMode.NoGrad())
        {
            for (long first = 0; first < _n; first += chunk)
            {
                int c = (int)Math.Min(chunk, _n - first);
                using var scope = TensorScope.Begin();
                var lj = model.LogJointOfCompletions(x, first, c).ToDoubleArray(); // [c, B]
                for (int i = 0; i < c; i++)
                    for (int b = 0; b < Rows; b++) _logPost[b * _n + first + i] = lj[i * Rows + b];
            }
        }
        LogMarginal = new double[Rows];
        _cdf = new double[_logPost.Length];
        for (int b = 0; b < Rows; b++)
        {
            var row = _logPost.AsSpan((int)(b * _n), (int)_n);
            double max = double.NegativeInfinity;
            foreach (var v in row) max = Math.Max(max, v);
            double s = 0;
            foreach (var v in row) s += Math.Exp(v - max);
            double logPx = max + Math.Log(s);
            LogMarginal[b] = logPx;
            double c = 0;
            for (long i = 0; i < _n; i++)
            {
                row[(int)i] -= logPx;
                c += Math.Exp(row[(int)i]);
                _cdf[b * _n + i] = c;
            }
        }
    }

    /// <summary>d.</summary>
    public int Bits { get; }

    /// <summary>B.</summary>
    public int Rows { get; }

    public DType DType { get; }

    /// <summary>log p(x) per row (the normalizer, exact).</summary>
    public double[] LogMarginal { get; }

    public override Shape Shape => new(Rows, Bits);

    /// <summary>log p(z = completion | x) for row <paramref name="row"/>.</summary>
    public double LogProbability(int row, long completion) => _logPost[row * _n + completion];

    /// <summary>log p(z | x) for z [..., B, d] with entries in {0, 1}: [..., B]; constant (no gradient).</summary>
    public override Tensor LogProb(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank < 2 || x.Shape[-1] != Bits || x.Shape[-2] != Rows)
            throw new ArgumentException($"EnumeratedPosterior.LogProb: z {x.Shape} must end in [{Rows}, {Bits}].", nameof(x));
        var z = x.ToDoubleArray();
        int events = z.Length / Bits;
        var lp = new double[events];
        for (int e = 0; e < events; e++)
        {
            long n = 0;
            for (int j = 0; j < Bits; j++)
            {
                double v = z[e * Bits + j];
                if (v != 0 && v != 1) throw new ArgumentException($"EnumeratedPosterior.LogProb: entry {v} of z is not a bit.", nameof(x));
                if (v == 1) n |= 1L << j;
            }
            lp[e] = _logPost[(e % Rows) * _n + n];
        }
        var t = Tensor.FromArray(lp, x.Shape.Without(-1).ToArray());
        return DType == DType.Float64 ? t : t.To(DType);
    }

    public override Tensor Sample(Generator gen) => Sample(gen, 1).Squeeze(0);

    /// <summary>k draws [k, B, d] by inverting each row's cumulative distribution at uniforms.</summary>
    public override Tensor Sample(Generator gen, int k)
    {
        ArgumentNullException.ThrowIfNull(gen);
        if (k <= 0) throw new ArgumentOutOfRangeException(nameof(k), $"The number of samples must be positive; got {k}.");
        double[] u;
        using (GradMode.NoGrad()) u = Tensor.RandUniform(new Shape(k, Rows), gen, dtype: DType.Float64).ToDoubleArray();
        var bits = new double[(long)k * Rows * Bits];
        for (int s = 0; s < k; s++)
            for (int b = 0; b < Rows; b++)
            {
                var cdf = _cdf.AsSpan((int)(b * _n), (int)_n);
                double target = u[s * Rows + b] * cdf[^1];
                int lo = 0, hi = cdf.Length - 1;
                while (lo < hi)
                {
                    int mid = (lo + hi) / 2;
                    if (cdf[mid] > target) hi = mid; else lo = mid + 1;
                }
                for (int j = 0; j < Bits; j++) bits[((long)s * Rows + b) * Bits + j] = (lo >> j) & 1;
            }
        var t = Tensor.FromArray(bits, k, Rows, Bits);
        return DType == DType.Float64 ? t : t.To(DType);
    }

    public override Distribution Detached() => this;

    /// <summary>-sum_z p(z | x) log p(z | x) per row.</summary>
    public override Tensor Entropy()
    {
        var h = new double[Rows];
        for (int b = 0; b < Rows; b++)
            for (long i = 0; i < _n; i++)
            {
                double lp = _logPost[b * _n + i];
                h[b] -= Math.Exp(lp) * lp;
            }
        var t = Tensor.FromArray(h, Rows);
        return DType == DType.Float64 ? t : t.To(DType);
    }
}
