using Engine.Autograd;

namespace Engine;

// Fused per-row log-likelihood terms of a VAE: one pass over the data instead of five or six elementwise ops.
public sealed partial class Tensor
{
    /// <summary>
    /// Binary cross-entropy with logits, summed over the last axis: out[..] = sum_c [max(l, 0) - l t + log(1 + e^-|l|)],
    /// the negative Bernoulli log-likelihood of targets t in [0, 1]. Stable for any logit. The targets have the
    /// logits' shape or a trailing part of it (broadcast over the leading axes without a copy: k samples of a batch).
    /// </summary>
    public static Tensor BceWithLogits(Tensor logits, Tensor targets) => Ops.BceWithLogits(logits, targets);

    /// <summary>
    /// The diagonal Gaussian log-density summed over the last axis:
    /// out[..] = -0.5 sum_c [log 2 pi + logvar + (x - mu)^2 e^-logvar]. All three have one shape.
    /// </summary>
    public static Tensor GaussianLogDensity(Tensor x, Tensor mu, Tensor logvar) => Ops.GaussianLogDensity(x, mu, logvar);
}

internal static partial class Ops
{
    public static Tensor BceWithLogits(Tensor logits, Tensor targets)
    {
        CheckNotNull(logits, "bce_with_logits", "logits");
        CheckNotNull(targets, "bce_with_logits", "targets");
        CheckCompatible("bce_with_logits", logits, targets);
        if (logits.Rank == 0) throw new ArgumentException("bce_with_logits: needs at least one axis (summed over the last).", nameof(logits));
        if (logits.Shape != targets.Shape)
        {
            // Targets may omit leading axes of the logits (k samples of one batch share its targets): read in place.
            if (targets.Rank == 0 || targets.Rank > logits.Rank || logits.Shape.Suffix(targets.Rank) != targets.Shape)
                throw new ArgumentException($"bce_with_logits: targets {targets.Shape} must have the logits' shape {logits.Shape} or a trailing part of it.", nameof(targets));
            if (targets.RequiresGradFlag) targets = targets.Expand(logits.Shape); // their gradient then sums through Expand
        }
        int cols = logits.Shape[-1], rows = logits.Count / Math.Max(cols, 1);
        var y = Tensor.Create(logits.Shape.Without(-1), logits.DType, logits.Device);
        logits.Backend.BceWithLogitsRows(logits, targets, y, rows, cols);
        return Record(y, OpKind.BceWithLogits, logits, targets);
    }

    private static void BceWithLogitsBackward(Tensor y, Tensor g)
    {
        Tensor l = y.In0!, t = y.In1!;
        int cols = l.Shape[-1], rows = l.Count / Math.Max(cols, 1);
        y.Backend.BceWithLogitsRowsBackward(l, t, g, l.RequiresGradFlag ? GradOf(l) : null, t.RequiresGradFlag ? GradOf(t) : null, rows, cols);
    }

    public static Tensor GaussianLogDensity(Tensor x, Tensor mu, Tensor logvar)
    {
        CheckNotNull(x, "gaussian_log_density", "x");
        CheckNotNull(mu, "gaussian_log_density", "mu");
        CheckNotNull(logvar, "gaussian_log_density", "logvar");
        CheckCompatible("gaussian_log_density", x, mu);
        CheckCompatible("gaussian_log_density", x, logvar);
        if (x.Shape != mu.Shape || x.Shape != logvar.Shape)
            throw new ArgumentException($"gaussian_log_density: x {x.Shape}, mu {mu.Shape} and logvar {logvar.Shape} must have one shape.");
        if (x.Rank == 0) throw new ArgumentException("gaussian_log_density: needs at least one axis (summed over the last).", nameof(x));
        int cols = x.Shape[-1], rows = x.Count / Math.Max(cols, 1);
        var y = Tensor.Create(x.Shape.Without(-1), x.DType, x.Device);
        x.Backend.GaussianLogDensityRows(x, mu, logvar, y, rows, cols);
        return Record(y, OpKind.GaussianLogDensity, x, mu, logvar);
    }

    private static void GaussianLogDensityBackward(Tensor y, Tensor g)
    {
        Tensor x = y.In0!, mu = y.In1!, lv = y.In2!;
        int cols = x.Shape[-1], rows = x.Count / Math.Max(cols, 1);
        y.Backend.GaussianLogDensityRowsBackward(x, mu, lv, g,
            x.RequiresGradFlag ? GradOf(x) : null, mu.RequiresGradFlag ? GradOf(mu) : null, lv.RequiresGradFlag ? GradOf(lv) : null, rows, cols);
    }
}
