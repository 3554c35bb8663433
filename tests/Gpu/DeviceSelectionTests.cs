using Engine.Devices;

namespace Engine.Tests.Gpu;

/// <summary>Devices are chosen by name or kind, never silently; tensors move between devices only when asked.</summary>
public class DeviceSelectionTests
{
    [Test]
    public void NamesMapToDevices()
    {
        Assert.That(Device.Open("cpu"), Is.SameAs(Device.Cpu));
        var sim = Device.Open("ilgpu-cpu");
        Assert.That(sim, Is.InstanceOf<IlgpuDevice>());
        Assert.That(((IlgpuDevice)sim).Kind, Is.EqualTo(IlgpuKind.Cpu));
        Assert.That(Device.Open(" ILGPU-CPU "), Is.SameAs(sim), "opened once per process");
        Assert.That(IlgpuDevice.Open("ilgpu-cpu"), Is.SameAs(sim), "IlgpuDevice.Open is the same lookup");
        Assert.That(sim.Name, Is.EqualTo("ilgpu-cpu"));
        Assert.That(Device.DeviceNames, Is.EqualTo(new[] { "cpu", "gpu", "ilgpu-cpu", "cuda", "opencl" }));
        var ex = Assert.Throws<ArgumentException>(() => Device.Open("tpu"));
        Assert.That(ex!.Message, Does.Contain("'tpu'"));
        Assert.That(ex.Message, Does.Contain("cpu, gpu, ilgpu-cpu, cuda, opencl"));
        Assert.Throws<ArgumentNullException>(() => Device.Open(null!));
    }

    [Test]
    public void GpuIsAnErrorWhereThereIsNone()
    {
        if (IlgpuDevice.GpuKind() is { } kind)
        {
            Assert.That(Device.Open("gpu").Name, Is.EqualTo(kind == IlgpuKind.Cuda ? "cuda" : "opencl"));
            return;
        }
        var ex = Assert.Throws<InvalidOperationException>(() => Device.Open("gpu"));
        Assert.That(ex!.Message, Does.Contain("no GPU found"));
        Assert.That(ex.Message, Does.Contain("ilgpu-cpu"), "the message names the explicit fallback");
        Assert.Throws<InvalidOperationException>(() => IlgpuDevice.Create(IlgpuKind.Cuda));
    }

    [TestCase("cuda", IlgpuKind.Cuda)]
    [TestCase("opencl", IlgpuKind.OpenCL)]
    public void AKindIsItselfOrAnError(string name, IlgpuKind kind)
    {
        if (IlgpuDevice.IsAvailable(kind))
        {
            var d = Device.Open(name);
            Assert.That(d.Name, Is.EqualTo(name));
            Assert.That(Device.Open(name.ToUpperInvariant()), Is.SameAs(d), "opened once per process");
            return;
        }
        Assert.Throws<InvalidOperationException>(() => Device.Open(name), "an unavailable kind is an error, not a fallback");
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
