using System.Numerics;
using Engine.Kernels.Cpu;

namespace Engine.Kernels.Reference;

/// <summary>
/// Plain scalar twins of <see cref="Fused"/>: the same signatures (generic over the element type), one loop per
/// kernel, the formula written once in the most direct stable form. They define the semantics (including NaN and
/// infinity handling) that the vectorised kernels must reproduce, serve as the test oracle, and are the fused
/// kernels' fallback on hardware without AVX2. Transcendental functions are the runtime's scalar ones
/// (T.Exp, T.Log); ln(1 + y) uses Goldberg's trick because <c>T.LogP1</c> is computed as Log(x + 1) and loses all
/// relative accuracy near 0.
/// </summary>
public static class ReferenceFused
{
    /// <summary>ln(2 pi), rounded to double.</summary>
    public const double Log2Pi = 1.8378770664093453;

    /// <summary>ln(1 + y) for y &gt;= 0, accurate for tiny y (Goldberg 1991, Theorem 4): u = 1 + y rounds, but
    /// ln(u) / (u - 1) is flat enough that the rounding cancels.</summary>
    public static T Log1p<T>(T y) where T : IFloatingPointIeee754<T>
    {
        T u = T.One + y;
        T d = u - T.One;
        return d == T.Zero ? y : T.Log(u) * (y / d);
    }

    /// <summary>The BCE-with-logits term of one element: max(l, 0) - l t + ln(1 + e^-|l|), with the linear part
    /// written |l| * (l &gt; 0 ? 1 - t : t) and taken as 0 when that weight is 0 (its limit when |l| = Inf).</summary>
    public static T BceTerm<T>(T l, T t) where T : IFloatingPointIeee754<T>
    {
        T a = T.Abs(l);
        T w = l > T.Zero ? T.One - t : t;
        T lin = w == T.Zero ? T.Zero : a * w;
        return lin + Log1p(T.Exp(-a));
    }

    /// <summary>outRows[r] = sum_c BceTerm(l[r, c], t[r, c]), summed left to right.</summary>
    public static void BceWithLogitsRowSum<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> outRows, int rows, int cols)
        where T : IFloatingPointIeee754<T>
    {
        FusedChecks.RowLoss(outRows, rows, cols, logits, nameof(logits), targets, nameof(targets));
        for (int r = 0; r < rows; r++)
        {
            T s = T.Zero;
            for (int c = 0; c < cols; c++) s += BceTerm(logits[r * cols + c], targets[r * cols + c]);
            outRows[r] = s;
        }
    }

    /// <summary>outRows[r] = -1/2 sum_c [(ln 2pi + logvar) + (x - mu)^2 e^-logvar].</summary>
    public static void GaussianLogDensityRows<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> mu, ReadOnlySpan<T> logvar, Span<T> outRows, int rows, int cols)
        where T : IFloatingPointIeee754<T>
    {
        FusedChecks.RowLoss(outRows, rows, cols, x, nameof(x), mu, nameof(mu), logvar, nameof(logvar));
        T log2Pi = T.CreateTruncating(Log2Pi);
        T minusHalf = T.CreateTruncating(-0.5);
        for (int r = 0; r < rows; r++)
        {
            T s = T.Zero;
            for (int c = 0; c < cols; c++)
            {
                int i = r * cols + c;
                T d = x[i] - mu[i];
                s += (log2Pi + logvar[i]) + d * d * T.Exp(-logvar[i]);
            }
            outRows[r] = minusHalf * s;
        }
    }

    /// <summary>One Adam/AdamW step, element by element, exactly the rule documented on
    /// <see cref="Fused.AdamUpdate(Span{float}, ReadOnlySpan{float}, Span{float}, Span{float}, float, float, float, float, float, bool, int)"/>.</summary>
    public static void AdamUpdate<T>(Span<T> param, ReadOnlySpan<T> grad, Span<T> m, Span<T> v,
        T lr, T beta1, T beta2, T eps, T weightDecay, bool decoupled, int step) where T : IFloatingPointIeee754<T>
    {
        FusedChecks.Adam<T>(param, grad, m, v, step);
        T t = T.CreateTruncating(step);
        T stepSize = lr / (T.One - T.Pow(beta1, t));               // lr / bias correction 1
        T invSqrtBc2 = T.One / T.Sqrt(T.One - T.Pow(beta2, t));    // sqrt(v_hat) = sqrt(v) * invSqrtBc2
        T decay = decoupled ? T.One - lr * weightDecay : T.One;    // AdamW: p - lr wd p = p (1 - lr wd)
        T omb1 = T.One - beta1, omb2 = T.One - beta2;
        for (int i = 0; i < param.Length; i++)
        {
            T p = param[i];
            T g = grad[i];
            if (!decoupled) g += weightDecay * p;                 // L2 regularisation folded into the gradient
            T mi = beta1 * m[i] + omb1 * g;
            T vi = beta2 * v[i] + omb2 * (g * g);
            m[i] = mi;
            v[i] = vi;
            T denom = T.Sqrt(vi) * invSqrtBc2 + eps;
            param[i] = p * decay - stepSize * mi / denom;
        }
    }
}
