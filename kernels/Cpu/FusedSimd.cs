using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Engine.Kernels.Cpu;

/// <summary>
/// Which vector width the fused kernels and the random fills use. The hardware decides; tests can force a
/// narrower path on their own thread (the override is thread-static, so it never leaks into other tests) to cover
/// the AVX2 and scalar code on an AVX-512 machine.
/// </summary>
internal static class FusedSimd
{
    internal enum Level { Scalar = 0, V256 = 1, V512 = 2 }

    /// <summary>The widest path this machine runs natively. Vector512 counts only with real AVX-512 (on other
    /// hardware it is emulated and slower than scalar code); Vector256 only where it is hardware accelerated.</summary>
    internal static readonly Level Hardware =
        Vector512.IsHardwareAccelerated && Avx512F.IsSupported ? Level.V512 :
        Vector256.IsHardwareAccelerated && Avx2.IsSupported ? Level.V256 : Level.Scalar;

    [ThreadStatic] private static Level? t_forced;

    /// <summary>The path to take now: the hardware level, or the forced one when that is narrower.</summary>
    internal static Level Current => t_forced is { } f && f < Hardware ? f : Hardware;

    /// <summary>Forces at most <paramref name="level"/> on this thread until the returned scope is disposed.</summary>
    internal static Scope Force(Level level)
    {
        var previous = t_forced;
        t_forced = level;
        return new Scope(previous);
    }

    internal readonly struct Scope : IDisposable
    {
        private readonly Level? _previous;
        internal Scope(Level? previous) => _previous = previous;
        public void Dispose() => t_forced = _previous;
    }
}
