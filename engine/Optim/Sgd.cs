namespace Engine.Optim;

/// <summary>
/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum (Sutskever et al. 2013)
/// and L2 weight decay, in PyTorch's formulation.
/// </summary>
public sealed class Sgd : Optimizer
{
    private readonly Tensor?[] _momentum;

    public Sgd(IEnumerable<Tensor> parameters, double learningRate, double momentum = 0, double dampening = 0, double weightDecay = 0, bool nesterov = false)
        : base(parameters, learningRate)
    {
        if (momentum < 0) throw new ArgumentOutOfRangeException(nameof(momentum), $"Momentum must be non-negative; got {momentum}.");
        if (weightDecay < 0) throw new ArgumentOutOfRangeException(nameof(weightDecay), $"Weight decay must be non-negative; got {weightDecay}.");
        if (nesterov && (momentum <= 0 || dampening != 0))
            throw new ArgumentException("Nesterov momentum needs momentum > 0 and dampening = 0.", nameof(nesterov));
        Momentum = momentum;
        Dampening = dampening;
        WeightDecay = weightDecay;
        Nesterov = nesterov;
        _momentum = new Tensor?[Parameters.Count];
    }

    public double Momentum { get; }
    public double Dampening { get; }
    public double WeightDecay { get; }
    public bool Nesterov { get; }

    protected override string Kind => "sgd";

    protected override void Update(int index, Tensor param, Tensor grad)
    {
        Tensor? buf = null;
        bool first = false;
        if (Momentum != 0)
        {
            if (_momentum[index] is null) { _momentum[index] = StateLike(param); first = true; }
            buf = _momentum[index];
        }
        param.Backend.SgdUpdate(param, grad, buf, LearningRate, Momentum, Dampening, WeightDecay, Nesterov, first);
    }

    protected override IEnumerable<KeyValuePair<string, Tensor>> StateTensors()
    {
        for (int i = 0; i < _momentum.Length; i++)
            if (_momentum[i] is { } b) yield return new($"{i}.momentum_buffer", b);
    }

    protected override void RestoreStateTensor(int index, string kind, Tensor value)
    {
        if (kind != "momentum_buffer") throw new InvalidDataException($"SGD state has no entry '{kind}'.");
        _momentum[index] = Restore(_momentum[index], Parameters[index], value);
    }
}
