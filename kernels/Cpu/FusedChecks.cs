namespace Engine.Kernels.Cpu;

/// <summary>
/// Argument validation shared by <see cref="Fused"/> and its scalar twin, so both reject the same calls with the
/// same messages: lengths must match the shape (the message names the argument, the expected and the actual
/// length), and outputs may not overlap the inputs or each other.
/// </summary>
internal static class FusedChecks
{
    private static long Shape(int rows, int cols)
    {
        if (rows < 0) throw new ArgumentOutOfRangeException(nameof(rows), rows, "rows must be non-negative.");
        if (cols < 0) throw new ArgumentOutOfRangeException(nameof(cols), cols, "cols must be non-negative.");
        return (long)rows * cols;
    }

    internal static void Length(int actual, long expected, string name, string what)
    {
        if (actual != expected)
            throw new ArgumentException($"{name} has length {actual}, expected {expected} ({what}).", name);
    }

    // The message is built only on failure: an interpolated string argument would allocate on every call.
    private static void Matrix(int actual, int rows, int cols, long n, string name)
    {
        if (actual != n) ThrowMatrix(actual, rows, cols, n, name);
    }

    private static void ThrowMatrix(int actual, int rows, int cols, long n, string name)
        => throw new ArgumentException($"{name} has length {actual}, expected {n} (rows * cols = {rows} * {cols}).", name);

    internal static void Disjoint<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, string aName, string bName)
    {
        if (a.Overlaps(b))
            throw new ArgumentException($"{aName} overlaps {bName}; they must be disjoint.", aName);
    }

    internal static void RowLoss<T>(ReadOnlySpan<T> outRows, int rows, int cols, ReadOnlySpan<T> a, string aName, ReadOnlySpan<T> b, string bName)
    {
        long n = Shape(rows, cols);
        Matrix(a.Length, rows, cols, n, aName);
        Matrix(b.Length, rows, cols, n, bName);
        Length(outRows.Length, rows, nameof(outRows), "rows");
        Disjoint(outRows, a, nameof(outRows), aName);
        Disjoint(outRows, b, nameof(outRows), bName);
    }

    internal static void RowLoss<T>(ReadOnlySpan<T> outRows, int rows, int cols, ReadOnlySpan<T> a, string aName, ReadOnlySpan<T> b, string bName, ReadOnlySpan<T> c, string cName)
    {
        RowLoss(outRows, rows, cols, a, aName, b, bName);
        Matrix(c.Length, rows, cols, (long)rows * cols, cName);
        Disjoint(outRows, c, nameof(outRows), cName);
    }

    internal static void Adam<T>(ReadOnlySpan<T> param, ReadOnlySpan<T> grad, ReadOnlySpan<T> m, ReadOnlySpan<T> v, int step)
    {
        if (step < 1) throw new ArgumentOutOfRangeException(nameof(step), step, "step counts from 1 (the bias corrections divide by 1 - beta^step).");
        Length(grad.Length, param.Length, nameof(grad), "param.Length");
        Length(m.Length, param.Length, nameof(m), "param.Length");
        Length(v.Length, param.Length, nameof(v), "param.Length");
        Disjoint(param, grad, nameof(param), nameof(grad));
        Disjoint(param, m, nameof(param), nameof(m));
        Disjoint(param, v, nameof(param), nameof(v));
        Disjoint(m, v, nameof(m), nameof(v));
        Disjoint(m, grad, nameof(m), nameof(grad));
        Disjoint(v, grad, nameof(v), nameof(grad));
    }
}
