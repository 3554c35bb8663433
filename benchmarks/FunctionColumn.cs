using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Engine.Benchmarks;

/// <summary>
/// A summary column computed by a function of the case ("-" where it does not apply): GFLOP/s and fractions of
/// the same-run FMA peak, peer timings and speed-ups. Column names must be unique within a run.
/// </summary>
public sealed class FunctionColumn(string name, string legend, Func<Summary, BenchmarkCase, string?> value) : IColumn
{
    public string Id => "Engine." + name;
    public string ColumnName => name;
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => legend;
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => value(summary, benchmarkCase) ?? "-";
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;
}
