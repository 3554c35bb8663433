using System.Diagnostics;
using System.Reflection;
using Engine.Kernels.Gpu;
using ILGPU;
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
    // The number of kernels the hand-written list of kernel classes held before discovery replaced it: discovery
    // must find at least these.
    private const int KernelsListedBefore = 87;

    /// <summary>
    /// Every kernel of the kernels assembly, found by reflection: the public static void methods of the public static
    /// classes of <c>Engine.Kernels.Gpu</c> that take an <see cref="ArrayView{T}"/>, each generic one instantiated for
    /// every combination of the types its parameters admit (an IFloatingPointIeee754 parameter: float and double; any
    /// other: the value types of the kernels assembly that meet its constraints, such as the GEMM tiles).
    /// </summary>
    private static IEnumerable<MethodInfo> Kernels()
    {
        var assembly = typeof(ElementwiseKernels).Assembly;
        var classes = assembly.GetExportedTypes()
            .Where(t => t.Namespace == typeof(ElementwiseKernels).Namespace && t.IsAbstract && t.IsSealed)
            .OrderBy(t => t.Name, StringComparer.Ordinal);
        foreach (var c in classes)
            foreach (var m in c.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly).OrderBy(m => m.Name, StringComparer.Ordinal))
            {
                if (m.ReturnType != typeof(void) || !m.GetParameters().Any(p => IsArrayView(p.ParameterType))) continue;
                if (!m.IsGenericMethodDefinition) { yield return m; continue; }
                foreach (var args in Combinations(m.GetGenericArguments().Select(g => Admitted(g, assembly)).ToArray()))
                    yield return m.MakeGenericMethod(args);
            }
    }

    private static bool IsArrayView(Type t) => t.IsGenericType && t.GetGenericTypeDefinition() == typeof(ArrayView<>);

    private static Type[] Admitted(Type parameter, Assembly assembly)
    {
        var constraints = parameter.GetGenericParameterConstraints();
        if (constraints.Any(c => c.IsGenericType && c.GetGenericTypeDefinition() == typeof(System.Numerics.IFloatingPointIeee754<>)))
            return [typeof(float), typeof(double)];
        var types = assembly.GetTypes()
            .Where(t => t.IsValueType && !t.IsGenericTypeDefinition && constraints.All(c => c.IsAssignableFrom(t)))
            .OrderBy(t => t.Name, StringComparer.Ordinal).ToArray();
        Assert.That(types, Is.Not.Empty, $"no type of the kernels assembly meets the constraints of {parameter}");
        return types;
    }

    private static IEnumerable<Type[]> Combinations(Type[][] choices)
    {
        IEnumerable<Type[]> result = [[]];
        foreach (var choice in choices)
            result = result.SelectMany(prefix => choice.Select(t => prefix.Append(t).ToArray()));
        return result;
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
        Assert.That(count, Is.GreaterThanOrEqualTo(KernelsListedBefore), "kernels discovered");
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
