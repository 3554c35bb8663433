using System.Numerics;

namespace Engine.Kernels.Cpu;

/// <summary>
/// Splits C into <c>parts</c> independent rectangles (whole rows or whole columns) and runs the packed GEMM
/// on each. No barrier is needed: each thread packs its own blocks. The split dimension is the one whose
/// split duplicates the cheaper packing: splitting n makes every thread pack all of A (m x k), splitting m
/// makes every thread pack all of B (k x n), so split n when m &lt;= n (on 784 x 128 x 400 A^T B, splitting m
/// measured 93% of the two-thread peak against 86% for n; on the 128-row shapes both splits tie). Cut points
/// fall on whole vectors of C (n) or on groups of four rows (m), so the shares stay balanced to within one
/// vector / four rows.
/// </summary>
internal sealed unsafe class GemmSplitTask<T> : IWorkerTask where T : unmanaged, INumberBase<T>
{
    /// <summary>Only touched while <see cref="CpuWorkerPool"/> is held, hence one instance per T suffices.</summary>
    public static readonly GemmSplitTask<T> Shared = new();

    private GemmProblem<T> _problem;
    private GemmPlan _plan;
    private bool _splitN;
    private int _granularity;
    private int _parts;

    public void Set(in GemmProblem<T> problem, in GemmPlan plan, bool splitN, int granularity, int parts)
    {
        _problem = problem;
        _plan = plan;
        _splitN = splitN;
        _granularity = granularity;
        _parts = parts;
    }

    public void Execute(int part)
    {
        int extent = _splitN ? _problem.N : _problem.M;
        int units = GemmMath.DivUp(extent, _granularity);
        int start = Math.Min(extent, (int)((long)units * part / _parts) * _granularity);
        int end = Math.Min(extent, (int)((long)units * (part + 1) / _parts) * _granularity);
        if (_splitN)
            GemmPacked.Run(_problem, 0, _problem.M, start, end, _plan);
        else
            GemmPacked.Run(_problem, start, end, 0, _problem.N, _plan);
    }
}
