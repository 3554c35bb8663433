namespace Engine.Optim;

/// <summary>
/// Adam (Kingma and Ba, 2015) with bias correction; with <c>decoupled</c> weight decay it is AdamW
/// (Loshchilov and Hutter, 2019), otherwise weight decay is an L2 term added to the gradient.
/// The update runs as one fused kernel per parameter.
/// </summary>
public class Adam : Optimizer
{
    private readonly Tensor?[] _m, _v;

    public Adam(IEnumerable<Tensor> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0)
        : this(parameters, learningRate, beta1, beta2, eps, weightDecay, decoupled: false) { }

    protected Adam(IEnumerable<Tensor> parameters, double learningRate, double beta1, double beta2, double eps, double weightDecay, bool decoupled)
        : base(parameters, learningRate)
    {
        if (!(beta1 >= 0 && beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(beta1), $"beta1 must lie in [0, 1); got {beta1}.");
        if (!(beta2 >= 0 && beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(beta2), $"beta2 must lie in [0, 1); got {beta2}.");
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), $"eps must be non-negative; got {eps}.");
        if (!(weightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(weightDecay), $"Weight decay must be non-negative; got {weightDecay}.");
        Beta1 = beta1; Beta2 = beta2; Eps = eps; WeightDecay = weightDecay; Decoupled = decoupled;
        _m = new Tensor?[Parameters.Count];
        _v = new Tensor?[Parameters.Count];
    }

    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Eps { get; }
    public double WeightDecay { get; }
    /// <summary>Whether weight decay is decoupled from the gradient (AdamW).</summary>
    public bool Decoupled { get; }

    protected override string Kind => Decoupled ? "adamw" : "adam";

    protected override void Update(int index, Tensor param, Tensor grad)
    {
        var m = _m[index] ??= StateLike(param);
        var v = _v[index] ??= StateLike(param);
        param.Backend.AdamUpdate(param, grad, m, v, LearningRate, Beta1, Beta2, Eps, WeightDecay, Decoupled, StepCount);
    }

    protected override IEnumerable<KeyValuePair<string, Tensor>> StateTensors()
    {
        for (int i = 0; i < _m.Length; i++)
        {
            if (_m[i] is { } m) yield return new($"{i}.exp_avg", m);
            if (_v[i] is { } v) yield return new($"{i}.exp_avg_sq", v);
        }
    }

    protected override void RestoreStateTensor(int index, string kind, Tensor value)
    {
        switch (kind)
        {
            case "exp_avg": _m[index] = Restore(_m[index], Parameters[index], value); break;
            case "exp_avg_sq": _v[index] = Restore(_v[index], Parameters[index], value); break;
            default: throw new InvalidDataException($"Adam state has no entry '{kind}'.");
        }
    }
}

/// <summary>Adam with decoupled weight decay (Loshchilov and Hutter, 2019); default weight decay 0.01 as PyTorch.</summary>
public sealed class AdamW : Adam
{
    public AdamW(IEnumerable<Tensor> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0.01)
        : base(parameters, learningRate, beta1, beta2, eps, weightDecay, decoupled: true) { }
}
