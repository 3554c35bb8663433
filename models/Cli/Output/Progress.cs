using System.Diagnostics;

namespace Engine.Cli.Output;

/// <summary>
/// Progress of a long loop: a live bar with rate and time left on a terminal, plain lines (about every ten
/// percent) when the output is redirected (CI, pipes), nothing with --quiet.
/// </summary>
public sealed class Progress
{
    private readonly bool _quiet;
    private readonly bool _terminal;

    public Progress(bool quiet)
    {
        _quiet = quiet;
        _terminal = !Console.IsOutputRedirected;
    }

    /// <summary>A line of text (suppressed by --quiet).</summary>
    public void Line(string text)
    {
        if (!_quiet) Console.WriteLine(text);
    }

    /// <summary>Starts a task; call the returned reporter with (steps done, steps in all).</summary>
    public Action<int, int> Task(string label)
    {
        if (_quiet) return (_, _) => { };
        var sw = Stopwatch.StartNew();
        int lastDecile = -1;
        return (done, total) =>
        {
            double frac = total > 0 ? (double)done / total : 1;
            double rate = done / Math.Max(sw.Elapsed.TotalSeconds, 1e-9);
            double left = rate > 0 ? (total - done) / rate : 0;
            if (_terminal)
            {
                int width = 30, filled = (int)(frac * width);
                Console.Write($"\r{label} [{new string('#', filled)}{new string('.', width - filled)}] {done}/{total} {rate,7:F1}/s  {left,5:F0}s left ");
                if (done >= total) Console.WriteLine();
            }
            else
            {
                int decile = (int)(frac * 10);
                if (decile != lastDecile && (decile > lastDecile || done >= total))
                {
                    lastDecile = decile;
                    Console.WriteLine($"{label}: {done}/{total} ({frac:P0}), {rate:F1}/s, {left:F0}s left");
                }
            }
        };
    }
}
