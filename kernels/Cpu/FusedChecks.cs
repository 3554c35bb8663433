using System.Numerics;

namespace Engine.Kernels.Cpu;

/// <summary>
/// Argument validation shared by <see cref="Fused"/> and its scalar twin, so both reject the same calls with the
/// same messages: lengths must match the shape (the message names the argument, the expected and the actual
/// length), and outputs may alias an input only exactly (in place), never partially.
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

    /// <summary>Output <paramref name="output"/> may be <paramref name="input"/> itself or disjoint from it.</summary>
    internal static void SameOrDisjoint<T>(ReadOnlySpan<T> input, ReadOnlySpan<T> output, string outputName, string inputName)
    {
        if (input.Overlaps(output, out int shift) && (shift != 0 || input.Length != output.Length))
            throw new ArgumentException($"{outputName} partially overlaps {inputName}; it may only be the same span (in place) or disjoint.", outputName);
    }

    internal static void Disjoint<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, string aName, string bName)
    {
        if (a.Overlaps(b))
            throw new ArgumentException($"{aName} overlaps {bName}; they must be disjoint.", aName);
    }

    private static void CheckActivation(Fused.Activation act)
    {
        if ((uint)act > (uint)Fused.Activation.Softplus)
            throw new ArgumentOutOfRangeException(nameof(act), act, "Unknown activation.");
    }

    internal static void BiasActivation<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> bias, ReadOnlySpan<T> y, int rows, int cols, Fused.Activation act)
    {
        long n = Shape(rows, cols);
        CheckActivation(act);
        Matrix(x.Length, rows, cols, n, nameof(x));
        Length(bias.Length, cols, nameof(bias), "cols");
        Matrix(y.Length, rows, cols, n, nameof(y));
        SameOrDisjoint(x, y, nameof(y), nameof(x));
        Disjoint(bias, y, nameof(bias), nameof(y));
    }

    internal static void BiasActivationBackward<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> dy, ReadOnlySpan<T> dPre, ReadOnlySpan<T> dBias, int rows, int cols, Fused.Activation act, T slope)
        where T : IFloatingPointIeee754<T>
    {
        long n = Shape(rows, cols);
        CheckActivation(act);
        // The derivative is read off the sign of y, which tells the side of the kink only when slope >= 0.
        if (act == Fused.Activation.LeakyRelu && !(slope >= T.Zero))
            throw new ArgumentOutOfRangeException(nameof(slope), slope, "The leaky ReLU backward needs slope >= 0 (the side of the kink is read from the sign of y).");
        Matrix(y.Length, rows, cols, n, nameof(y));
        Matrix(dy.Length, rows, cols, n, nameof(dy));
        Matrix(dPre.Length, rows, cols, n, nameof(dPre));
        Length(dBias.Length, cols, nameof(dBias), "cols");
        SameOrDisjoint(y, dPre, nameof(dPre), nameof(y));
        SameOrDisjoint(dy, dPre, nameof(dPre), nameof(dy));
        Disjoint(dBias, y, nameof(dBias), nameof(y));
        Disjoint(dBias, dy, nameof(dBias), nameof(dy));
        Disjoint(dBias, dPre, nameof(dBias), nameof(dPre));
    }

    internal static void Reparameterize<T>(ReadOnlySpan<T> mu, ReadOnlySpan<T> logvar, ReadOnlySpan<T> eps, ReadOnlySpan<T> z)
    {
        Length(logvar.Length, mu.Length, nameof(logvar), "mu.Length");
        Length(eps.Length, mu.Length, nameof(eps), "mu.Length");
        Length(z.Length, mu.Length, nameof(z), "mu.Length");
        SameOrDisjoint(mu, z, nameof(z), nameof(mu));
        SameOrDisjoint(logvar, z, nameof(z), nameof(logvar));
        SameOrDisjoint(eps, z, nameof(z), nameof(eps));
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
