using System.Runtime.InteropServices;

namespace Engine.Kernels.Cpu;

/// <summary>
/// One validated GEMM call on raw pointers (the caller keeps the spans pinned for the whole call, including
/// while worker threads run on them). Element (i, p) of op(A) and (p, j) of op(B) are read through
/// <see cref="AOffset"/> / <see cref="BOffset"/>, so transposes are resolved where data is packed.
/// </summary>
internal readonly unsafe struct GemmProblem<T> where T : unmanaged
{
    public readonly bool TransA;
    public readonly bool TransB;
    public readonly int M;
    public readonly int N;
    public readonly int K;
    public readonly T Alpha;
    public readonly T Beta;
    public readonly T* A;
    public readonly nint Lda;
    public readonly T* B;
    public readonly nint Ldb;
    public readonly T* C;
    public readonly nint Ldc;

    public GemmProblem(bool transA, bool transB, int m, int n, int k, T alpha, T* a, int lda, T* b, int ldb, T beta, T* c, int ldc)
    {
        TransA = transA;
        TransB = transB;
        M = m;
        N = n;
        K = k;
        Alpha = alpha;
        Beta = beta;
        A = a;
        Lda = lda;
        B = b;
        Ldb = ldb;
        C = c;
        Ldc = ldc;
    }

    /// <summary>Offset of op(A)(i, p) from <see cref="A"/>.</summary>
    public nint AOffset(int i, int p) => TransA ? p * Lda + i : i * Lda + p;

    /// <summary>Offset of op(B)(p, j) from <see cref="B"/>.</summary>
    public nint BOffset(int p, int j) => TransB ? j * Ldb + p : p * Ldb + j;
}

/// <summary>
/// Thread-local, 64-byte aligned native scratch for the packed panels (A and B separately). Reused from call
/// to call, so steady-state GEMMs allocate nothing; the finalizer returns the memory when the thread that
/// owns it has died and the holder became unreachable.
/// </summary>
internal sealed unsafe class GemmBuffer
{
    [ThreadStatic] private static GemmBuffer? t_a;
    [ThreadStatic] private static GemmBuffer? t_b;

    private void* _ptr;
    private nuint _bytes;

    /// <summary>This thread's buffer for packed A blocks, at least <paramref name="count"/> elements.</summary>
    public static T* ForA<T>(int count) where T : unmanaged => (t_a ??= new GemmBuffer()).Get<T>(count);

    /// <summary>This thread's buffer for packed B blocks, at least <paramref name="count"/> elements.</summary>
    public static T* ForB<T>(int count) where T : unmanaged => (t_b ??= new GemmBuffer()).Get<T>(count);

    private T* Get<T>(int count) where T : unmanaged
    {
        nuint need = (nuint)count * (nuint)sizeof(T);
        if (need > _bytes)
        {
            // Grow geometrically in 64 KiB steps so a sequence of slightly larger shapes reallocates rarely.
            nuint size = Math.Max(need, _bytes + _bytes / 2);
            size = (size + 65535) & ~(nuint)65535;
            void* fresh = NativeMemory.AlignedAlloc(size, 64);
            NativeMemory.AlignedFree(_ptr);
            _ptr = fresh;
            _bytes = size;
        }
        return (T*)_ptr;
    }

    ~GemmBuffer()
    {
        NativeMemory.AlignedFree(_ptr);
    }
}
