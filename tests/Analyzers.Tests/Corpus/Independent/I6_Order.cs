// Independent corpus (issue #15), written blind from docs/diagnostics/*.md: KVM1007 (CPUID after the first run),
// KVM1008 (VM setup after the first vCPU).
using System;
using System.Collections.Generic;
using System.Linq;
using Kvm;
using Kvm.Interop;
//// case: i-1007-loop-next-iteration
class Cpu
{
    static void Loop(VcpuFd vcpu, CpuidTable table)
    {
        while (true)
        {
            vcpu.SetCpuid2(table); // expect: KVM1007
            var exit = vcpu.Run();
            if (exit.Reason == VcpuExitReason.Hlt)
                break;
        }
    }
}
//// case: i-1007-branch-may-have-run
class Cpu
{
    static void Boot(VcpuFd vcpu, CpuidTable table, bool warmup)
    {
        if (warmup)
            vcpu.Run();
        vcpu.SetCpuid2(table); // expect: KVM1007
    }
}
//// case: i-1007-field-receiver
sealed class Board : IDisposable
{
    private readonly VcpuFd _cpu;
    public Board(VmFd vm) => _cpu = vm.CreateVcpu(0);

    public void Step(KvmSystem kvm)
    {
        _cpu.Run();
        _cpu.SetCpuid2(kvm.GetSupportedCpuid()); // expect: KVM1007
    }

    public void Dispose() => _cpu.Dispose();
}
//// case: i-1007-after-servicing-faults
class Cpu
{
    static void Boot(VcpuFd vcpu, IGuestMemoryConversion conv, CpuidTable table)
    {
        vcpu.RunServicingMemoryFaults(conv);
        vcpu.SetCpuid2(table); // expect: KVM1007
    }
}
//// case: i-1007-finally
class Cpu
{
    static void Boot(VcpuFd vcpu, CpuidTable table)
    {
        try
        {
            vcpu.Run();
        }
        finally
        {
            vcpu.SetCpuid2(table); // expect: KVM1007
        }
    }
}
//// case: i-1007-modified-table-after-run
class Cpu
{
    static void Boot(KvmSystem kvm, VmFd vm)
    {
        using var vcpu = vm.CreateVcpu(0);
        var table = kvm.GetSupportedCpuid();
        vcpu.SetCpuid2(table);
        vcpu.EnterRealMode();
        vcpu.Run();
        var again = kvm.GetSupportedCpuid();
        vcpu.SetCpuid2(again); // expect: KVM1007
    }
}
//// case: i-1007-for-loop-with-switch
class Cpu
{
    static void Boot(VcpuFd vcpu, CpuidTable table, int steps)
    {
        for (var i = 0; i < steps; i++)
        {
            switch (vcpu.Run().Reason)
            {
                case VcpuExitReason.Io:
                    vcpu.SetCpuid2(table); // expect: KVM1007
                    break;
                default:
                    return;
            }
        }
    }
}
//// case: i-1007-ok-own-table-after-run
class Cpu
{
    static void Resume(VcpuFd vcpu)
    {
        vcpu.Run();
        vcpu.SetCpuid2(vcpu.GetCpuid2());
    }
}
//// case: i-1007-ok-new-vcpu-each-iteration
class Cpu
{
    static void Boot(VmFd vm, CpuidTable table, int n)
    {
        for (var i = 0; i < n; i++)
        {
            using var vcpu = vm.CreateVcpu(i);
            vcpu.SetCpuid2(table);
            vcpu.EnterRealMode();
            vcpu.Run();
        }
    }
}
//// case: i-1007-ok-other-vcpu
class Cpu
{
    static void Boot(VcpuFd bsp, VcpuFd ap, CpuidTable table)
    {
        bsp.Run();
        ap.SetCpuid2(table);
    }
}
//// case: i-1007-ok-cpuid-first
class Cpu
{
    static void Boot(KvmSystem kvm, VmFd vm)
    {
        using var vcpu = vm.CreateVcpu(0);
        vcpu.SetCpuid2(kvm.GetSupportedCpuid());
        vcpu.EnterRealMode();
        while (vcpu.Run().Reason != VcpuExitReason.Hlt)
        {
        }
    }
}
//// case: i-1007-ok-lambda
class Cpu
{
    static Action Reset(VcpuFd vcpu, CpuidTable table)
    {
        vcpu.Run();
        return () => vcpu.SetCpuid2(table);
    }
}
//// case: i-1008-identity-map-after-vcpu
class Boot
{
    static void Start(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm();
        using var vcpu = vm.CreateVcpu(0);
        vm.SetIdentityMapAddress(0xFFFB_C000); // expect: KVM1008
    }
}
//// case: i-1008-irqchip-in-vcpu-loop
class Boot
{
    static void Start(VmFd vm, List<VcpuFd> vcpus)
    {
        for (var i = 0; i < 2; i++)
        {
            vcpus.Add(vm.CreateVcpu(i));
            vm.Irqchip?.CreateIrqchip(); // expect: KVM1008
        }
    }
}
//// case: i-1008-conditional-irqchip
class Boot
{
    static void Start(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm();
        using var vcpu = vm.CreateVcpu(0);
        vm.Irqchip?.CreateIrqchip(); // expect: KVM1008
    }
}
//// case: i-1008-split-irqchip-branch
class Boot
{
    static void Start(VmFd vm, bool smp)
    {
        VcpuFd? ap = null;
        if (smp)
            ap = vm.CreateVcpu(1);
        vm.EnableSplitIrqchip(24); // expect: KVM1008
        ap?.Dispose();
    }
}
//// case: i-1008-disable-exits
class Boot
{
    static void Start(VmFd vm)
    {
        using var vcpu = vm.CreateVcpu(0);
        vm.DisableExits(X86DisableExits.Hlt); // expect: KVM1008
    }
}
//// case: i-1008-field-receiver
sealed class Machine : IDisposable
{
    private readonly VmFd _vm;
    private VcpuFd? _bsp;

