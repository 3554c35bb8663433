using Engine.Devices;

namespace Engine.Tests.Gpu;

/// <summary>Devices are chosen by name or kind, never silently; tensors move between devices only when asked.</summary>
public class DeviceSelectionTests
{
    [Test]
    public void NamesMapToDevices()
    {
        Assert.That(IlgpuDevice.Open("cpu"), Is.SameAs(Device.Cpu));
        var sim = IlgpuDevice.Open("ilgpu-cpu");
        Assert.That(sim, Is.InstanceOf<IlgpuDevice>());
        Assert.That(((IlgpuDevice)sim).Kind, Is.EqualTo(IlgpuKind.Cpu));
        Assert.That(IlgpuDevice.Open(" ILGPU-CPU "), Is.SameAs(sim), "opened once per process");
        Assert.That(sim.Name, Is.EqualTo("ilgpu-cpu"));
        var ex = Assert.Throws<ArgumentException>(() => IlgpuDevice.Open("tpu"));
        Assert.That(ex!.Message, Does.Contain("cpu, gpu, ilgpu-cpu"));
    }

    [Test]
    public void GpuIsAnErrorWhereThereIsNone()
    {
        if (IlgpuDevice.GpuKind() is { } kind)
        {
            Assert.That(IlgpuDevice.Open("gpu").Name, Is.EqualTo(kind == IlgpuKind.Cuda ? "cuda" : "opencl"));
            return;
        }
        var ex = Assert.Throws<InvalidOperationException>(() => IlgpuDevice.Open("gpu"));
        Assert.That(ex!.Message, Does.Contain("no GPU found"));
        Assert.That(ex.Message, Does.Contain("ilgpu-cpu"), "the message names the explicit fallback");
        Assert.Throws<InvalidOperationException>(() => IlgpuDevice.Create(IlgpuKind.Cuda));
    }

    [Test]
    public void TensorsMoveOnlyWhenAskedAndMixingDevicesIsAnError()
    {
        var d = GpuTestDevice.Device;
        var cpu = Tensor.FromArray([1f, 2f, 3f], 3);
        var onDevice = cpu.To(d);
        Assert.That(onDevice.Device, Is.SameAs(d));
        Assert.That(onDevice.To(Device.Cpu).ToFloatArray(), Is.EqualTo(new[] { 1f, 2f, 3f }));
        var ex = Assert.Throws<ArgumentException>(() => _ = cpu + onDevice);
        Assert.That(ex!.Message, Does.Contain("different devices"));
        Assert.That(onDevice.ToString(), Does.Contain("ilgpu-cpu"));
    }

    [Test]
    public void ScopedTensorsRecycleDeviceMemoryAndKernelsCompileOnce()
    {
        var d = GpuTestDevice.Device;
        var x = Tensor.Ones(new Shape(33), DType.Float32, d);
        void Step()
        {
            using var scope = TensorScope.Begin();
            _ = (x.Exp() * x).Sum();
        }
        Step();
        long pooled = d.Backend.PooledBytes;
        int compiled = d.CompiledKernels;
        for (int i = 0; i < 3; i++) Step();
        Assert.That(d.Backend.PooledBytes, Is.EqualTo(pooled), "the same blocks come back each step");
        Assert.That(d.CompiledKernels, Is.EqualTo(compiled), "no kernel is compiled twice");
    }
}
