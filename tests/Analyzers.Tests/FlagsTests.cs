using Kvm.Analyzers.CodeFixes;
using Kvm.Analyzers.Tests.Support;

namespace Kvm.Analyzers.Tests;

public class RefusedFlagsTests
{
    [Fact]
    public Task Refused_combinations_are_reported() => Verify.Analyzer<FlagsRule>("""
        class C
        {
            void M(VmFd vm, GuestMemfdFeature f, HostMemory mem)
            {
                f.Create(4096, {|KVM1004:(GuestMemfdFlags)0x100|});
                vm.Memslots.Add(0, mem, flags: {|KVM1004:KvmMemFlags.KVM_MEM_GUEST_MEMFD|});
                var r = new kvm_userspace_memory_region2 { flags = {|KVM1004:(uint)(KvmMemFlags.KVM_MEM_GUEST_MEMFD | KvmMemFlags.KVM_MEM_READONLY)|} };
                r.flags = {|KVM1004:(uint)(KvmMemFlags.KVM_MEM_GUEST_MEMFD | KvmMemFlags.KVM_MEM_LOG_DIRTY_PAGES)|};
                var v1 = new kvm_userspace_memory_region { flags = {|KVM1004:4|} };
                var c = new kvm_create_guest_memfd { size = 4096, flags = {|KVM1004:0x8|} };
                r.flags = {|KVM1004:0x80|};
            }
        }
        """);

    [Fact]
    public Task Accepted_combinations_are_silent() => Verify.Analyzer<FlagsRule>("""
        class C
        {
            void M(VmFd vm, GuestMemfdFeature f, HostMemory mem)
            {
                f.Create(4096, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
                vm.Memslots.Add(0, mem, flags: KvmMemFlags.KVM_MEM_READONLY | KvmMemFlags.KVM_MEM_LOG_DIRTY_PAGES);
                var r = new kvm_userspace_memory_region2 { flags = (uint)KvmMemFlags.KVM_MEM_GUEST_MEMFD };
                var v1 = new kvm_userspace_memory_region { flags = (uint)KvmMemFlags.KVM_MEM_READONLY };
            }
        }
        """);

    [Fact]
    public Task Flags_not_known_at_compile_time_are_silent() => Verify.Analyzer<FlagsRule>("""
        class C
        {
            void M(VmFd vm, GuestMemfdFeature f, HostMemory mem, GuestMemfdFlags g, KvmMemFlags m, uint raw)
            {
                f.Create(4096, g | (GuestMemfdFlags)0);
                vm.Memslots.Add(0, mem, flags: m);
                var r = new kvm_userspace_memory_region2 { flags = raw | (uint)KvmMemFlags.KVM_MEM_GUEST_MEMFD };
            }
        }
        """);

    [Fact]
    public Task Other_structs_named_flags_are_silent() => Verify.Analyzer<FlagsRule>("""
        class C
        {
            void M()
            {
                var a = new kvm_memory_attributes { flags = 0 };
                var e = new kvm_enable_cap { flags = 0x80 };
                var s = new S { flags = 0xFF };
            }
            struct S { public uint flags; }
        }
        """);
}

public class MapWithoutMmapTests
{
    [Fact]
    public Task Map_of_a_guest_memfd_created_without_MMAP_is_reported() => Verify.Analyzer<FlagsRule>("""
        class C
        {
            void M(GuestMemfdFeature f)
            {
                using var g = f.Create(4096);
                using var m = {|KVM1005:g.Map()|};
                var h = f.Create(4096, GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
                var n = {|KVM1005:h.Map()|};
            }
        }
        """);

    [Fact]
    public Task Map_with_MMAP_is_silent() => Verify.Analyzer<FlagsRule>("""
        class C
        {
            void M(GuestMemfdFeature f)
            {
                using var g = f.Create(4096, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
                using var m = g.Map();
            }
        }
        """);

    [Fact]
    public Task Map_with_flags_from_elsewhere_is_silent() => Verify.Analyzer<FlagsRule>("""
        class C
        {
            void M(GuestMemfdFeature f, GuestMemfdFlags flags, GmemFd given)
            {
                using var g = f.Create(4096, flags);
                using var m = g.Map();
                using var n = given.Map();                 // created elsewhere
            }
        }
        """);

    [Fact]
    public Task Map_after_the_local_was_reassigned_is_silent() => Verify.Analyzer<FlagsRule>("""
        class C
        {
            void M(GuestMemfdFeature f, GmemFd other)
            {
                var g = f.Create(4096);
                g.Dispose();
                g = other;
                using var m = g.Map();
            }
        }
        """);

    [Fact]
    public Task Map_guarded_by_IsMappable_is_still_reported_only_when_flags_are_constant() => Verify.Analyzer<FlagsRule>("""
        class C
        {
            GmemMapping? M(GuestMemfdFeature f, bool mmap)
            {
                var g = f.Create(4096, mmap ? GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP : 0);
                return g.IsMappable ? g.Map() : null;
            }
        }
        """);

    [Fact]
    public Task Fix_adds_the_flag_to_each_create_call_with_fix_all() => Verify.Fix<FlagsRule, MmapFlagCodeFix>("""
        class C
        {
            void M(GuestMemfdFeature f)
            {
                using var a = f.Create(4096);
                using var b = f.Create(8192, GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
                using var c = f.Create(4096, 0);
                using var ma = {|KVM1005:a.Map()|};
                using var mb = {|KVM1005:b.Map()|};
                using var mc = {|KVM1005:c.Map()|};
            }
        }
        """, """
        class C
        {
            void M(GuestMemfdFeature f)
            {
                using var a = f.Create(4096, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP);
                using var b = f.Create(8192, GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED | GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP);
                using var c = f.Create(4096, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP);
                using var ma = a.Map();
                using var mb = b.Map();
                using var mc = c.Map();
            }
        }
        """);
}
