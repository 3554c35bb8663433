using Engine.Devices;
using Engine.Kernels;
using Engine.Mixtures;
using Engine.Models.Gmm;

namespace Engine.Tests.Gpu;

/// <summary>
/// Gaussian-mixture EM on the ILGPU device against the CPU workspace (its twin): one iteration from the same start
/// gives the same lower bound and parameters to 1e-10 relative for every covariance type, on shapes that hit every
/// tail (rows not a multiple of the group size, D = 1, K = 1, odd D, several row blocks); a whole fit gives the same
/// lower bounds; an iteration copies nothing between host and device but its one status read; and a covariance that
/// is not positive definite raises the CPU's exception.
/// </summary>
public class GmmDeviceTests
{
    private const double Rtol = 1e-10, Atol = 1e-12;

    /// <summary>n points in d dimensions around k well separated centres (uniform noise), from a fixed seed.</summary>
    private static double[] Clusters(int n, int d, int k, int seed)
    {
        var r = new Random(seed);
        var x = new double[n * d];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++)
                x[i * d + j] = 3.0 * ((i % k) + j % 2) + (r.NextDouble() - 0.5) * (1 + 0.3 * j);
        return x;
    }

    /// <summary>The parameters scikit-learn's k-means initialization gives (a fit with no EM iteration).</summary>
    private static MixtureParameters Start(CovarianceType type, double[] x, int n, int d, int k)
    {
        var gm = new GaussianMixture(k) { CovarianceType = type, MaxIterations = 0, Seed = 0 }.Fit(x, n, d);
        var theta = new MixtureParameters(type, k, d);
        gm.Weights.CopyTo(theta.Weights, 0);
        gm.Means.CopyTo(theta.Means, 0);
        gm.Covariances.CopyTo(theta.Covariances, 0);
        gm.PrecisionsCholesky.CopyTo(theta.PrecisionsCholesky, 0);
        return theta;
    }

    private static void AssertSameParameters(MixtureParameters actual, MixtureParameters expected, string what)
    {
        GpuTestDevice.AssertClose(actual.Weights, expected.Weights, Rtol, Atol, what + " weights");
        GpuTestDevice.AssertClose(actual.Means, expected.Means, Rtol, Atol, what + " means");
        GpuTestDevice.AssertClose(actual.Covariances, expected.Covariances, Rtol, Atol, what + " covariances");
        GpuTestDevice.AssertClose(actual.PrecisionsCholesky, expected.PrecisionsCholesky, Rtol, Atol, what + " precision factors");
    }

    public static IEnumerable<TestCaseData> Shapes()
    {
        foreach (var type in Enum.GetValues<CovarianceType>())
        {
            yield return new TestCaseData(type, 131, 3, 3, 1 << 22).SetName($"One iteration: {type}, N=131 D=3 K=3");
            yield return new TestCaseData(type, 67, 1, 1, 1 << 22).SetName($"One iteration: {type}, N=67 D=1 K=1");
            yield return new TestCaseData(type, 70, 5, 2, 1 << 22).SetName($"One iteration: {type}, N=70 D=5 K=2");
        }
        // D >= 16: the CPU splits the rows of its stacked factors in two (CpuMixtureEStep.Prepare); the Cholesky group is
        // narrower than D's power of two.
        yield return new TestCaseData(CovarianceType.Full, 67, 17, 2, 1 << 22).SetName("One iteration: Full, N=67 D=17 K=2");
        yield return new TestCaseData(CovarianceType.Tied, 67, 17, 2, 1 << 22).SetName("One iteration: Tied, N=67 D=17 K=2");
        // Row blocks for the products of full and tied covariances: 64 / (K D) rows per block, the last one short.
        yield return new TestCaseData(CovarianceType.Full, 131, 3, 3, 64).SetName("One iteration: Full, N=131 D=3 K=3, blocks of 7 rows");
        yield return new TestCaseData(CovarianceType.Tied, 131, 3, 3, 64).SetName("One iteration: Tied, N=131 D=3 K=3, blocks of 21 rows");
    }

    [TestCaseSource(nameof(Shapes))]
    public void OneIterationGivesTheCpuNumbersAndCopiesNothing(CovarianceType type, int n, int d, int k, int budget)
    {
        double[] x = Clusters(n, d, k, seed: n + d);
        MixtureParameters start = Start(type, x, n, d, k);
        const double reg = 1e-6;

        var cpu = start.Clone();
        double cpuBound;
        unsafe
        {
            fixed (double* px = x)
            {
                using MixtureEStep em = Device.Cpu.Backend.Mixture((MixtureCovariance)type, k, d, px, n);
                var stats = new MixtureStatistics((MixtureCovariance)type, k, d);
                em.Expectation(cpu.Weights, cpu.Means, cpu.PrecisionsCholesky, stats);
                cpuBound = stats.MeanLogLikelihood;
                new MixtureMStep(type, k, d).Maximization(em, stats, cpu, reg);
            }
        }

        var device = GpuTestDevice.Device;
        int saved = IlgpuMixtureIterations.BlockBudget;
        IlgpuMixtureIterations.BlockBudget = budget;
        try
        {
            using var em = new IlgpuMixtureIterations(device, (MixtureCovariance)type, k, d, x, n, reg);
            em.Upload(start.Weights, start.Means, start.Covariances, start.PrecisionsCholesky);
            device.Synchronize();
            device.ResetTransfers();
            em.Expectation();
            em.Maximization();
            device.Synchronize();
            Assert.That(device.Transfers, Is.EqualTo(new TransferCounts(0, 0, 0, 0)), "host-device copies inside the iteration");
            var (bound, failure, _) = em.ReadStatus();
            Assert.That(device.Transfers, Is.EqualTo(new TransferCounts(0, 1, 0, 3 * sizeof(double))), "the one status read");
            Assert.That(failure, Is.Zero, "no covariance failed");
            Assert.That(bound, Is.EqualTo(cpuBound).Within(Rtol * Math.Abs(cpuBound)), "lower bound");

            var gpu = new MixtureParameters(type, k, d);
            em.Download(gpu.Weights, gpu.Means, gpu.Covariances, gpu.PrecisionsCholesky);
            AssertSameParameters(gpu, cpu, type.ToString());
        }
        finally
        {
            IlgpuMixtureIterations.BlockBudget = saved;
        }
    }

    [Test]
    public void AFullFitGivesTheCpuBoundsAndParameters([Values] CovarianceType type)
    {
        const int n = 97, d = 3, k = 3;
        double[] x = Clusters(n, d, k, seed: 5);
        GaussianMixture Fit(Device device) =>
            new GaussianMixture(k) { CovarianceType = type, Seed = 2, Tolerance = 1e-8, MaxIterations = 30, Device = device }.Fit(x, n, d);

        var device = GpuTestDevice.Device;
        var cpu = Fit(Device.Cpu);
        device.ResetTransfers();
        var gpu = Fit(device);
        var t = device.Transfers;

        Assert.That(gpu.Iterations, Is.EqualTo(cpu.Iterations), "iterations");
        Assert.That(gpu.Converged, Is.EqualTo(cpu.Converged), "converged");
        GpuTestDevice.AssertClose([.. gpu.LowerBounds], [.. cpu.LowerBounds], Rtol, Atol, "lower bounds per iteration");
        // Agreement after many iterations: each one repeats the CPU's to rounding, which EM does not amplify here.
        GpuTestDevice.AssertClose(gpu.Weights, cpu.Weights, 1e-8, 1e-10, "weights");
        GpuTestDevice.AssertClose(gpu.Means, cpu.Means, 1e-8, 1e-10, "means");
        GpuTestDevice.AssertClose(gpu.Covariances, cpu.Covariances, 1e-8, 1e-10, "covariances");
        GpuTestDevice.AssertClose(gpu.PrecisionsCholesky, cpu.PrecisionsCholesky, 1e-8, 1e-10, "precision factors");

        // The data and the parameters up once, one status read per iteration, the parameters down once.
        long parameterBytes = sizeof(double) * (k + k * d + 2L * gpu.Covariances.Length);
        Assert.That(t.ToDevice, Is.EqualTo(1 + MixtureIterations.ParameterCopies), "uploads");
        Assert.That(t.BytesToDevice, Is.EqualTo(sizeof(double) * n * d + parameterBytes), "bytes uploaded");
        Assert.That(t.ToHost, Is.EqualTo(gpu.Iterations + MixtureIterations.ParameterCopies), "reads");
        Assert.That(t.BytesToHost, Is.EqualTo(gpu.Iterations * 3L * sizeof(double) + parameterBytes), "bytes read");
    }

    [Test]
    public void KernelsAreCompiledOnce()
    {
        double[] x = Clusters(40, 2, 2, seed: 9);
        var device = GpuTestDevice.Device;
        var gm = new GaussianMixture(2) { CovarianceType = CovarianceType.Full, Seed = 1, MaxIterations = 2, Device = device };
        gm.Fit(x, 40, 2);
        int compiled = device.CompiledKernels;
        gm.Fit(x, 40, 2);
        Assert.That(device.CompiledKernels, Is.EqualTo(compiled), "a second fit compiles nothing");
    }

    [Test]
    public void ACovarianceThatIsNotPositiveDefiniteRaisesTheCpuError([Values] CovarianceType type)
    {
        // A constant column (or, for one spherical variance, constant data) and no regularization: the first M-step's
        // covariance is singular. Explicit starting values skip the CPU's initial M-step, so the failure happens on
        // the device.
        const int n = 70, k = 2;
        int d = type == CovarianceType.Spherical ? 1 : 3;
        var x = new double[n * d];
        var r = new Random(4);
        if (type != CovarianceType.Spherical)
        {
            for (int i = 0; i < n; i++)
            {
                x[i * d] = r.NextDouble() + (i % 2 == 0 ? 4 : 0);
                x[i * d + 1] = r.NextDouble();
            }
        }
        double[] precisions = type switch
        {
            CovarianceType.Full => [1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1],
            CovarianceType.Tied => [1, 0, 0, 0, 1, 0, 0, 0, 1],
            CovarianceType.Diagonal => [1, 1, 1, 1, 1, 1],
            _ => [1, 1],
        };
        GaussianMixture Model(Device device) => new(k)
        {
            CovarianceType = type, RegCovar = 0, Device = device, WeightsInit = [0.5, 0.5],
            MeansInit = type == CovarianceType.Spherical ? [0, 0.5] : [0.5, 0.5, 0, 4.5, 0.5, 0], PrecisionsInit = precisions,
        };

        var cpu = Assert.Throws<CovarianceNotPositiveDefiniteException>(() => Model(Device.Cpu).Fit(x, n, d))!;
        var gpuModel = Model(GpuTestDevice.Device);
        var gpu = Assert.Throws<CovarianceNotPositiveDefiniteException>(() => gpuModel.Fit(x, n, d))!;
        Assert.That(gpu.Message, Is.EqualTo(cpu.Message));
        Assert.That(gpu.Component, Is.EqualTo(cpu.Component));
        Assert.That(gpuModel.IsFitted, Is.False, "a failed fit leaves the model unfitted");
    }

    [Test]
    public void ARowWithoutAFiniteDensityRaisesTheCpuError()
    {
        // A point so far out that its squared Mahalanobis distance overflows under both components.
        const int n = 40, d = 2;
        double[] x = Clusters(n, d, 2, seed: 6);
        x[2 * 17] = 1e160;
        GaussianMixture Model(Device device) => new(2)
        {
            CovarianceType = CovarianceType.Diagonal, Device = device, WeightsInit = [0.5, 0.5], MeansInit = [0, 0, 3, 3], PrecisionsInit = [1, 1, 1, 1],
        };
        var cpu = Assert.Throws<InvalidOperationException>(() => Model(Device.Cpu).Fit(x, n, d))!;
        var gpu = Assert.Throws<InvalidOperationException>(() => Model(GpuTestDevice.Device).Fit(x, n, d))!;
        Assert.That(gpu.Message, Is.EqualTo(cpu.Message));
    }

    [Test]
    public void TheDeviceIsTheCpuUnlessSet()
    {
        var gm = new GaussianMixture(2);
        Assert.That(gm.Device, Is.SameAs(Device.Cpu));
        Assert.Throws<ArgumentNullException>(() => gm.Device = null!);
    }
}
