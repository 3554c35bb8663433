using System.Runtime.CompilerServices;
using Engine.Autograd;
using Engine.Devices;

namespace Engine;

/// <summary>
/// A row-major, contiguous n-d array of float32 or float64 on a device, and a node of the autodiff graph.
/// Ops build the graph as they run (define-by-run); <see cref="Backward(Tensor?)"/> walks it in reverse.
/// Tensors created inside a <see cref="TensorScope"/> are recycled when the scope ends, which is how a
/// training step reaches a steady state without allocating.
/// </summary>
public sealed partial class Tensor
{
    internal Storage? _storage;
    internal int _offset;
    private Shape _shape;
    private DType _dtype;

    // ---- the autodiff node: which op made this tensor, from what, with which parameters ----
    internal OpKind Op;
    internal Tensor? In0, In1, In2;
    internal Tensor[]? InMany;
    internal int I0, I1;
    internal double P0, P1;
    internal int[]? Indices;
    internal bool RetainsGradFlag;
    internal bool RequiresGradFlag;
    internal int VisitStamp;

    // ---- ownership ----
    internal TensorScope.Frame? Owner;
    internal bool Kept;

    internal Tensor() { }

    /// <summary>The dimensions.</summary>
    public Shape Shape => _shape;

    /// <summary>Number of dimensions.</summary>
    public int Rank => _shape.Rank;

    /// <summary>Number of elements.</summary>
    public int Count => _shape.Count;

    /// <summary>Element type.</summary>
    public DType DType => _dtype;

    /// <summary>The device holding the data.</summary>
    public Device Device => Storage.Device;

    internal Storage Storage => _storage ?? throw new ObjectDisposedException(nameof(Tensor),
        "This tensor was released when its TensorScope ended; call Keep() on tensors that must outlive their scope.");

    internal Backend Backend => Storage.Device.Backend;

    /// <summary>The gradient accumulated by <see cref="Backward(Tensor?)"/> (leaves, and intermediates that <see cref="RetainGrad"/>).</summary>
    public Tensor? Grad { get; internal set; }

    /// <summary>Whether gradients flow to this tensor. Settable on leaves only (tensors no op produced).</summary>
    public bool RequiresGrad
    {
        get => RequiresGradFlag;
        set
        {
            if (Op != OpKind.None && !value)
                throw new InvalidOperationException($"RequiresGrad can only be cleared on a leaf tensor; this one was produced by '{OpName}'. Use Detach().");
            RequiresGradFlag = value;
        }
    }

    /// <summary>True when no op produced this tensor (data and parameters).</summary>
    public bool IsLeaf => Op == OpKind.None;

    /// <summary>A readable name of the op that produced this tensor ("leaf" for leaves).</summary>
    public string OpName => Ops.Describe(this);

    /// <summary>Sets <see cref="RequiresGrad"/> and returns this tensor, for fluent construction.</summary>
    public Tensor RequireGrad(bool value = true)
    {
        RequiresGrad = value;
        return this;
    }

    /// <summary>Keeps <see cref="Grad"/> on this intermediate tensor after backward.</summary>
    public Tensor RetainGrad()
    {
        RetainsGradFlag = true;
        return this;
    }

    /// <summary>True when no element is NaN or infinite (one scalar read on a device).</summary>
    public bool AllFinite() => Backend.AllFinite(this);

    /// <summary>
    /// Keeps this tensor alive after its scope ends: it becomes an ordinary, garbage-collected tensor, and one that an
    /// op produced is cut from the graph then (its inputs are recycled), so call Backward inside the scope.
    /// </summary>
    public Tensor Keep()
    {
        Kept = true;
        if (Grad is { } g) g.Kept = true;
        return this;
    }

    /// <summary>Clears the accumulated gradient (sets its elements to zero).</summary>
    public void ZeroGrad()
    {
        if (Grad is { } g) Backend.Fill(g, 0);
    }

    // ---- construction ----

    // Every tensor is made here: from the scope's recycled objects when a scope is active.
    internal static Tensor Create(in Shape shape, DType dtype, Device device)
    {
        var frame = TensorScope.Current;
        var t = frame != null ? TensorScope.RentObject() : new Tensor();
        t._shape = shape;
        t._dtype = dtype;
        int n = shape.Count;
        t._storage = device.Backend.Allocate(dtype, n, pooled: frame != null);
        t._storage.RefCount = 1;
        t._offset = 0;
        if (frame != null) { t.Owner = frame; frame.Owned.Add(t); }
        return t;
    }

    // A tensor sharing this tensor's storage (a view): reshape and row slices.
    internal Tensor View(in Shape shape, int offset)
    {
        var frame = TensorScope.Current;
        var t = frame != null ? TensorScope.RentObject() : new Tensor();
        t._shape = shape;
        t._dtype = _dtype;
        t._storage = Storage;
        t._offset = _offset + offset;
        Interlocked.Increment(ref t._storage.RefCount);
        if (frame != null) { t.Owner = frame; frame.Owned.Add(t); }
        return t;
    }

    // A tensor with this one's shape, owned like this one (so a parameter's gradient outlives the step's scope).
    internal Tensor CreateOwnedLike(bool zero)
    {
        Tensor t;
        if (Owner == null || Kept)
        {
            using (TensorScope.Suspend()) t = Create(_shape, _dtype, Device);
        }
        else t = Create(_shape, _dtype, Device);
        if (zero) Backend.Fill(t, 0);
        return t;
    }

