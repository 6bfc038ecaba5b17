using Kvm.Generators.Layout;
using Xunit;

namespace Kvm.Generators.Tests.Oracle;

/// <summary>The set probe itself, on a tiny header: it must say no to every kind of macro that is not an integer
/// constant in C, and yes to the ones that are.</summary>
public sealed class MacroSetProbeTests
{
    private const string Header = """
        #define KVM_INT 1
        #define KVM_CONTINUED \
            (KVM_INT << 4)
        #define KVM_FUNC(x) (x)
        #define KVM_FLAG
        #define KVM_STRING "kvm"
        #define KVM_FLOAT 1.5
        #define KVM_COMMA (1, 2)
        #define KVM_TYPE unsigned int
        #define KVM_UNDEFINED_NAME (NO_SUCH_MACRO + 1)
        #ifdef __aarch64__
        #define KVM_ARM_ONLY 2
        #endif
        #define KVM_DROPPED 3
        #undef KVM_DROPPED
        struct kvm_complete { int a; };
        struct kvm_only_declared;
        #ifdef __aarch64__
        struct kvm_arm_only { int b; };
        #endif
        """;

    [Fact]
    public void Says_which_macros_are_integer_constants_and_which_structs_are_complete()
    {
        var macros = MacroSetProbe.ObjectLikeMacros(Header).ToList();
        Assert.DoesNotContain("KVM_FUNC", macros);
        var records = MacroSetProbe.RecordDefinitions(Header).ToList();
        Assert.Equal(new[] { "struct kvm_complete", "struct kvm_arm_only" }, records);

        var dir = Directory.CreateTempSubdirectory("kvm-oracle-selftest-");
        try
        {
            Directory.CreateDirectory(Path.Combine(dir.FullName, "linux"));
            File.WriteAllText(Path.Combine(dir.FullName, "linux", "kvm.h"), Header);
            var names = macros.Concat(records).ToList();
            var source = MacroSetProbe.Source("linux/kvm.h", names, out var lines);
            var result = CCompiler.For(TargetArch.X86_64).Compile(source, new[] { dir.FullName }, dir.FullName, "set",
                "-w", "-fsyntax-only", "-fmax-errors=0", "-ftrack-macro-expansion=0");
            var yes = MacroSetProbe.Evaluate(result, lines, names, out var unmapped);
            Assert.Empty(unmapped);
            Assert.Equal(new[] { "KVM_CONTINUED", "KVM_INT", "struct kvm_complete" }, yes.OrderBy(n => n, StringComparer.Ordinal));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
