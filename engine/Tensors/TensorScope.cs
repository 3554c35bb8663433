namespace Engine;

/// <summary>
/// A region of code (typically one training step) whose tensors are recycled when it ends: their memory goes
/// back to the device pool and the tensor objects themselves are reused, so a loop of identical steps
/// reaches a steady state that allocates nothing on the managed heap. Tensors created outside any scope are
/// ordinary garbage-collected objects. Use <see cref="Tensor.Keep"/> on a result that must outlive its scope.
/// </summary>
/// <example><code>
/// for (int step = 0; step &lt; steps; step++)
/// {
///     using var scope = TensorScope.Begin();
///     var loss = model.Loss(batch);
///     optimizer.ZeroGrad();
///     loss.Backward();
///     optimizer.Step();
/// }
/// </code></example>
public static class TensorScope
{
    internal sealed class Frame
    {
        public readonly List<Tensor> Owned = new(256);
    }

    [ThreadStatic] private static List<Frame>? t_frames;
    [ThreadStatic] private static int t_depth;
    [ThreadStatic] private static int t_suspended;
    [ThreadStatic] private static Stack<Tensor>? t_freeTensors;

    /// <summary>Opens a scope; dispose it to release every tensor created inside that was not kept.</summary>
    public static Handle Begin()
    {
        var frames = t_frames ??= new List<Frame>();
        if (t_depth == frames.Count) frames.Add(new Frame());
        t_depth++;
        return new Handle(t_depth);
    }

    /// <summary>Depth of nested scopes on this thread (0 outside any scope).</summary>
    public static int Depth => t_depth;

    internal static Frame? Current => t_depth == 0 || t_suspended > 0 ? null : t_frames![t_depth - 1];

    internal static Tensor RentObject()
    {
        var free = t_freeTensors;
        return free != null && free.Count > 0 ? free.Pop() : new Tensor();
    }

    /// <summary>
    /// Until the returned handle is disposed, tensors created on this thread belong to no scope: they outlive the open
    /// scopes (results a method returns to a caller inside a scope, state it keeps). Suspensions nest.
    /// </summary>
    public static SuspendHandle Suspend()
    {
        t_suspended++;
        return default;
    }

    /// <summary>Ends a <see cref="Suspend"/> when disposed.</summary>
    public readonly struct SuspendHandle : IDisposable
    {
        public void Dispose() => t_suspended--;
    }

    private static void End(int depth)
    {
        if (depth != t_depth)
            throw new InvalidOperationException($"TensorScope ended out of order: closing depth {depth} while depth {t_depth} is open.");
        var frame = t_frames![depth - 1];
        t_depth--;
        var free = t_freeTensors ??= new Stack<Tensor>(256);
        var owned = frame.Owned;
        // Release storage first, then recycle objects: a view and its base may sit anywhere in the list.
        for (int i = 0; i < owned.Count; i++)
        {
            var t = owned[i];
            if (t.Kept)
            {
                t.Owner = null;
                // Its graph points at tensors this scope recycles; a later backward would read whatever reuses
                // them. Keep the data, drop the graph (a kept leaf stays a leaf, parameters keep RequiresGrad).
                if (t.Op != Autograd.OpKind.None)
                {
                    t.Op = Autograd.OpKind.None;
                    t.In0 = t.In1 = t.In2 = null;
                    t.InMany = null;
                    t.Indices = null;
                    t.RequiresGradFlag = false;
                }
                continue;
            }
            ReleaseStorage(t);
        }
        for (int i = 0; i < owned.Count; i++)
        {
            var t = owned[i];
            if (t.Owner == null) continue; // kept
            t.ResetForReuse();
            free.Push(t);
        }
        owned.Clear();
    }

    // Drops this tensor's reference to its storage, returning the block to the pool when it was the last.
    internal static void ReleaseStorage(Tensor t)
    {
        var s = t._storage;
        if (s == null) return;
        t._storage = null;
        if (Interlocked.Decrement(ref s.RefCount) == 0) s.Device.Backend.Release(s);
    }

    /// <summary>An open scope; disposing it ends the scope.</summary>
    public readonly struct Handle : IDisposable
    {
        private readonly int _depth;
        internal Handle(int depth) => _depth = depth;

        /// <summary>Ends the scope, recycling its tensors.</summary>
        public void Dispose()
        {
            if (_depth > 0) End(_depth);
        }
    }
}
