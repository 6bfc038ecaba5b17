using Kvm.Analyzers.CodeFixes;
using Kvm.Analyzers.Tests.Support;

namespace Kvm.Analyzers.Tests;

/// <summary>Issue #15's "code fixes that always leave compiling code" for KVM1003 and KVM1001: the fixed state is
/// compiled (no compiler error) and re-analysed (no diagnostic left).</summary>
public class FixesCompileTests
{
    [Fact]
    public Task KVM1003_on_a_static_readonly_field_fixes_the_field() => Verify.Fix<AlignmentRule, AlignmentCodeFix>("""
        class C
        {
            static readonly ulong RamSize = 0x1800;
            const ulong Offset = 0x1010;
            void M(GuestMemfdFeature f)
            {
                using var g = f.Create({|KVM1003:RamSize|});
                g.PunchHole({|KVM1003:Offset|}, 0x1000);
                Console.WriteLine(RamSize + Offset);
            }
        }
        """, """
        class C
        {
            static readonly ulong RamSize = 0x2000;
            const ulong Offset = 0x1000;
            void M(GuestMemfdFeature f)
            {
                using var g = f.Create(RamSize);
                g.PunchHole(Offset, 0x1000);
                Console.WriteLine(RamSize + Offset);
            }
        }
        """);

    [Fact]
    public Task KVM1003_on_a_local_constant_fixes_the_constant() => Verify.Fix<AlignmentRule, AlignmentCodeFix>("""
        class C
        {
            void M(GuestMemfdFeature f)
            {
                const ulong size = 4097;
                using var g = f.Create({|KVM1003:size|});
            }
        }
        """, """
        class C
        {
            void M(GuestMemfdFeature f)
            {
                const ulong size = 8192;
                using var g = f.Create(size);
            }
        }
        """);

    [Fact]
    public Task KVM1001_fix_opts_in_when_the_statement_shares_its_line() => Verify.Fix<MemoryAttributesRule, InPlaceConversionCodeFix>("""
        class C
        {
            void M(VmFd vm, GmemFd gmem, bool ok)
            {
                using var slot = vm.Memslots.Add(0, gmem, 0, 0x4000);
                if (ok) {|KVM1001:vm.MemoryAttributes!.Set(0x1000, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE)|}; else Console.WriteLine();
                // a comment line
                var r = {|KVM1001:vm.MemoryAttributes!.TrySet(0, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE)|};
                Console.WriteLine(r);
            }
        }
        """, """
        class C
        {
            void M(VmFd vm, GmemFd gmem, bool ok)
            {
                using var slot = vm.Memslots.Add(0, gmem, 0, 0x4000);
                if (ok)
        #pragma warning disable KVMEXP001
                    vm.InPlaceConversionV8!.ToPrivate(0x1000, 0x1000);
        #pragma warning restore KVMEXP001
                else Console.WriteLine();
                // a comment line
        #pragma warning disable KVMEXP001
                var r = vm.InPlaceConversionV8!.TryToPrivate(0, 0x1000);
        #pragma warning restore KVMEXP001
                Console.WriteLine(r);
            }
        }
        """, Verify.InPlaceOn);

    [Fact]
    public Task KVM1001_fix_keeps_code_that_already_opted_in_unchanged_around_it() => Verify.Fix<MemoryAttributesRule, InPlaceConversionCodeFix>("""
        #pragma warning disable KVMEXP001
        class C
        {
            void M(VmFd vm, GmemFd gmem)
            {
                using var slot = vm.Memslots.Add(0, gmem, 0, 0x4000);
                {|KVM1001:vm.MemoryAttributes!.Set(0x1000, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE)|};
            }
        }
        """, """
        #pragma warning disable KVMEXP001
        class C
        {
            void M(VmFd vm, GmemFd gmem)
            {
                using var slot = vm.Memslots.Add(0, gmem, 0, 0x4000);
                vm.InPlaceConversionV8!.ToPrivate(0x1000, 0x1000);
            }
        }
        """, Verify.InPlaceOn);

    [Fact]
    public Task KVM1003_on_a_constant_of_another_file_fixes_that_file() => Verify.FixFiles<AlignmentRule, AlignmentCodeFix>(
        [
            """
            class C
            {
                void M(GuestMemfdFeature f) { using var g = f.Create({|KVM1003:Layout.RamSize|}); }
            }
            """,
            """
            static class Layout
            {
                public const ulong RamSize = 0x1800;
            }
            """,
        ],
        [
            """
            class C
            {
                void M(GuestMemfdFeature f) { using var g = f.Create(Layout.RamSize); }
            }
            """,
            """
            static class Layout
            {
                public const ulong RamSize = 0x2000;
            }
            """,
        ]);
}
