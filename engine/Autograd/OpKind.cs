namespace Engine.Autograd;

/// <summary>
/// The closed set of recorded ops. Each kind's forward and backward live together in one file under Ops/;
/// <see cref="Engine.Ops.Backward"/> dispatches with an exhaustive switch, so a kind without a rule fails loudly.
/// </summary>
internal enum OpKind
{
    None,
    Unary,          // I0 = UnaryOp, P0/P1 = parameters                    (Ops/Elementwise.cs)
    Binary,         // I0 = BinaryOp, broadcasting                          (Ops/Elementwise.cs)
    Where,          // In0 = mask (no gradient), In1/In2 = branches        (Ops/Elementwise.cs)
    Matmul,         // 2-D and batched                                      (Ops/Linear.cs)
    Linear,         // x W^T + b                                            (Ops/Linear.cs)
    Expand,         // broadcast to a shape                                 (Ops/Expand.cs)
    Reshape,        // a view                                               (Ops/Shape.cs)
    Transpose,      // I0, I1 = the swapped axes                            (Ops/Shape.cs)
    Slice,          // I0 = axis, I1 = start                                (Ops/Shape.cs)
    Concat,         // InMany, I0 = axis                                    (Ops/Shape.cs)
    GatherRows,     // Indices                                              (Ops/Shape.cs)
    Reduce,         // I0 = ReduceOp, I1 = axis                             (Ops/Reduce.cs)
    Normalize,      // I0 = NormalizeOp, I1 = axis                          (Ops/Reduce.cs)
    BceWithLogits,  // rows over the last axis                              (Ops/Losses.cs)
    GaussianLogDensity, // rows over the last axis                          (Ops/Losses.cs)
}
