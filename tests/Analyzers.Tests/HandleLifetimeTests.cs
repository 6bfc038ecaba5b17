using Kvm.Analyzers.CodeFixes;
using Kvm.Analyzers.Tests.Support;

namespace Kvm.Analyzers.Tests;

public class HandleLifetimeTests
{
    [Fact]
    public Task Handles_dropped_on_the_floor_are_reported() => Verify.Analyzer<HandleLifetimeRule>("""
        class C
        {
            void M(KvmSystem kvm, GuestMemfdFeature f)
            {
                var vm = {|KVM1006:kvm.CreateVm()|};
                var vcpu = {|KVM1006:vm.CreateVcpu(0)|};
                vcpu.Run();
                {|KVM1006:f.Create(4096)|};
                var caps = {|KVM1006:KvmSystem.Open()|}.Capabilities;
                var mem = {|KVM1006:kvm.AllocateHostMemory(4096)|};
                mem.Write(0, new byte[] { 1 });
            }
        }
        """);

    [Fact]
    public Task Disposed_handles_are_silent() => Verify.Analyzer<HandleLifetimeRule>("""
        class C
        {
            void M()
            {
                using var kvm = KvmSystem.Open();
                using (var vm = kvm.CreateVm())
                {
                    var vcpu = vm.CreateVcpu(0);
                    try { vcpu.Run(); }
                    finally { vcpu.Dispose(); }
                }
                var other = kvm.CreateVm();
                using (other) { }
                var g = other.GuestMemfd?.Create(4096);
                g?.Dispose();
            }
        }
        """);

    [Fact]
    public Task Handles_handed_on_are_silent() => Verify.Analyzer<HandleLifetimeRule>("""
        using System.Collections.Generic;
        class C : IDisposable
        {
            public void Dispose() => _vm?.Dispose();
            VmFd? _vm;
            readonly List<VcpuFd> _vcpus = new();
            VmFd Create(KvmSystem kvm) => kvm.CreateVm();
            VmFd Returned(KvmSystem kvm) { var vm = kvm.CreateVm(); return vm; }
            void Stored(KvmSystem kvm) { var vm = kvm.CreateVm(); _vm = vm; _vcpus.Add(vm.CreateVcpu(0)); }
            void Passed(KvmSystem kvm) { var vm = kvm.CreateVm(); Keep(vm); }
            void Captured(KvmSystem kvm) { var vm = kvm.CreateVm(); Action a = () => vm.Dispose(); a(); }
            static void Keep([TakesOwnership] VmFd vm) { }
        }
        """);

    [Fact]
    public Task Memslots_owned_by_their_VM_are_silent() => Verify.Analyzer<HandleLifetimeRule>("""
        class C
        {
            void M(VmFd vm, HostMemory mem)
            {
                vm.Memslots.Add(0, mem);                  // the VM deletes its memslots on Dispose
                var slot = vm.Memslots.Add(0x10000, mem);
                var found = vm.Memslots.Find(0);
                var g = slot.GuestMemfd;                   // a property, not a new handle
            }
        }
        """);

    [Fact]
    public Task Fix_adds_using_with_fix_all() => Verify.Fix<HandleLifetimeRule, UsingCodeFix>("""
        class C
        {
            void M(KvmSystem kvm)
            {
                // the VM
                var vm = {|KVM1006:kvm.CreateVm()|};
                var vcpu = {|KVM1006:vm.CreateVcpu(0)|};
                vcpu.Run();
            }
        }
        """, """
        class C
        {
            void M(KvmSystem kvm)
            {
                // the VM
                using var vm = kvm.CreateVm();
                using var vcpu = vm.CreateVcpu(0);
                vcpu.Run();
            }
        }
        """);

    [Fact]
    public Task Fix_hoists_a_handle_passed_to_a_method_that_does_not_own_it() => Verify.Fix<HandleLifetimeRule, HoistUsingCodeFix>("""
        class C
        {
            void M(KvmSystem kvm)
            {
                var vm = 1;
                Console.WriteLine({|KVM1006:kvm.CreateVm()|});
            }
        }
        """, """
        class C
        {
            void M(KvmSystem kvm)
            {
                var vm = 1;
                using var vm2 = kvm.CreateVm();
                Console.WriteLine(vm2);
            }
        }
        """);

    [Fact]
    public Task Fix_hoists_a_dropped_intermediate_handle() => Verify.Fix<HandleLifetimeRule, HoistUsingCodeFix>("""
        class C
        {
            int M()
            {
                var n = {|KVM1006:KvmSystem.Open()|}.Capabilities.Check(KvmCap.KVM_CAP_GUEST_MEMFD);
                return n;
            }
        }
        """, """
        class C
        {
            int M()
            {
                using var kvm = KvmSystem.Open();
                var n = kvm.Capabilities.Check(KvmCap.KVM_CAP_GUEST_MEMFD);
                return n;
            }
        }
        """);

    [Fact]
    public Task No_hoist_out_of_a_loop_condition() => Verify.Fix<HandleLifetimeRule, HoistUsingCodeFix>("""
        class C
        {
            void M(KvmSystem kvm)
            {
                while (Check({|KVM1006:kvm.CreateVm()|})) { }
            }
            static bool Check(VmFd vm) => vm.Capabilities.Check(KvmCap.KVM_CAP_GUEST_MEMFD) > 0;
        }
        """, """
        class C
        {
            void M(KvmSystem kvm)
            {
                while (Check({|KVM1006:kvm.CreateVm()|})) { }
            }
            static bool Check(VmFd vm) => vm.Capabilities.Check(KvmCap.KVM_CAP_GUEST_MEMFD) > 0;
        }
        """);
}
