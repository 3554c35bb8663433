using System.Numerics;
using System.Runtime.CompilerServices;
using Engine.Kernels.Rules;

namespace Engine.Kernels.Gpu;

/// <summary>
/// Scalar functions the device kernels share, each written once in the form of its scalar twin in
/// <see cref="Reference.ReferenceElementwise"/> and <see cref="Reference.ReferenceFused"/>, so the GPU follows the same
/// NaN and infinity rules as the CPU. Only what ILGPU compiles for every backend is used: arithmetic, comparisons
/// and the runtime's math functions (which ILGPU maps to PTX/OpenCL instructions, libdevice or ILGPU.Algorithms' XMath);
/// no generic conversions, no bit casts.
/// </summary>
public static class DeviceMath
{
    /// <summary>max(a, b) propagating NaN as <c>T.Max</c> does (PTX's max.f32 would drop it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Max<T>(T a, T b) where T : IFloatingPointIeee754<T> => T.IsNaN(a) ? a : T.IsNaN(b) ? b : a > b ? a : b;

    /// <summary>x is neither infinite nor NaN (x - x is 0 exactly then, NaN otherwise).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsFinite<T>(T x) where T : IFloatingPointIeee754<T> => x - x == T.Zero;

    /// <summary>The BCE-with-logits term of one element (see <see cref="Reference.ReferenceFused.BceTerm{T}"/>).</summary>
    public static T BceTerm<T>(T l, T t) where T : IFloatingPointIeee754<T>
    {
        T a = T.Abs(l);
        T w = l > T.Zero ? T.One - t : t;
        T lin = w == T.Zero ? T.Zero : a * w;
        return lin + UnaryRules.Log1p(T.Exp(-a));
    }
}
