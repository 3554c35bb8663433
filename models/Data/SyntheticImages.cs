namespace Engine.Models.Data;

/// <summary>
/// A built-in data set of 28x28 grey images in ten classes (bars, crosses, rings, squares, diagonals...),
/// drawn with random position, size, thickness and noise from a seed: the demo's fallback when Fashion-MNIST
/// is not installed, so the first command always works.
/// </summary>
public static class SyntheticImages
{
    public const int Side = 28;

    /// <summary>Ten class names, by label.</summary>
    public static readonly string[] ClassNames = ["h-bar", "v-bar", "cross", "ring", "square", "diagonal", "anti-diagonal", "disc", "corner", "two bars"];

    /// <summary>A train and test set of the given sizes.</summary>
    public static FashionMnist Create(int train = 6000, int test = 1000, int seed = 0) =>
        new(Make(train, seed, "synthetic-train"), Make(test, seed + 1, "synthetic-test"));

    private static ImageDataSet Make(int n, int seed, string name)
    {
        var rng = new Random(seed);
        var px = new float[n * Side * Side];
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            int c = i % 10;
            labels[i] = c;
            Draw(px.AsSpan(i * Side * Side, Side * Side), c, rng);
        }
        return new ImageDataSet(px, n, Side, Side, labels, name);
    }

    private static void Draw(Span<float> img, int c, Random rng)
    {
        double cx = 14 + rng.NextDouble() * 6 - 3, cy = 14 + rng.NextDouble() * 6 - 3;
        double r = 6 + rng.NextDouble() * 4, t = 1.2 + rng.NextDouble() * 1.5;
        for (int y = 0; y < Side; y++)
        for (int x = 0; x < Side; x++)
        {
            double dx = x - cx, dy = y - cy, d = Math.Sqrt(dx * dx + dy * dy);
            bool on = c switch
            {
                0 => Math.Abs(dy) < t && Math.Abs(dx) < r,
                1 => Math.Abs(dx) < t && Math.Abs(dy) < r,
                2 => (Math.Abs(dy) < t && Math.Abs(dx) < r) || (Math.Abs(dx) < t && Math.Abs(dy) < r),
                3 => Math.Abs(d - r) < t,
                4 => Math.Max(Math.Abs(dx), Math.Abs(dy)) is var m && Math.Abs(m - r) < t,
                5 => Math.Abs(dx - dy) < t * 1.4 && Math.Abs(dx) < r,
                6 => Math.Abs(dx + dy) < t * 1.4 && Math.Abs(dx) < r,
                7 => d < r * 0.8,
                8 => (Math.Abs(dy + r / 2) < t && dx > -r / 2 && dx < r) || (Math.Abs(dx + r / 2) < t && dy > -r / 2 && dy < r),
                _ => Math.Abs(Math.Abs(dy) - r / 2) < t && Math.Abs(dx) < r,
            };
            double v = on ? 0.85 + 0.15 * rng.NextDouble() : 0.05 * rng.NextDouble();
            img[y * Side + x] = (float)v;
        }
    }
}
