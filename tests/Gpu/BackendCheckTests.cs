using Engine.Devices;

namespace Engine.Tests.Gpu;

/// <summary>
/// The argument checks of the backend entry points run above the backends: the CPU and the ILGPU device reject the same
/// calls with the same exception, parameter and message, before any kernel runs.
/// </summary>
public class BackendCheckTests
{
    private static IEnumerable<Device> Devices() => [Device.Cpu, GpuTestDevice.Device];

    private static void AssertSame<TException>(Func<Device, TestDelegate> call, string paramName, string message) where TException : ArgumentException
    {
        foreach (var d in Devices())
        {
            var ex = Assert.Throws<TException>(call(d), d.Name)!;
            Assert.That(ex.ParamName, Is.EqualTo(paramName), d.Name);
            Assert.That(ex.Message, Does.StartWith(message), d.Name);
        }
    }

    private static Tensor Z(Device d, params int[] dims) => Tensor.Zeros(new Shape(dims), DType.Float32, d);

    [Test]
    public void RowIndicesAreCheckedOnBothBackends()
    {
        AssertSame<ArgumentOutOfRangeException>(d => () => d.Backend.GatherRows(Z(d, 3, 2), 2, [0, 3], Z(d, 2, 2)),
            "indices", "Index 3 at position 1 is out of range for 3 rows.");
        AssertSame<ArgumentOutOfRangeException>(d => () => d.Backend.ScatterAddRows(Z(d, 2, 2), 2, [-1, 0], Z(d, 3, 2)),
            "indices", "Index -1 at position 0 is out of range for 3 rows.");
    }

    [Test]
    public void ABlockOutsideTheAxisIsRejectedOnBothBackends()
    {
        AssertSame<ArgumentOutOfRangeException>(d => () => d.Backend.CopyBlock(Z(d, 2), 2, Z(d, 3), 3, 2, 1, 1, intoBig: true, accumulate: false),
            "start", "Block [2, 4) does not fit an axis of 3.");
    }

    [Test]
    public void AdamStepsCountFromOneOnBothBackends()
    {
        AssertSame<ArgumentOutOfRangeException>(d => () => d.Backend.AdamUpdate(Z(d, 4), Z(d, 4), Z(d, 4), Z(d, 4), 1e-3, 0.9, 0.999, 1e-8, 0, true, 0),
            "step", "step counts from 1");
    }

    [Test]
    public void RowLossTargetsAreCheckedOnBothBackends()
    {
        AssertSame<ArgumentException>(d => () => d.Backend.BceWithLogitsRows(Z(d, 4, 2), Z(d, 3, 2), Z(d, 4), 4, 2),
            "targets", "Row loss: targets of 6 elements do not tile 4 rows of 2.");
        AssertSame<ArgumentException>(d => () => d.Backend.BceWithLogitsRowsBackward(Z(d, 4, 2), Z(d, 2, 2), Z(d, 4), Z(d, 4, 2), Z(d, 2, 2), 4, 2),
            "dTargets", "bce_with_logits backward: broadcast targets take no gradient.");
    }

    [Test]
    public void BroadcastTargetsGiveTheSameRowLossesOnBothBackends()
    {
        // Two blocks of two rows read the same two target rows.
        double[] logits = [0.5, -1, 2, 0.25, -0.75, 1.5, 3, -2], targets = [1, 0, 0.5, 0.25];
        double[] Run(Device d, double[] t)
        {
            var o = Z(d, 4);
            d.Backend.BceWithLogitsRows(GpuTestDevice.Make(d, logits, DType.Float32, 4, 2), GpuTestDevice.Make(d, t, DType.Float32, t.Length / 2, 2), o, 4, 2);
            return o.ToDoubleArray();
        }
        var cpu = Run(Device.Cpu, targets);
        GpuTestDevice.AssertClose(Run(GpuTestDevice.Device, targets), cpu, 1e-6, 1e-6, "row sums");
        Assert.That(cpu, Is.EqualTo(Run(Device.Cpu, [.. targets, .. targets])), "the same as the targets repeated");
    }
}
