using Kvm.Analyzers.Tests.Support;

namespace Kvm.Analyzers.Tests;

public class OrderTests
{
    [Fact]
    public Task Cpuid_after_run_is_reported_on_every_path_that_reaches_it() => Verify.Analyzer<OrderRule>("""
        class C
        {
            VcpuFd? _vcpu;
            void Straight(VcpuFd vcpu, CpuidTable t) { vcpu.Run(); {|KVM1007:vcpu.SetCpuid2(t)|}; }
            void Branch(VcpuFd vcpu, CpuidTable t, bool b) { if (b) vcpu.RunServicingMemoryFaults(null!); {|KVM1007:vcpu.SetCpuid2(t)|}; }
            void Loop(VcpuFd vcpu, CpuidTable t) { for (var i = 0; i < 2; i++) { {|KVM1007:vcpu.SetCpuid2(t)|}; vcpu.Run(); } }
            void Field(CpuidTable t) { _vcpu!.Run(); {|KVM1007:_vcpu.SetCpuid2(t)|}; }
            void Local(VmFd vm, CpuidTable t) { using var v = vm.CreateVcpu(0); var e = v.Run(); {|KVM1007:v.SetCpuid2(t)|}; }
            void Reassigned(VcpuFd vcpu, CpuidTable other) { vcpu.Run(); var t = vcpu.GetCpuid2(); t = other; {|KVM1007:vcpu.SetCpuid2(t)|}; }
        }
        """);

    [Fact]
    public Task Cpuid_before_run_and_the_kernels_own_table_are_silent() => Verify.Analyzer<OrderRule>("""
        class C
        {
            void Before(VcpuFd vcpu, CpuidTable t) { vcpu.SetCpuid2(t); vcpu.Run(); vcpu.Run(); }
            void Same(VcpuFd vcpu) { vcpu.Run(); vcpu.SetCpuid2(vcpu.GetCpuid2()); }
            void SameThroughALocal(VcpuFd vcpu) { vcpu.Run(); var t = vcpu.GetCpuid2(); vcpu.SetCpuid2(t); }
            void Other(VcpuFd a, VcpuFd b, CpuidTable t) { a.Run(); b.SetCpuid2(t); }
            void NewPerIteration(VmFd vm, CpuidTable t)
            {
                for (var i = 0; i < 4; i++)
                {
                    using var v = vm.CreateVcpu(i);
                    v.SetCpuid2(t);
                    v.Run();
                }
            }
            void Reassigned(VmFd vm, VcpuFd vcpu, CpuidTable t) { vcpu.Run(); vcpu = vm.CreateVcpu(1); vcpu.SetCpuid2(t); }
            void Exclusive(VcpuFd vcpu, CpuidTable t, bool b) { if (b) vcpu.Run(); else vcpu.SetCpuid2(t); }
            void Lambda(VcpuFd vcpu, CpuidTable t) { vcpu.Run(); Action a = () => vcpu.SetCpuid2(t); }
        }
        """);

    [Fact]
    public Task Vm_setup_after_a_vcpu_is_reported() => Verify.Analyzer<OrderRule>("""
        class C
        {
            void M(VmFd vm)
            {
                using var v = vm.CreateVcpu(0);
                {|KVM1008:vm.Irqchip!.CreateIrqchip()|};
                vm.Irqchip?{|KVM1008:.CreateIrqchip()|};
                {|KVM1008:vm.EnableSplitIrqchip(24)|};
                {|KVM1008:vm.SetIdentityMapAddress(0xFEFFC000)|};
                {|KVM1008:vm.DisableExits(X86DisableExits.Hlt)|};
            }
            void Loop(VmFd vm)
            {
                for (var i = 0; i < 2; i++)
                {
                    {|KVM1008:vm.Irqchip!.CreateIrqchip()|};
                    vm.CreateVcpu(i).Dispose();
                }
            }
        }
        """);

    [Fact]
    public Task Vm_setup_before_vcpus_is_silent() => Verify.Analyzer<OrderRule>("""
        class C
        {
            void M(KvmSystem kvm, VmFd vm, VmFd other)
            {
                vm.SetIdentityMapAddress(0xFEFFC000);
                vm.Irqchip!.CreateIrqchip();
                vm.DisableExits(X86DisableExits.Hlt);
                using var v = vm.CreateVcpu(0);
                other.Irqchip?.CreateIrqchip();       // another VM
                vm.Irqchip.CreatePit2();               // not an order rule
                vm = kvm.CreateVm();                   // a new VM: its window is open again
                vm.EnableSplitIrqchip(24);
            }
        }
        """);
}
