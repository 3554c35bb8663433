using Engine.IO;

namespace Engine.Models.Nn;

/// <summary>
/// A building block with named parameters (leaf tensors that require grad) and named children, as in
/// PyTorch's nn.Module: parameters are enumerated depth-first with dotted names ("encoder.0.weight"), and
/// saved to or loaded from a safetensors file under those names.
/// </summary>
public abstract class Module
{
    private readonly List<(string Name, Tensor Tensor)> _params = new();
    private readonly List<(string Name, Module Module)> _children = new();

    /// <summary>Registers a parameter under <paramref name="name"/> and marks it as requiring grad.</summary>
    protected Tensor AddParameter(string name, Tensor value)
    {
        if (_params.Any(p => p.Name == name)) throw new ArgumentException($"A parameter named '{name}' already exists.", nameof(name));
        value.RequiresGrad = true;
        _params.Add((name, value));
        return value;
    }

    /// <summary>Registers a child module under <paramref name="name"/>.</summary>
    protected T AddModule<T>(string name, T module) where T : Module
    {
        if (_children.Any(c => c.Name == name)) throw new ArgumentException($"A child named '{name}' already exists.", nameof(name));
        _children.Add((name, module));
        return module;
    }

    /// <summary>Every parameter with its dotted name, depth-first in registration order.</summary>
    public IEnumerable<(string Name, Tensor Tensor)> NamedParameters(string prefix = "")
    {
        foreach (var (n, p) in _params) yield return (prefix + n, p);
        foreach (var (n, c) in _children)
            foreach (var item in c.NamedParameters(prefix + n + ".")) yield return item;
    }

    /// <summary>Every parameter, in the order of <see cref="NamedParameters"/>.</summary>
    public IReadOnlyList<Tensor> Parameters() => NamedParameters().Select(p => p.Tensor).ToArray();

    /// <summary>Number of scalar parameters.</summary>
    public long ParameterCount => NamedParameters().Sum(p => (long)p.Tensor.Count);

    /// <summary>Saves the parameters to a safetensors file (atomically).</summary>
    public void Save(string path, IReadOnlyDictionary<string, string>? metadata = null) =>
        SafeTensors.Save(path, NamedParameters().ToDictionary(p => p.Name, p => p.Tensor), metadata);

    /// <summary>
    /// Loads parameters saved by <see cref="Save"/> (or by PyTorch's safetensors under the same names),
    /// copying the values in place. Every parameter must be present with its shape and type.
    /// </summary>
    public IReadOnlyDictionary<string, string> Load(string path)
    {
        var (tensors, meta) = SafeTensors.Load(path);
        var mine = NamedParameters().ToList();
        foreach (var (name, p) in mine)
        {
            if (!tensors.TryGetValue(name, out var t))
                throw new InvalidDataException($"'{path}' has no tensor '{name}' (it has: {string.Join(", ", tensors.Keys.Take(10))}).");
            if (t.Shape != p.Shape)
                throw new InvalidDataException($"'{path}': '{name}' has shape {t.Shape}; the model expects {p.Shape}.");
            if (p.DType == DType.Float32) p.CopyFrom<float>(t.ToFloatArray());
            else p.CopyFrom<double>(t.ToDoubleArray());
        }
        var extra = tensors.Keys.Except(mine.Select(m => m.Name)).ToList();
        if (extra.Count > 0)
            throw new InvalidDataException($"'{path}' holds tensors the model does not have: {string.Join(", ", extra.Take(10))}.");
        return meta;
    }
}
