using System;
using System.Collections.Generic;
using Kvm;
using Kvm.Interop;

//// case: program-hlt-guest
static class HltGuest
{
    static int Main()
    {
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        using var ram = kvm.AllocateHostMemory(0x10000);
        ram.Write(0, new byte[] { 0xf4 });
        vm.Memslots.Add(0, ram);
        using var cpu = vm.CreateVcpu(0);
        cpu.SetCpuid2(kvm.GetSupportedCpuid());
        var exit = cpu.Run();
        Console.WriteLine(exit.Reason);
        return 0;
    }
}
//// case: program-confidential-guest
static class ConfidentialGuest
{
    static int Main()
    {
        using var kvm = KvmSystem.Open();
        if (!kvm.SupportsVmType(VmType.X86SwProtected))
            return 1;
        using var vm = kvm.CreateVm(VmType.X86SwProtected);
        var gmemFeature = vm.GuestMemfd ?? throw new NotSupportedException("KVM_CAP_GUEST_MEMFD");
        using var gmem = gmemFeature.Create(0x200000);
        using var shared = kvm.AllocateHostMemory(0x200000);
        vm.Memslots.Add(0, gmem, 0, 0x200000, shared);
        vm.MemoryAttributes?.Set(0, 0x200000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE);
        using var cpu = vm.CreateVcpu(0);
        cpu.RunServicingMemoryFaults(vm.Conversion!);
        return 0;
    }
}
//// case: program-mmap-gmem
static class MmapGmem
{
    static void Run(KvmSystem kvm, byte[] code)
    {
        using var vm = kvm.CreateVm();
        var f = vm.GuestMemfd;
        if (f is null || (f.SupportedFlags & GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP) == 0)
            return;
        using var g = f.Create(0x100000, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
        using var m = g.Map();
        m.Write(0, code);
        vm.Memslots.Add(0, m);
        using var cpu = vm.CreateVcpu(0);
        cpu.Run();
    }
}
//// case: program-smp-machine
sealed class SmpMachine : IDisposable
{
    private readonly KvmSystem _kvm;
    private readonly VmFd _vm;
    private readonly HostMemory _ram;
    private readonly List<VcpuFd> _cpus = new();
    public SmpMachine(int cpus, ulong ramBytes)
    {
        _kvm = KvmSystem.Open();
        _vm = _kvm.CreateVm();
        _vm.Irqchip?.CreateIrqchip();
        _ram = _kvm.AllocateHostMemory(ramBytes);
        _vm.Memslots.Add(0, _ram);
        for (var i = 0; i < cpus; i++)
            _cpus.Add(_vm.CreateVcpu(i));
    }
    public void Dispose()
    {
        foreach (var c in _cpus) c.Dispose();
        _vm.Dispose();
        _ram.Dispose();
        _kvm.Dispose();
    }
}
//// case: program-dirty-logging
static class Migration
{
    public static void Track(VmFd vm, HostMemory ram)
    {
        var slot = vm.Memslots.Add(0, ram, flags: KvmMemFlags.KVM_MEM_LOG_DIRTY_PAGES);
        slot.SetDirtyLogging(false);
        slot.SetDirtyLogging(true);
    }
}
//// case: program-punch-and-reallocate
static class Balloon
{
    public static void Deflate(GmemFd g, ulong pages)
    {
        var len = pages * 4096;
        g.PunchHole(0, len);
        var r = g.TryAllocate(0, len);
        if (!r.IsSuccess)
            throw new InvalidOperationException(r.ToString());
    }
}
//// case: program-raw-vm
static unsafe class RawVm
{
    public static int Create(int kvmFd)
    {
        var vmFd = Sys.Ioctl(kvmFd, KvmIoctls.KVM_CREATE_VM);
        if (vmFd < 0)
            return -1;
        if (Sys.Ioctl(vmFd, KvmIoctls.KVM_CHECK_EXTENSION, (nint)KvmCap.KVM_CAP_GUEST_MEMFD) <= 0)
            return vmFd;
        var arg = new kvm_create_guest_memfd { size = 0x200000, flags = 0 };
        var gmem = Sys.Ioctl(vmFd, KvmIoctls.KVM_CREATE_GUEST_MEMFD, ref arg);
        return gmem < 0 ? -1 : vmFd;
    }
}
//// case: program-raw-region2
static class RawRegion
{
    public static int Map(int vmFd, uint gmemFd, ulong host)
    {
        if (Sys.Ioctl(vmFd, KvmIoctls.KVM_CHECK_EXTENSION, (nint)KvmCap.KVM_CAP_USER_MEMORY2) <= 0)
            return -1;
        var r = new kvm_userspace_memory_region2
        {
            slot = 0,
            flags = (uint)KvmMemFlags.KVM_MEM_GUEST_MEMFD,
            guest_phys_addr = 0,
            memory_size = 0x200000,
            userspace_addr = host,
            guest_memfd = gmemFd,
            guest_memfd_offset = 0,
        };
        return Sys.Ioctl(vmFd, KvmIoctls.KVM_SET_USER_MEMORY_REGION2, in r);
    }
}
//// case: program-arm64-ipa
static class Arm
{
    public static int Slots(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm(VmType.Arm64(40));
        return vm.Memslots.MaxSlots;
    }
}
//// case: program-pool
sealed class VmPool : IDisposable
{
    private readonly Queue<VmFd> _free = new();
    public void Fill(KvmSystem kvm, int n)
    {
        for (var i = 0; i < n; i++)
            _free.Enqueue(kvm.CreateVm());
    }
    public void Dispose() { while (_free.Count > 0) _free.Dequeue().Dispose(); }
}
//// case: program-dictionary-of-gmem
sealed class GmemRegistry : IDisposable
{
    private readonly Dictionary<int, GmemFd> _byNode = new();
    public void Add(int node, GuestMemfdFeature f, ulong bytes) => _byNode[node] = f.Create(bytes);
    public void Dispose() { foreach (var g in _byNode.Values) g.Dispose(); }
}
//// case: program-conversion-loop
static class Converter
{
    public static void Share(IGuestMemoryConversion conv, ulong start, int pages)
    {
        for (var i = 0; i < pages; i++)
        {
            var r = conv.TryToShared(start + (ulong)i * 4096, 4096);
            if (!r.IsSuccess)
                break;
        }
    }
}
//// case: program-leaky-helper
static class Helper
{
    public static int ProbeSlots()
    {
        var kvm = KvmSystem.Open(); // expect: KVM1006
        var vm = kvm.CreateVm(); // expect: KVM1006
        return vm.Memslots.MaxSlots;
    }
}
//// case: program-bad-alignment-config
static class Layout
{
    public const ulong LowRam = 0x9FC00;
    public static void Map(VmFd vm, HostMemory ram) => vm.Memslots.Add(0, ram, 0, LowRam); // expect: KVM1003
}
//// case: program-bad-flags-gmem-slot
static class GmemSlots
{
    public static kvm_userspace_memory_region2 Slot(uint gmem, bool track)
    {
        var flags = KvmMemFlags.KVM_MEM_GUEST_MEMFD;
        if (track) { }
        flags |= KvmMemFlags.KVM_MEM_READONLY;
        return new kvm_userspace_memory_region2 { slot = 1, flags = (uint)flags, guest_memfd = gmem, memory_size = 0x1000 }; // expect: KVM1004
    }
}
//// case: program-pre-fault
static class PreFault
{
    public static int Warm(VmFd vm, int vcpuFd)
    {
        if (!vm.Capabilities.Has(KvmCap.KVM_CAP_PRE_FAULT_MEMORY))
            return 0;
        var range = new kvm_pre_fault_memory { gpa = 0, size = 0x200000 };
        return Sys.Ioctl(vcpuFd, KvmIoctls.KVM_PRE_FAULT_MEMORY, ref range);
    }
}
//// case: program-run-loop
static class RunLoop
{
    public static void Loop(VcpuFd cpu)
    {
        while (true)
        {
            var exit = cpu.Run();
            if (exit.Reason != VcpuExitReason.Io)
                break;
        }
    }
}
//// case: program-disable-exits-early
static class Exits
{
    public static VcpuFd Boot(VmFd vm)
    {
        vm.DisableExits(X86DisableExits.Hlt);
        return vm.CreateVcpu(0);
    }
}
//// case: program-disable-exits-late
static class ExitsLate
{
    public static void Boot(VmFd vm)
    {
        using var cpu = vm.CreateVcpu(0);
        vm.DisableExits(X86DisableExits.Hlt); // expect: KVM1008
        cpu.Run();
    }
}
//// case: program-file-rom
static class Rom
{
    public static void Map(KvmSystem kvm, VmFd vm, string path)
    {
        using var rom = kvm.MapFile(path, 0, 0x20000);
        vm.Memslots.Add(0xFFFE0000, rom, flags: KvmMemFlags.KVM_MEM_READONLY);
    }
}
//// case: program-memfd-backed
static class Memfd
{
    public static void Map(KvmSystem kvm, VmFd vm)
    {
        using var mem = kvm.AllocateMemfd(0x400000);
        vm.Memslots.Add(0x100000, mem);
    }
}
//// case: program-gmem-slot-shared-offset
static class SharedOffset
{
    public static void Bind(VmFd vm, GmemFd g, HostMemory shared)
    {
        vm.Memslots.Add(0x200000, g, 0x200000, 0x200000, shared, 0x200000);
    }
}
//// case: program-vm-from-holder
sealed class Holder : IDisposable
{
    public VmFd Vm { get; }
    public Holder(KvmSystem kvm) => Vm = kvm.CreateVm(VmType.X86SwProtected);
    public void Dispose() => Vm.Dispose();
}
static class UsesHolder
{
    public static void Seal(Holder h) => h.Vm.MemoryAttributes?.Set(0, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE);
}
//// case: program-try-open-vm
static class Probe
{
    public static bool Tdx(KvmSystem kvm)
    {
        if (kvm.TryCreateVm(VmType.X86Tdx, out var vm).IsSuccess)
        {
            vm!.Dispose();
            return true;
        }
        return false;
    }
}
//// case: program-regs
static class Regs
{
    public static void Reset(VcpuFd cpu)
    {
        var regs = cpu.GetRegs();
        regs.rip = 0x1000;
        regs.rflags = 2;
        cpu.SetRegs(regs);
    }
}
//// case: program-host-memory-huge
static class Huge
{
    public static HostMemory Ram(KvmSystem kvm) => kvm.AllocateHostMemory(1UL << 30);
}
//// case: program-vcpu-dropped-after-run
static class Oops
{
    public static void Boot(VmFd vm)
    {
        var cpu = vm.CreateVcpu(0); // expect: KVM1006
        var exit = cpu.Run();
        Console.WriteLine(exit.Reason);
    }
}
//// case: program-zero-from-config
static class Config
{
    static readonly ulong ExtraRam = 0;
    public static HostMemory Extra(KvmSystem kvm) => kvm.AllocateHostMemory(ExtraRam); // expect: KVM1009
}
//// case: program-cpuid-reset-after-run
static class Hotplug
{
    public static void Reset(VcpuFd cpu, KvmSystem kvm)
    {
        cpu.Run();
        var table = kvm.GetSupportedCpuid();
        cpu.SetCpuid2(table); // expect: KVM1007
    }
}
//// case: program-ram-either-gmem-or-host
static class EitherRam
{
    public static void Boot(KvmSystem kvm, VmFd vm, ulong bytes)
    {
        HostMapping ram;
        if (vm.GuestMemfd is { } f && (f.SupportedFlags & GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP) != 0)
        {
            using var g = f.Create(bytes, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
            ram = g.Map();
        }
        else
        {
            ram = kvm.AllocateHostMemory(bytes);
        }
        using (ram)
            vm.Memslots.Add(0, ram);
    }
}
//// case: program-ram-switch-sections
static class SwitchRam
{
    public static HostMapping Ram(KvmSystem kvm, GuestMemfdFeature f, int kind)
    {
        HostMapping ram;
        switch (kind)
        {
            case 0:
                ram = kvm.AllocateHostMemory(0x100000);
                break;
            default:
                ram = kvm.AllocateMemfd(0x100000);
                break;
        }
        return ram;
    }
}
//// case: program-ram-overwritten-leak
static class OverwrittenRam
{
    public static HostMapping Ram(KvmSystem kvm, bool big)
    {
        HostMapping ram = kvm.AllocateHostMemory(0x100000); // expect: KVM1006
        if (big)
            ram = kvm.AllocateHostMemory(0x10000000);
        return ram;
    }
}
