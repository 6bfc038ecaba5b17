using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Kvm.Analyzers.Tests.Support;

namespace Kvm.Analyzers.Tests;

/// <summary>
/// The compiler, not a convention, keeps a <see cref="Kvm.MemoryLease"/>'s span inside the block of its lease
/// (issue #18, finding 2a: a span kept past the lease's <c>using</c> wrote into the runtime's JIT memory). Each
/// snippet is compiled against the real Kvm.Sdk.dll; the escapes must be errors, the ordinary uses must compile.
/// </summary>
public class LeaseScopeTests
{
    private static string[] Errors(string body)
    {
        var source = $$"""
            using System;
            using Kvm;
            static class C
            {
                static void M(HostMapping memory) { {{body}} }
            }
            """;
        var compilation = CSharpCompilation.Create("t", [CSharpSyntaxTree.ParseText(source)], Verify.References,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        return compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error)
            .Select(d => d.Id).ToArray();
    }

    [Theory]
    [InlineData("Span<byte> s; using (var l = memory.Lease(0, 16)) { s = l.Span; } s[0] = 1;")]
    [InlineData("Span<byte> s = default; { var l = memory.Lease(0, 16); s = l.Span; }")]
    [InlineData("Span<byte> s; using (var l = memory.Lease(0, 16)) s = l.Span;")]
    public void ASpanCannotLeaveItsLeasesBlock(string body) => Assert.NotEmpty(Errors(body));

    [Fact]
    public void ASpanCannotBeReturned()
    {
        var source = """
            using System;
            using Kvm;
            static class C
            {
                static Span<byte> M(HostMapping memory) { using var l = memory.Lease(0, 16); return l.Span; }
            }
            """;
        var compilation = CSharpCompilation.Create("t", [CSharpSyntaxTree.ParseText(source)], Verify.References,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        Assert.Contains(compilation.GetDiagnostics(), d => d.Severity == DiagnosticSeverity.Error);
    }

    [Theory]
    [InlineData("using var l = memory.Lease(0, 16); l.Span[0] = 1; var s = l.Span; s.Fill(2);")]
    [InlineData("using (var l = memory.Lease(0, 16)) { var s = l.Span; s[0] = 1; }")]
    [InlineData("using (var l = memory.Lease(0, 16)) l.Span.Clear();")]
    public void OrdinaryUsesCompile(string body) => Assert.Empty(Errors(body));
}
