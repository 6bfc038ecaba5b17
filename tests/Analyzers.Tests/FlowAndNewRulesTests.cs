using Kvm.Analyzers.CodeFixes;
using Kvm.Analyzers.Tests.Support;

namespace Kvm.Analyzers.Tests;

/// <summary>The flow-following shapes and the rules added for issue #15, one rule at a time; fixes are checked to
/// leave compiling code (the fix test compiles the fixed state).</summary>
public class FlowAndNewRulesTests
{
    [Fact]
    public Task Values_are_followed_through_locals_ternaries_and_static_readonly_fields() => Verify.Analyzer<AlignmentRule>("""
        class C
        {
            static readonly ulong Odd = 0x1800;
            void M(GuestMemfdFeature f, GmemFd g, bool b, ulong runtime)
            {
                ulong size = 0x1800;
                using var a = f.Create({|KVM1003:size|});
                using var c = f.Create({|KVM1003:Odd|});
                using var d = f.Create({|KVM1003:b ? 0x800UL : 0x1800UL|});
                using var e = f.Create(b ? 0x1000UL : 0x1800UL);   // one path is aligned: not reported
                ulong off = 0x1000;
                off += 0x10;
                g.PunchHole({|KVM1003:off|}, 0x1000);
                g.PunchHole(runtime, 0x1000);
                ulong len = 0;
                g.Allocate(0, {|KVM1009:len|});
                using var z = f.Create({|KVM1009:0|});
            }
        }
        """);

    [Fact]
    public Task Fix_on_a_named_constant_edits_the_constant() => Verify.Fix<AlignmentRule, AlignmentCodeFix>("""
        class C
        {
            const ulong RamSize = 0x1800;
            void M(GuestMemfdFeature f) { using var g = f.Create({|KVM1003:RamSize|}); }
        }
        """, """
        class C
        {
            const ulong RamSize = 0x2000;
            void M(GuestMemfdFeature f) { using var g = f.Create(RamSize); }
        }
        """);

    [Fact]
    public Task Ownership_is_a_contract() => Verify.Analyzer<HandleLifetimeRule>("""
        using System.Collections.Generic;
        sealed class Board : IDisposable
        {
            private readonly VmFd _vm;
            public Board([TakesOwnership] VmFd vm) => _vm = vm;
            public void Dispose() => _vm.Dispose();
        }
        class NotDisposable { public VmFd? Vm; }
        class C
        {
            VmFd? _notOwned;
            static void Print(VmFd vm) => Console.WriteLine(vm.Type);
            void M(KvmSystem kvm, Stack<Action> undo)
            {
                var a = {|KVM1006:kvm.CreateVm()|};
                Console.WriteLine(a);                       // a library that does not take ownership
                var b = {|KVM1006:kvm.CreateVm()|};
                Print(b);                                   // a method of this project that only reads it
                var c = kvm.CreateVm();
                undo.Push(c.Dispose);                       // disposal through a method group
                var d = kvm.CreateVm();
                using var board = new Board(d);             // [TakesOwnership]
                _ = {|KVM1006:kvm.CreateVm()|};
                VmFd e;
                e = {|KVM1006:kvm.CreateVm()|};
                if ({|KVM1006:kvm.CreateVm()|} is { } f)
                    Console.WriteLine(f.Type);
                var g = {|KVM1006:kvm.CreateVm()|};
                _notOwned = g;                              // a field of a type that never disposes it
                new NotDisposable().Vm = kvm.CreateVm();    // another object's member: handed on
            }
        }
        """);

    [Fact]
    public Task Fix_disposes_a_dropped_handle_and_compiles() => Verify.Fix<HandleLifetimeRule, UsingCodeFix>("""
        class C
        {
            void M(KvmSystem kvm, GuestMemfdFeature f)
            {
                _ = {|KVM1006:kvm.CreateVm()|};
                {|KVM1006:f.Create(0x1000)|};
            }
        }
        """, """
        class C
        {
            void M(KvmSystem kvm, GuestMemfdFeature f)
            {
                kvm.CreateVm().Dispose();
                f.Create(0x1000).Dispose();
            }
        }
        """);

    [Fact]
    public Task Unobserved_results_are_reported() => Verify.Analyzer<ResultRule>("""
        class C
        {
            int M(GmemFd g, MemoryAttributesFeature a, int fd)
            {
                {|KVM1010:g.TryPunchHole(0, 0x1000)|};
                _ = {|KVM1010:a.TrySet(0, 0x1000, 0)|};
                {|KVM1010:Sys.Ioctl(fd, KvmIoctls.KVM_RUN)|};
                var r = g.TryAllocate(0, 0x1000);
                if (!r.IsSuccess) return -1;
                return Sys.Ioctl(fd, KvmIoctls.KVM_GET_API_VERSION);
            }
        }
        """);

