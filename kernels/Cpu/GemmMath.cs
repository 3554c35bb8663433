using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Engine.Kernels.Cpu;

/// <summary>
/// A compile-time integer carried by a struct type argument. The JIT specialises generic methods per struct
/// instantiation and inlines the static property, so <c>TRows.Value</c> folds to a constant: this is how one
/// micro-kernel body yields every narrower edge variant without a hand-written copy per shape.
/// </summary>
internal interface IGemmConst
{
    static abstract int Value { get; }
}

/// <summary>0: the micro-kernel's edge-tile specialisation (see GemmKernel512.Tile).</summary>
internal readonly struct GemmEdge : IGemmConst { public static int Value => 0; }
internal readonly struct GemmConst1 : IGemmConst { public static int Value => 1; }
internal readonly struct GemmConst2 : IGemmConst { public static int Value => 2; }
internal readonly struct GemmConst3 : IGemmConst { public static int Value => 3; }
internal readonly struct GemmConst4 : IGemmConst { public static int Value => 4; }
internal readonly struct GemmConst5 : IGemmConst { public static int Value => 5; }
internal readonly struct GemmConst6 : IGemmConst { public static int Value => 6; }
internal readonly struct GemmConst7 : IGemmConst { public static int Value => 7; }
internal readonly struct GemmConst8 : IGemmConst { public static int Value => 8; }
internal readonly struct GemmConst9 : IGemmConst { public static int Value => 9; }
internal readonly struct GemmConst10 : IGemmConst { public static int Value => 10; }
internal readonly struct GemmConst11 : IGemmConst { public static int Value => 11; }
internal readonly struct GemmConst12 : IGemmConst { public static int Value => 12; }

/// <summary>Small generic helpers shared by the GEMM micro-kernels and paths.</summary>
internal static class GemmMath
{
    public const int BetaZero = 0;
    public const int BetaOne = 1;
    public const int BetaOther = 2;

    /// <summary>0: overwrite C (its NaN/Inf must not leak through 0*C); 1: accumulate; 2: scale then accumulate.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int BetaKind<T>(T beta) where T : INumberBase<T>
        => T.IsZero(beta) ? BetaZero : beta == T.One ? BetaOne : BetaOther;

    /// <summary>a*b + c with one rounding; the typeof tests fold away in each specialisation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Fma<T>(Vector512<T> a, Vector512<T> b, Vector512<T> c)
    {
        if (typeof(T) == typeof(float))
            return Vector512.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Vector512.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        return a * b + c;
    }

    /// <inheritdoc cref="Fma{T}(Vector512{T}, Vector512{T}, Vector512{T})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Fma<T>(Vector256<T> a, Vector256<T> b, Vector256<T> c)
    {
        if (typeof(T) == typeof(float))
            return Vector256.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Vector256.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        return a * b + c;
    }

    /// <summary>
    /// Merges a micro-tile parked on the stack (raw sums, row stride <paramref name="stride"/>) into the first
    /// <paramref name="cols"/> columns of C: C = alpha * sum + beta * C (beta == 0 does not read C). Only
    /// the tiles on the right edge of C come here; whole vectors still go through vector code (on narrow
    /// matrices every tile is an edge tile), the last few columns through scalars.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static unsafe void MergeEdgeTile<T>(T* tile, int stride, int rows, int cols, T* c, nint ldc, T alpha, T beta)
        where T : unmanaged, INumberBase<T>
    {
        bool betaZero = T.IsZero(beta);
        for (int r = 0; r < rows; r++, tile += stride, c += ldc)
        {
            int j = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                for (; j + Vector512<T>.Count <= cols; j += Vector512<T>.Count)
                {
                    Vector512<T> x = Vector512.Create(alpha) * Vector512.Load(tile + j);
                    if (!betaZero) x = Fma(Vector512.Create(beta), Vector512.Load(c + j), x);
                    x.Store(c + j);
                }
            }
            if (Vector256.IsHardwareAccelerated)
            {
                for (; j + Vector256<T>.Count <= cols; j += Vector256<T>.Count)
                {
                    Vector256<T> x = Vector256.Create(alpha) * Vector256.Load(tile + j);
                    if (!betaZero) x = Fma(Vector256.Create(beta), Vector256.Load(c + j), x);
                    x.Store(c + j);
                }
            }
            for (; j < cols; j++)
                c[j] = betaZero ? alpha * tile[j] : alpha * tile[j] + beta * c[j];
        }
    }

    /// <summary>Ceiling division for non-negative operands.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int DivUp(int x, int y) => (x + y - 1) / y;

    /// <summary>Rounds <paramref name="x"/> up to a multiple of <paramref name="y"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int RoundUp(int x, int y) => DivUp(x, y) * y;
}
