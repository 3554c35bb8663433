using System.Numerics;

namespace Engine.Kernels.Cpu;

/// <summary>
/// Backward rules of the fused per-row losses (forwards in <c>Fused</c>). Rows of <c>cols</c> elements; the
/// upstream gradient has one value per row.
/// </summary>
public static class LossGradients
{
    /// <summary>
    /// For out[r] = sum_c BCE(logits, targets): dLogits += dy[r] (sigmoid(l) - t); dTargets += -dy[r] l.
    /// Either output may be empty when that input needs no gradient.
    /// </summary>
    public static void BceWithLogitsRows<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, ReadOnlySpan<T> dyRows,
        Span<T> dLogits, Span<T> dTargets, int rows, int cols) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = 0; r < rows; r++)
        {
            T g = dyRows[r];
            int b = r * cols;
            if (!dLogits.IsEmpty)
                for (int c = 0; c < cols; c++) dLogits[b + c] += g * (Unary.Sigmoid(logits[b + c]) - targets[b + c]);
            if (!dTargets.IsEmpty)
                for (int c = 0; c < cols; c++) dTargets[b + c] -= g * logits[b + c];
        }
    }

    /// <summary>
    /// For out[r] = sum_c log N(x | mu, exp(logvar)): with d = (x - mu) exp(-logvar),
    /// dx += -dy d; dMu += dy d; dLogvar += dy (0.5 d (x - mu) - 0.5).
    /// </summary>
    public static void GaussianLogDensityRows<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> mu, ReadOnlySpan<T> logvar, ReadOnlySpan<T> dyRows,
        Span<T> dx, Span<T> dMu, Span<T> dLogvar, int rows, int cols) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T half = T.One / (T.One + T.One);
        for (int r = 0; r < rows; r++)
        {
            T g = dyRows[r];
            int b = r * cols;
            for (int c = 0; c < cols; c++)
            {
                int i = b + c;
                T diff = x[i] - mu[i];
                T d = diff * T.Exp(-logvar[i]);
                if (!dx.IsEmpty) dx[i] -= g * d;
                if (!dMu.IsEmpty) dMu[i] += g * d;
                if (!dLogvar.IsEmpty) dLogvar[i] += g * (half * d * diff - half);
            }
        }
    }
}
