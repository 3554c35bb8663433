using System.Globalization;
using Engine.Autograd;
using Engine.IO;

namespace Engine.Optim;

/// <summary>
/// Updates a fixed list of parameters from their accumulated gradients. State (moment buffers, step count)
/// is allocated once, outside any scope, and can be saved to and restored from a safetensors file.
/// </summary>
public abstract class Optimizer
{
    private readonly Tensor[] _params;

    protected Optimizer(IEnumerable<Tensor> parameters, double learningRate)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _params = parameters.ToArray();
        if (_params.Length == 0) throw new ArgumentException("The optimizer was given no parameters.", nameof(parameters));
        for (int i = 0; i < _params.Length; i++)
        {
            if (_params[i] is null) throw new ArgumentException($"Parameter {i} is null.", nameof(parameters));
            if (!_params[i].IsLeaf) throw new ArgumentException($"Parameter {i} ({_params[i].Shape}) is not a leaf tensor; optimizers update leaves.", nameof(parameters));
        }
        if (!(learningRate >= 0)) throw new ArgumentOutOfRangeException(nameof(learningRate), $"The learning rate must be non-negative; got {learningRate}.");
        LearningRate = learningRate;
    }

    /// <summary>The parameters, in the order given.</summary>
    public IReadOnlyList<Tensor> Parameters => _params;

    /// <summary>The step size; may be changed between steps (schedules).</summary>
    public double LearningRate { get; set; }

    /// <summary>Number of steps taken.</summary>
    public int StepCount { get; protected set; }

    /// <summary>Zeroes every parameter's gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var p in _params) p.ZeroGrad();
    }

    /// <summary>One update of every parameter that has a gradient.</summary>
    public void Step()
    {
        StepCount++;
        using var _ = GradMode.NoGrad();
        for (int i = 0; i < _params.Length; i++)
        {
            var p = _params[i];
            if (p.Grad is null) continue;
            Update(i, p, p.Grad);
        }
    }

    protected abstract void Update(int index, Tensor param, Tensor grad);

    /// <summary>The state tensors by name (e.g. "3.exp_avg"), for saving.</summary>
    protected abstract IEnumerable<KeyValuePair<string, Tensor>> StateTensors();

    /// <summary>Restores one state tensor read from a file.</summary>
    protected abstract void RestoreStateTensor(int index, string kind, Tensor value);

    /// <summary>The kind of optimizer, written into saved state and checked on load.</summary>
    protected abstract string Kind { get; }

    /// <summary>The name of the first state tensor holding NaN or an infinity (e.g. "3.exp_avg_sq"), or null when all are finite.</summary>
    public string? NonFiniteState() => StateTensors().FirstOrDefault(kv => !kv.Value.AllFinite()).Key;

    /// <summary>Saves the step count, learning rate and moment buffers to a safetensors file, atomically.</summary>
    public void SaveState(string path)
    {
        var meta = new Dictionary<string, string>
        {
            ["optimizer"] = Kind,
            ["step"] = StepCount.ToString(CultureInfo.InvariantCulture),
            ["lr"] = LearningRate.ToString("R", CultureInfo.InvariantCulture),
            ["parameters"] = _params.Length.ToString(CultureInfo.InvariantCulture),
        };
        SafeTensors.Save(path, StateTensors().ToDictionary(kv => kv.Key, kv => kv.Value), meta);
    }

    /// <summary>Restores state saved by <see cref="SaveState"/> for the same parameter list.</summary>
    public void LoadState(string path)
    {
        var (tensors, meta) = SafeTensors.Load(path, _params[0].Device);
        if (!meta.TryGetValue("optimizer", out var kind) || kind != Kind)
            throw new InvalidDataException($"'{path}' holds state of optimizer '{kind ?? "none"}', not '{Kind}'.");
        if (!meta.TryGetValue("parameters", out var np) || int.Parse(np, CultureInfo.InvariantCulture) != _params.Length)
            throw new InvalidDataException($"'{path}' holds state for {np ?? "?"} parameters; this optimizer has {_params.Length}.");
        foreach (var (name, t) in tensors)
        {
            int dot = name.IndexOf('.');
            if (dot <= 0 || !int.TryParse(name.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out int i) || i >= _params.Length)
                throw new InvalidDataException($"'{path}': unexpected state entry '{name}'.");
            if (t.Shape != _params[i].Shape || t.DType != _params[i].DType)
                throw new InvalidDataException($"'{path}': state '{name}' is {t.DType} {t.Shape}; parameter {i} is {_params[i].DType} {_params[i].Shape}.");
            RestoreStateTensor(i, name[(dot + 1)..], t);
        }
        StepCount = int.Parse(meta["step"], CultureInfo.InvariantCulture);
        LearningRate = double.Parse(meta["lr"], CultureInfo.InvariantCulture);
    }

    /// <summary>A zeroed buffer shaped like a parameter, owned by the optimizer (never by a scope).</summary>
    protected static Tensor StateLike(Tensor p)
    {
        using (TensorScope.Suspend()) return Tensor.Zeros(p.Shape, p.DType, p.Device);
    }

    /// <summary>Copies a loaded tensor into a state buffer (allocating it if needed).</summary>
    protected static Tensor Restore(Tensor? existing, Tensor p, Tensor value)
    {
        var t = existing ?? StateLike(p);
        if (value.DType == DType.Float32) t.CopyFrom<float>(value.ToFloatArray());
        else t.CopyFrom<double>(value.ToDoubleArray());
        return t;
    }
}
