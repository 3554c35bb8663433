using System.Diagnostics;
using System.Reflection;
using Engine.Kernels.Gpu;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace Engine.Tests.Gpu;

/// <summary>
/// Every device kernel compiled to PTX for an sm_80 GPU by ILGPU's CUDA backend, which needs no GPU: the CPU
/// accelerator runs kernels as .NET code and would accept constructs that no GPU backend can translate, so this is
/// the check that the kernels the tests exercise also build for CUDA. It also pins properties of the generated code
/// the design depends on (GEMM accumulators in registers, shared-memory tiles, contractable multiply-adds).
/// </summary>
public class PtxCompilationTests
{
    private static readonly Type[] KernelClasses =
        [typeof(ElementwiseKernels), typeof(StridedKernels), typeof(AxisKernels), typeof(FusedKernels), typeof(RandomKernels), typeof(GemmScaleKernel), typeof(MixtureKernels)];

    private static IEnumerable<MethodInfo> Kernels()
    {
        foreach (var c in KernelClasses)
            foreach (var m in c.GetMethods(BindingFlags.Public | BindingFlags.Static).Where(m => m.DeclaringType == c))
            {
                if (!m.IsGenericMethodDefinition) yield return m;
                else
                {
                    yield return m.MakeGenericMethod(typeof(float));
                    yield return m.MakeGenericMethod(typeof(double));
                }
            }
        var gemm = typeof(GemmKernel).GetMethod(nameof(GemmKernel.Gemm))!;
        foreach (var tile in new[] { typeof(Tile128x128), typeof(Tile64x64), typeof(Tile32x32), typeof(Tile32x32Micro8), typeof(Tile16x16) })
            yield return gemm.MakeGenericMethod(typeof(float), tile);
        yield return gemm.MakeGenericMethod(typeof(double), typeof(Tile64x64));
    }

    private static string Compile(PTXBackend backend, MethodInfo m) =>
        ((PTXCompiledKernel)backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(m), KernelSpecialization.Empty)).PTXAssembly;

    [Test]
    public void EveryKernelCompilesToPtx()
    {
        using var context = Context.Create(b => b.CPU().EnableAlgorithms().Optimize(OptimizationLevel.O1));
        var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_80), CudaArchitecture.SM_80, CudaInstructionSet.ISA_70, null);
        var failures = new List<string>();
        int count = 0;
        var sw = Stopwatch.StartNew();
        foreach (var m in Kernels())
        {
            count++;
            try
            {
                string ptx = Compile(backend, m);
                Assert.That(ptx, Does.Contain(".entry"), m.ToString());
            }
            catch (Exception e)
            {
                failures.Add($"{m.DeclaringType!.Name}.{m}: {e.GetType().Name}: {e.Message}");
            }
        }
        TestContext.Out.WriteLine($"{count} kernels compiled to PTX in {sw.Elapsed.TotalSeconds:F1} s");
        Assert.That(failures, Is.Empty, string.Join(Environment.NewLine, failures));
    }

    [Test]
    public void GemmKeepsItsRegisterTileInRegisters()
    {
        using var context = Context.Create(b => b.CPU().EnableAlgorithms().Optimize(OptimizationLevel.O1));
        var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_80), CudaArchitecture.SM_80, CudaInstructionSet.ISA_70, null);
        string ptx = Compile(backend, typeof(GemmKernel).GetMethod(nameof(GemmKernel.Gemm))!.MakeGenericMethod(typeof(float), typeof(Tile128x128)));
        TestContext.Out.WriteLine(ptx.Length + " characters of PTX");
        Assert.Multiple(() =>
        {
            Assert.That(ptx, Does.Not.Contain(".local"), "accumulators spilled to local memory");
            Assert.That(ptx, Does.Contain(".shared"), "tiles staged in shared memory");
            // 8 x 8 products per k step. ILGPU writes a fused multiply-add as mul.f32 + add.f32 without a rounding
            // modifier, which is exactly what ptxas contracts into one FFMA; a .rn would forbid that.
            Assert.That(System.Text.RegularExpressions.Regex.Count(ptx, @"\bmul\.f32"), Is.GreaterThanOrEqualTo(64), "the 8 x 8 rank-1 update");
            Assert.That(ptx, Does.Not.Contain("mul.rn.f32"), "contractable multiplies");
            Assert.That(System.Text.RegularExpressions.Regex.Count(ptx, @"ld\.shared\.f32"), Is.EqualTo(16), "8 + 8 shared loads per k step");
            Assert.That(ptx, Does.Contain("bar.sync"), "group barriers");
        });
    }
}
