namespace Engine.Models.Vae;

/// <summary>
/// Training produced a value that is NaN or infinite. Epoch and batch count from 1; batch is null for a
/// quantity measured after the epoch (the test ELBO, a parameter, the optimizer state).
/// </summary>
public sealed class TrainingDivergedException(int epoch, int? batch, string quantity, double value, string hint)
    : InvalidOperationException(
        $"training diverged in epoch {epoch}{(batch is { } b ? $", batch {b}" : "")}: {quantity} is {Describe(value)}. {hint}")
{
    public int Epoch { get; } = epoch;
    public int? Batch { get; } = batch;
    /// <summary>What was not finite, e.g. "the training ELBO" or "parameter encoder.0.weight".</summary>
    public string Quantity { get; } = quantity;
    public double Value { get; } = value;

    private static string Describe(double v) => double.IsNaN(v) ? "NaN" : v > 0 ? "+infinity" : v < 0 ? "-infinity" : "not finite";
}
