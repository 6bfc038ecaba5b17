using Kvm.Analyzers.Tests.Support;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Kvm.Analyzers.Tests;

/// <summary>The package ships one analyzer that dispatches to every rule by method or field name.</summary>
public class DispatchTests
{
    [Fact]
    public void The_assembly_ships_exactly_one_analyzer_that_supports_every_rule_once()
    {
        var analyzers = typeof(KvmAnalyzer).Assembly.GetTypes()
            .Where(t => t.GetCustomAttributes(typeof(DiagnosticAnalyzerAttribute), false).Length > 0).ToList();
        Assert.Equal([typeof(KvmAnalyzer)], analyzers);
        var fromRules = KvmAnalyzer.Rules.SelectMany(r => r.SupportedDiagnostics).Select(d => d.Id).ToList();
        Assert.Equal(fromRules.Count, fromRules.Distinct().Count());
        Assert.Equal(fromRules.Order(), new KvmAnalyzer().SupportedDiagnostics.Select(d => d.Id).Order());
        var ruleTypes = typeof(KvmAnalyzer).Assembly.GetTypes().Where(t => !t.IsAbstract && typeof(KvmRule).IsAssignableFrom(t));
        Assert.Equal(ruleTypes.OrderBy(t => t.Name), KvmAnalyzer.Rules.Select(r => r.GetType()).OrderBy(t => t.Name));
    }

    [Fact]
    public Task Rules_sharing_a_trigger_name_all_run() => Verify.AllRules("""
        class C
        {
            void M(KvmSystem kvm, VmFd vm, GuestMemfdFeature f, GmemFd g)
            {
                // "Create": the alignment, flags and handle-lifetime rules all look at it.
                {|KVM1006:f.Create({|KVM1003:4097|}, {|KVM1004:(GuestMemfdFlags)0x100|})|};
                // "flags" and an aligned field: the flags rule and the alignment rule share the assignment callback.
                var r = new kvm_userspace_memory_region2 { memory_size = {|KVM1003:5000|}, flags = {|KVM1004:0x80|} };
                // Other names reach no rule.
                Console.WriteLine(r.slot);
            }
            void N()
            {
                // "Ioctl": the capability rule and the result rule (no proof parameter in this method).
                var arg = new kvm_create_guest_memfd { size = 4096 };
                {|KVM1010:Sys.Ioctl(0, {|KVM2001:KvmIoctls.KVM_CREATE_GUEST_MEMFD|}, ref arg)|};
            }
        }
        """);

    [Fact]
    public Task A_compilation_without_the_sdk_gets_no_callbacks_and_no_diagnostics()
    {
        var test = new Microsoft.CodeAnalysis.CSharp.Testing.CSharpAnalyzerTest<KvmAnalyzer, Microsoft.CodeAnalysis.Testing.DefaultVerifier>
        {
            ReferenceAssemblies = new Microsoft.CodeAnalysis.Testing.ReferenceAssemblies("net10.0"),
        };
        test.TestState.AdditionalReferences.AddRange(Basic.Reference.Assemblies.Net100.References.All.Cast<MetadataReference>());
        test.TestState.Sources.Add("class Create { void Map() { } void M() { Map(); int flags = 0; flags++; } }");
        return test.RunAsync();
    }
}
