namespace Engine.Optim;

/// <summary>Gradient clipping.</summary>
public static class GradClip
{
    /// <summary>
    /// Scales all gradients by min(1, maxNorm / total norm), the total norm taken over every gradient as one
    /// vector (as torch.nn.utils.clip_grad_norm_). Returns the total norm before clipping.
    /// </summary>
    public static double ClipGradNorm(IReadOnlyList<Tensor> parameters, double maxNorm)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(maxNorm > 0)) throw new ArgumentOutOfRangeException(nameof(maxNorm), $"maxNorm must be positive; got {maxNorm}.");
        double sq = 0;
        for (int i = 0; i < parameters.Count; i++)
            if (parameters[i].Grad is { } g) sq += g.Backend.SumOfSquares(g);
        double norm = Math.Sqrt(sq);
        double scale = maxNorm / (norm + 1e-6);
        if (scale < 1)
            for (int i = 0; i < parameters.Count; i++)
                if (parameters[i].Grad is { } g) g.Backend.Unary(Kernels.Cpu.UnaryOp.Scale, g, g, scale, 0);
        return norm;
    }
}
