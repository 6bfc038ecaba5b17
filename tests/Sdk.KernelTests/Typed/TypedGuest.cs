using static Kvm.KernelTests.Typed.KernelFacts;

namespace Kvm.KernelTests.Typed;

/// <summary>A VM with <c>code</c> at guest-physical 0 in 16 pages of memory: guest_memfd (MMAP | INIT_SHARED) where
/// the kernel offers it, else anonymous host memory.</summary>
internal static class TypedGuest
{
    /// <summary>x86 real mode: <c>mov dx, 0x10 ; l: out dx, al ; jmp l</c> — an endless stream of port I/O exits.</summary>
    public static readonly byte[] IoLoop = [0xBA, 0x10, 0x00, 0xEE, 0xEB, 0xFD];

    /// <summary>x86 real mode: <c>jmp $</c> — never exits by itself.</summary>
    public static readonly byte[] Spin = [0xEB, 0xFE];

    public static (VmFd Vm, IDisposable Memory, SlotHandle Slot) With(KvmSystem kvm, byte[] code)
    {
        var vm = kvm.CreateVm();
        if (HasMappableGmem(vm))
        {
            // The mapping and the slot keep the guest_memfd open; this object can go now (found by KVM1006).
            using var gmem = vm.GuestMemfd!.Create(16 * Page, MmapShared);
            var map = gmem.Map();
            map.Write(0, code);
            return (vm, map, vm.Memslots.Add(0, map));
        }
        var host = kvm.AllocateHostMemory(16 * Page);
        host.Write(0, code);
        return (vm, host, vm.Memslots.Add(0, host));
    }

    /// <summary>A real-mode vCPU 0 at the guest's code.</summary>
    public static VcpuFd Vcpu(VmFd vm, int id = 0)
    {
        var vcpu = vm.CreateVcpu(id);
        vcpu.EnterRealMode();
        return vcpu;
    }
}
