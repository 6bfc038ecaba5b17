using Kvm.Analyzers.CodeFixes;
using Kvm.Analyzers.Tests.Support;

namespace Kvm.Analyzers.Tests;

public class AlignmentTests
{
    [Fact]
    public Task Unaligned_sdk_arguments_are_reported() => Verify.Analyzer<AlignmentRule>("""
        class C
        {
            void M(VmFd vm, GuestMemfdFeature f, GmemFd g, HostMemory mem, IGuestMemoryConversion conv)
            {
                f.Create({|KVM1003:4097|});
                vm.Memslots.Add({|KVM1003:0x1001|}, mem);
                vm.Memslots.Add(0, g, gmemOffset: {|KVM1003:512|}, size: 0x2000);
                g.Allocate(0, {|KVM1003:100|});
                g.PunchHole({|KVM1003:0x800|}, 4096);
                conv.ToPrivate(0x1000, {|KVM1003:0x1001|});
                vm.MemoryAttributes!.Set({|KVM1003:0x10|}, 4096, 0);
            }
        }
        """);

    [Fact]
    public Task Unaligned_struct_fields_are_reported() => Verify.Analyzer<AlignmentRule>("""
        class C
        {
            void M()
            {
                var a = new kvm_memory_attributes { address = {|KVM1003:0x1800|}, size = 4096 };
                var r = new kvm_userspace_memory_region2 { guest_phys_addr = 0, memory_size = {|KVM1003:5000|} };
                r.guest_memfd_offset = {|KVM1003:1|};
                var g = new kvm_create_guest_memfd { size = {|KVM1003:(ulong)4095|} };
            }
        }
        """);

    [Fact]
    public Task Aligned_constants_are_silent() => Verify.Analyzer<AlignmentRule>("""
        class C
        {
            const ulong Size = 64 * 1024;
            void M(VmFd vm, GuestMemfdFeature f, GmemFd g, HostMemory mem)
            {
                f.Create(Size);
                vm.Memslots.Add(0x10000, mem, memoryOffset: 0x1000, size: 0x3000);
                vm.Memslots.Add(0, g, gmemOffset: 0, size: Size);
                g.Allocate(0, 2 * 4096);
                var a = new kvm_memory_attributes { address = 0x200000, size = 4096, attributes = 8 };
            }
        }
        """);

    [Fact]
    public Task Values_not_known_at_compile_time_are_silent() => Verify.Analyzer<AlignmentRule>("""
        class C
        {
            void M(GuestMemfdFeature f, GmemFd g, ulong size, ulong offset)
            {
                f.Create(size);
                g.Allocate(offset, size + 1);
                var r = new kvm_userspace_memory_region2 { memory_size = size };
            }
        }
        """);

    [Fact]
    public Task Byte_offsets_that_need_no_alignment_are_silent() => Verify.Analyzer<AlignmentRule>("""
        class C
        {
            void M(GmemFd g, GmemMapping m, IGuestMemoryConversion conv)
            {
                var s = g.GetState(1);                     // any byte of a page
                m.Write(3, new byte[] { 1, 2 });            // host access: byte granular
                var p = conv.GetState(0x1234);
                var slot = new kvm_userspace_memory_region2 { slot = 3, flags = 0 };  // not addresses
                var e = new kvm_enable_cap { cap = 123 };
            }
        }
        """);

    [Fact]
    public Task Fix_rounds_sizes_up_and_addresses_down_with_fix_all() => Verify.Fix<AlignmentRule, AlignmentCodeFix>("""
        class C
        {
            void M(VmFd vm, GuestMemfdFeature f, HostMemory mem)
            {
                f.Create({|KVM1003:4097|});
                vm.Memslots.Add({|KVM1003:0x1001|}, mem, size: {|KVM1003:0x1FFF|});
                var a = new kvm_memory_attributes { address = {|KVM1003:0x1800|}, size = {|KVM1003:(ulong)100|} };
            }
        }
        """, """
        class C
        {
            void M(VmFd vm, GuestMemfdFeature f, HostMemory mem)
            {
                f.Create(8192);
                vm.Memslots.Add(0x1000, mem, size: 0x2000);
                var a = new kvm_memory_attributes { address = 0x1000, size = 0x1000 };
            }
        }
        """);
}
