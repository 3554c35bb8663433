using ScottPlot;

namespace Engine.Cli.Output;

/// <summary>Line and scatter plots as PNG files (ScottPlot, headless).</summary>
public static class Plots
{
    /// <summary>Training curves: one line per series against the epoch.</summary>
    public static void Curves(string path, string title, string yLabel, IReadOnlyList<(string Name, double[] X, double[] Y)> series, string xLabel = "epoch")
    {
        var plt = new Plot();
        foreach (var (name, x, y) in series)
        {
            if (x.Length == 0) continue;
            var s = plt.Add.Scatter(x, y);
            s.LegendText = name;
        }
        plt.Title(title);
        plt.XLabel(xLabel);
        plt.YLabel(yLabel);
        plt.ShowLegend(Alignment.LowerRight);
        Save(plt, path, 700, 450);
    }

    /// <summary>Points coloured by label, with a legend of class names.</summary>
    public static void LabelledScatter(string path, string title, double[] x, double[] y, int[] labels, IReadOnlyList<string> classNames, string xLabel, string yLabel)
    {
        var plt = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (int c = 0; c < classNames.Count; c++)
        {
            var idx = Enumerable.Range(0, labels.Length).Where(i => labels[i] == c).ToArray();
            if (idx.Length == 0) continue;
            var s = plt.Add.ScatterPoints(idx.Select(i => x[i]).ToArray(), idx.Select(i => y[i]).ToArray());
            s.Color = palette.GetColor(c);
            s.MarkerSize = 3;
            s.LegendText = classNames[c];
        }
        plt.Title(title);
        plt.XLabel(xLabel);
        plt.YLabel(yLabel);
        plt.ShowLegend(Alignment.UpperRight);
        Save(plt, path, 800, 650);
    }

    private static void Save(Plot plt, string path, int w, int h)
    {
        // Render to a temporary file, then rename: a crash never leaves a half-written picture.
        var tmp = path + ".tmp.png";
        plt.SavePng(tmp, w, h);
        System.IO.File.Move(tmp, path, overwrite: true);
    }
}
