using System.Numerics;
using Engine.Kernels.Cpu;

namespace Engine.Kernels.Rules;

/// <summary>
/// The value rule x op y of every <see cref="BinaryOp"/>, each written once. The scalar reference
/// (<see cref="Reference.ReferenceElementwise.Binary{T}"/>), the strided loop of <see cref="Strided.Binary{T}"/> (rank 0
/// and rows whose innermost strides are neither 0 nor 1) and the device kernels (<see cref="Gpu.StridedKernels.Binary{T}"/>,
/// <see cref="Gpu.StridedKernels.BinaryContiguous{T}"/>) evaluate <see cref="Value{T}"/> per element; the one fast twin is
/// the TensorPrimitives call of each rule in <see cref="Strided.Binary{T}"/>, and the kernel tests hold it against this
/// table on broadcast shapes and special values.
/// </summary>
/// <remarks>
/// <para>Form: ILGPU compiles <see cref="Value{T}"/> into the device kernels, so it uses only arithmetic; no throw,
/// no generic conversions, no bit casts. An op code outside <see cref="BinaryOp"/> gives NaN; hosts reject it with
/// <see cref="Validate"/> before they run a rule.</para>
/// <para>Each rule is one correctly rounded IEEE operation, so every path gives the same bits for every result that is
/// not NaN (infinities, signed zeros and subnormals included; x / ±0 is a signed infinity for x != 0) and a NaN
/// wherever the table does (inf - inf, 0 * inf, 0 / 0, inf / inf, a NaN operand). Which NaN (sign, payload) is not
/// pinned: the fast twin computes a scalar-broadcast s + b and s b as b + s and b s. The backward rule of each, with g the gradient of x op y, is composed once in the engine's
/// <c>Ops.BinaryBackward</c> from <see cref="BinaryOp"/> and <see cref="UnaryOp.Neg"/> launches, each contribution summed
/// back over the dimensions its operand was broadcast along.
/// <list type="bullet">
/// <item><term>Add</term><description>x + y; dx += g, dy += g. Fast: TensorPrimitives.Add.</description></item>
/// <item><term>Sub</term><description>x - y; dx += g, dy += -g. Fast: TensorPrimitives.Subtract.</description></item>
/// <item><term>Mul</term><description>x y; dx += g y, dy += g x. Fast: TensorPrimitives.Multiply.</description></item>
/// <item><term>Div</term><description>x / y; dx += g / y, dy += -((g (x / y)) / y). Fast: TensorPrimitives.Divide.</description></item>
/// </list></para>
/// <para>The public methods are the <c>Tensor</c> methods Add, Sub, Mul and Div of another tensor (and the operators
/// +, -, *, /), which broadcast their operands and record the op for the backward pass.</para>
/// </remarks>
public static class BinaryRules
{
    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> unless <paramref name="op"/> is a member of
    /// <see cref="BinaryOp"/>. Host code only: the rule itself returns NaN for such a code.</summary>
    public static void Validate(BinaryOp op)
    {
        if (!Enum.IsDefined(op)) throw new ArgumentOutOfRangeException(nameof(op), op, "Unknown binary op.");
    }

    /// <summary>x op y of one element (see the class remarks); NaN for an op code outside <see cref="BinaryOp"/>.</summary>
    public static T Value<T>(BinaryOp op, T x, T y) where T : IFloatingPointIeee754<T>
    {
        switch (op)
        {
            case BinaryOp.Add: return x + y;
            case BinaryOp.Sub: return x - y;
            case BinaryOp.Mul: return x * y;
            case BinaryOp.Div: return x / y;
            default: return T.NaN;
        }
    }
}
