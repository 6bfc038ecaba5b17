using System;
using Kvm;
using Kvm.Interop;

//// case: cpuid-after-run-loop
class O1
{
    public void Run(VcpuFd vcpu, CpuidTable table)
    {
        for (var i = 0; i < 3; i++)
        {
            vcpu.Run();
            vcpu.SetCpuid2(table); // expect: KVM1007
        }
    }
}
//// case: cpuid-after-run-straight
class O2
{
    public void Boot(VmFd vm, CpuidTable table)
    {
        using var cpu = vm.CreateVcpu(0);
        cpu.Run();
        cpu.SetCpuid2(table); // expect: KVM1007
    }
}
//// case: irqchip-after-vcpu
class O3
{
    public void Boot(VmFd vm)
    {
        using var cpu = vm.CreateVcpu(0);
        vm.Irqchip?.CreateIrqchip(); // expect: KVM1008
    }
}
//// case: split-irqchip-after-vcpu
class O4
{
    public void Boot(VmFd vm)
    {
        using var cpu = vm.CreateVcpu(0);
        vm.EnableSplitIrqchip(); // expect: KVM1008
    }
}
//// case: identity-map-after-vcpu-branch
class O5
{
    public void Boot(VmFd vm, bool smp)
    {
        if (smp)
        {
            using var ap = vm.CreateVcpu(1);
        }
        vm.SetIdentityMapAddress(0xFEFFC000); // expect: KVM1008
    }
}
//// case: ok-setup-before-vcpu
class O6
{
    public void Boot(VmFd vm, CpuidTable table)
    {
        vm.Irqchip?.CreateIrqchip();
        vm.SetIdentityMapAddress(0xFEFFC000);
        using var cpu = vm.CreateVcpu(0);
        cpu.SetCpuid2(table);
        cpu.Run();
    }
}
//// case: ok-same-table-after-run
class O7
{
    public void Rerun(VcpuFd cpu)
    {
        cpu.Run();
        cpu.SetCpuid2(cpu.GetCpuid2());
    }
}
//// case: ok-new-vcpu-per-iteration
class O8
{
    public void Each(VmFd vm, CpuidTable t)
    {
        for (var i = 0; i < 2; i++)
        {
            using var cpu = vm.CreateVcpu(i);
            cpu.SetCpuid2(t);
            cpu.Run();
        }
    }
}
//// case: ok-supported-cpuid
class O9
{
    public void Boot(KvmSystem kvm, VmFd vm)
    {
        var table = kvm.GetSupportedCpuid();
        using var cpu = vm.CreateVcpu(0);
        cpu.SetCpuid2(table);
        cpu.Run();
    }
}