    public Machine(KvmSystem kvm) => _vm = kvm.CreateVm();

    public void Setup()
    {
        _bsp = _vm.CreateVcpu(0);
        _vm.Irqchip!.CreateIrqchip(); // expect: KVM1008
    }

    public void Dispose()
    {
        _bsp?.Dispose();
        _vm.Dispose();
    }
}
//// case: i-1008-disposed-vcpu-does-not-reopen
class Boot
{
    static void Start(VmFd vm)
    {
        var probe = vm.CreateVcpu(0);
        probe.Dispose();
        vm.SetIdentityMapAddress(0xFFFB_C000); // expect: KVM1008
    }
}
//// case: i-1008-ok-right-order
class Boot
{
    static void Start(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm();
        vm.SetIdentityMapAddress(0xFFFB_C000);
        vm.SetTssAddress(0xFFFB_D000);
        vm.Irqchip?.CreateIrqchip();
        using var vcpu = vm.CreateVcpu(0);
        vcpu.Run();
    }
}
//// case: i-1008-ok-other-vm
class Boot
{
    static void Start(KvmSystem kvm)
    {
        using var first = kvm.CreateVm();
        using var vcpu = first.CreateVcpu(0);
        using var second = kvm.CreateVm();
        second.Irqchip?.CreateIrqchip();
    }
}
//// case: i-1008-ok-new-vm-in-variable
class Boot
{
    static void Start(KvmSystem kvm)
    {
        var vm = kvm.CreateVm();
        var vcpu = vm.CreateVcpu(0);
        vcpu.Dispose();
        vm.Dispose();
        vm = kvm.CreateVm();
        vm.EnableSplitIrqchip();
        vm.Dispose();
    }
}
//// case: i-1008-ok-lambda
class Boot
{
    static Action Later(VmFd vm)
    {
        using var vcpu = vm.CreateVcpu(0);
        return () => vm.DisableExits(X86DisableExits.Hlt);
    }
}