    [Fact]
    public Task Per_VM_capabilities_asked_on_dev_kvm_are_reported() => Verify.Analyzer<CapabilityScopeRule>("""
        class C
        {
            bool M(KvmSystem kvm, VmFd vm)
            {
                var caps = kvm.Capabilities;
                var cap = KvmCap.KVM_CAP_MEMORY_ATTRIBUTES;
                return {|KVM1011:kvm.Capabilities.Has(KvmCap.KVM_CAP_GUEST_MEMFD)|} && {|KVM1011:caps.CheckMask(cap)|} != 0 &&
                       vm.Capabilities.Has(KvmCap.KVM_CAP_GUEST_MEMFD) && kvm.Capabilities.Has(KvmCap.KVM_CAP_VM_TYPES);
            }
        }
        """);

    [Fact]
    public Task Init_shared_on_private_VM_types_and_host_writes_to_private_pages() => Verify.Analyzer<GuestMemfdStateRule>("""
        class C
        {
            void M(KvmSystem kvm, byte[] image)
            {
                var type = VmType.X86SwProtected;
                using var cc = kvm.CreateVm(type);
                using var a = {|KVM1012:cc.GuestMemfd!.Create(0x1000, GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED)|};
                using var plain = kvm.CreateVm();
                using var b = plain.GuestMemfd!.Create(0x1000, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP);
                using var mb = b.Map();
                {|KVM1014:mb.Write(0, image)|};
                using var s = plain.GuestMemfd!.Create(0x1000, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
                using var ms = s.Map();
                ms.Write(0, image);
            }
        }
        """);

    [Fact]
    public Task In_place_conversion_lets_INIT_SHARED_through() => Verify.Analyzer<GuestMemfdStateRule>("""
        class C
        {
            void M(KvmSystem kvm)
            {
                using var cc = kvm.CreateVm(VmType.X86Tdx);
                using var a = cc.GuestMemfd!.Create(0x1000, GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
            }
        }
        """, Verify.InPlaceOn);

    [Fact]
    public Task Raw_struct_misuse_is_reported() => Verify.Analyzer<RawStructRule>("""
        class C
        {
            void M(uint gmem, ulong host)
            {
                var attrs = new kvm_memory_attributes { size = 0x1000, flags = {|KVM1015:1|} };
                var plain = new kvm_userspace_memory_region2 { memory_size = 0x1000, guest_memfd = {|KVM1015:gmem|} };
                var ok = new kvm_userspace_memory_region2 { memory_size = 0x1000, flags = (uint)KvmMemFlags.KVM_MEM_GUEST_MEMFD, guest_memfd = gmem };
                var later = new kvm_userspace_memory_region2 { memory_size = 0x1000, userspace_addr = host };
                later.flags = (uint)KvmMemFlags.KVM_MEM_GUEST_MEMFD;
                later.guest_memfd = gmem;
                var wrong = new kvm_userspace_memory_region2 { memory_size = 0x1000 };
                wrong.guest_memfd_offset = {|KVM1015:0x1000|};
            }
        }
        """);

    [Fact]
    public Task Capability_proof_as_a_parameter_and_ignored_checks() => Verify.Analyzer<CapabilityRule>("""
        class C
        {
            int WithProof(GuestMemfdFeature proof, int vmFd)
            {
                var arg = new kvm_create_guest_memfd { size = 0x1000 };
                return Sys.Ioctl(vmFd, KvmIoctls.KVM_CREATE_GUEST_MEMFD, ref arg);
            }
            int Ignored(VmFd vm, int vmFd)
            {
                vm.Capabilities.Has(KvmCap.KVM_CAP_GUEST_MEMFD);
                var arg = new kvm_create_guest_memfd { size = 0x1000 };
                return Sys.Ioctl(vmFd, {|KVM2001:KvmIoctls.KVM_CREATE_GUEST_MEMFD|}, ref arg);
            }
            int InLocal(VmFd vm, int vmFd)
            {
                var cap = KvmCap.KVM_CAP_GUEST_MEMFD;
                if (!vm.Capabilities.Has(cap)) return -1;
                var arg = new kvm_create_guest_memfd { size = 0x1000 };
                return Sys.Ioctl(vmFd, KvmIoctls.KVM_CREATE_GUEST_MEMFD, ref arg);
            }
        }
        """);

    [Fact]
    public Task Fix_for_KVM1001_opts_in_to_the_experimental_API() => Verify.Fix<MemoryAttributesRule, InPlaceConversionCodeFix>("""
        class C
        {
            void M(VmFd vm, GmemFd gmem)
            {
                using var slot = vm.Memslots.Add(0, gmem, 0, 0x4000);
                {|KVM1001:vm.MemoryAttributes!.Set(0x1000, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE)|};
            }
        }
        """, """
        class C
        {
            void M(VmFd vm, GmemFd gmem)
            {
                using var slot = vm.Memslots.Add(0, gmem, 0, 0x4000);
        #pragma warning disable KVMEXP001
                vm.InPlaceConversionV8!.ToPrivate(0x1000, 0x1000);
        #pragma warning restore KVMEXP001
            }
        }
        """, Verify.InPlaceOn);
}
