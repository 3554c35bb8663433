namespace Engine.Models.Inference;

/// <summary>Sums of exponentials kept in log space, accumulated over chunks that each live in their own scope.</summary>
internal static class LogSpace
{
    /// <summary>log(e^a + e^b) without overflow.</summary>
    public static double LogAddExp(double a, double b)
    {
        if (double.IsNegativeInfinity(a)) return b;
        if (double.IsNegativeInfinity(b)) return a;
        double m = Math.Max(a, b);
        return m + Math.Log(Math.Exp(a - m) + Math.Exp(b - m));
    }

    /// <summary>
    /// log sum_i exp(t_i) per row over <paramref name="total"/> terms that <paramref name="terms"/>(start, count)
    /// produces as [count, B] chunks of at most <paramref name="chunk"/>, combined by a running logsumexp.
    /// </summary>
    public static double[] ChunkedLogSumExp(int batch, long total, int chunk, Func<long, int, Tensor> terms)
    {
        var acc = new double[batch];
        Array.Fill(acc, double.NegativeInfinity);
        for (long done = 0; done < total; done += chunk)
        {
            int c = (int)Math.Min(chunk, total - done);
            using var scope = TensorScope.Begin();
            var lse = terms(done, c).LogSumExp(0).ToDoubleArray();
            for (int b = 0; b < batch; b++) acc[b] = LogAddExp(acc[b], lse[b]);
        }
        return acc;
    }

    /// <summary>The number of draws per chunk that keeps a chunk's widest tensors [c, B, width] under <paramref name="maxElements"/>.</summary>
    public static int ChunkFor(int batch, int width, int limit, long maxElements) =>
        (int)Math.Clamp(maxElements / Math.Max((long)batch * width * 4, 1), 1, Math.Max(limit, 1));
}