    internal void ResetForReuse()
    {
        _storage = null;
        _offset = 0;
        _shape = default;
        Op = OpKind.None;
        In0 = In1 = In2 = null;
        InMany = null;
        Indices = null;
        I0 = I1 = 0;
        P0 = P1 = 0;
        RetainsGradFlag = RequiresGradFlag = false;
        VisitStamp = 0;
        Owner = null;
        Kept = false;
        Grad = null;
    }

    // ---- data access (CPU) ----

    /// <summary>The elements as a span, for tensors on the CPU.</summary>
    internal Span<T> Span<T>() where T : unmanaged
    {
        if (Storage is not CpuStorage cpu)
            throw new InvalidOperationException($"Tensor of shape {Shape} lives on {Device.Name}; copy it to the CPU first.");
        if (DTypes.Of<T>() != _dtype)
            throw new InvalidOperationException($"Tensor holds {_dtype}, not {typeof(T).Name}.");
        return Unsafe.As<T[]>(cpu.Array).AsSpan(_offset, Count);
    }

    /// <summary>Copies the elements out as float32 (converting float64).</summary>
    public float[] ToFloatArray()
    {
        var a = new float[Count];
        if (_dtype == DType.Float32) Backend.CopyTo<float>(this, a);
        else
        {
            var d = new double[Count];
            Backend.CopyTo<double>(this, d);
            for (int i = 0; i < d.Length; i++) a[i] = (float)d[i];
        }
        return a;
    }

    /// <summary>Copies the elements out as float64 (widening float32).</summary>
    public double[] ToDoubleArray()
    {
        var a = new double[Count];
        if (_dtype == DType.Float64) Backend.CopyTo<double>(this, a);
        else
        {
            var f = new float[Count];
            Backend.CopyTo<float>(this, f);
            for (int i = 0; i < f.Length; i++) a[i] = f[i];
        }
        return a;
    }

    /// <summary>Copies the elements into <paramref name="dst"/> (its element type must match).</summary>
    public void CopyTo<T>(Span<T> dst) where T : unmanaged
    {
        CheckType<T>(nameof(dst));
        if (dst.Length < Count) throw new ArgumentException($"Destination holds {dst.Length} elements; the tensor has {Count}.", nameof(dst));
        Backend.CopyTo(this, dst);
    }

    /// <summary>Overwrites the elements from <paramref name="src"/> (not recorded by autodiff).</summary>
    public void CopyFrom<T>(ReadOnlySpan<T> src) where T : unmanaged
    {
        CheckType<T>(nameof(src));
        if (src.Length != Count) throw new ArgumentException($"Source holds {src.Length} elements; the tensor {Shape} has {Count}.", nameof(src));
        Backend.CopyFrom(src, this);
    }

    /// <summary>
    /// A copy on <paramref name="device"/> (not recorded by autodiff; a detached view when the tensor already lives
    /// there). The data passes through host memory, so this is for moving parameters and data before a loop, not inside one.
    /// </summary>
    public Tensor To(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (ReferenceEquals(device, Device)) return View(_shape, 0);
        var t = Create(_shape, _dtype, device);
        if (_dtype == DType.Float32)
        {
            var host = new float[Count];
            Backend.CopyTo<float>(this, host);
            t.Backend.CopyFrom<float>(host, t);
        }
        else
        {
            var host = new double[Count];
            Backend.CopyTo<double>(this, host);
            t.Backend.CopyFrom<double>(host, t);
        }
        return t;
    }

    /// <summary>The value of a one-element tensor.</summary>
    public double Item()
    {
        if (Count != 1) throw new InvalidOperationException($"Item() needs a tensor of one element; this one has shape {Shape}.");
        return ToDoubleArray()[0];
    }

    /// <summary>The element at a multi-index, for inspection and tests.</summary>
    public double At(params int[] index)
    {
        {
            if (index.Length != Rank) throw new ArgumentException($"Index of rank {index.Length} for a tensor of shape {Shape}.", nameof(index));
            int flat = 0;
            for (int i = 0; i < Rank; i++)
            {
                if ((uint)index[i] >= (uint)_shape[i]) throw new ArgumentOutOfRangeException(nameof(index), $"Index {index[i]} out of range for dimension {i} of shape {Shape}.");
                flat = flat * _shape[i] + index[i];
            }
            return ToDoubleArray()[flat];
        }
    }

    private void CheckType<T>(string arg)
    {
        if (DTypes.Of<T>() != _dtype)
            throw new ArgumentException($"Tensor holds {_dtype}; a span of {typeof(T).Name} was given.", arg);
    }

    public override string ToString()
    {
        if (_storage == null) return "Tensor(released)";
        var v = ToDoubleArray();
        var items = string.Join(", ", v.Take(8).Select(x => x.ToString("G6", System.Globalization.CultureInfo.InvariantCulture)));
        return $"Tensor({Shape}, {DType}, {Device.Name}{(Op != OpKind.None ? ", op=" + OpName : "")}: [{items}{(v.Length > 8 ? ", ..." : "")}])";
    }
}
