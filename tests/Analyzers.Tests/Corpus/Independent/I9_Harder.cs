// Independent corpus (issue #15), written blind: harder but fair shapes - chains that drop an intermediate handle,
// values computed by compound assignment or a switch statement, checks against the wrong capability, a VM reached
// through another property, and the near-misses beside them.
using System;
using System.Collections.Generic;
using System.Linq;
using Kvm;
using Kvm.Interop;
//// case: h-1006-conditional-discard-statement
class Ram
{
    static void Reserve(VmFd vm)
    {
        vm.GuestMemfd?.Create(0x10_0000); // expect: KVM1006
    }
}
//// case: h-1006-chain-drops-vm
class Boot
{
    static void Start(KvmSystem kvm)
    {
        using var vcpu = kvm.CreateVm().CreateVcpu(0); // expect: KVM1006
        vcpu.EnterRealMode();
    }
}
//// case: h-1006-chain-drops-system
class Factory
{
    static VmFd Make() => KvmSystem.Open().CreateVm(); // expect: KVM1006
}
//// case: h-1006-both-branches-assign
class Boot
{
    static void Start(KvmSystem kvm, bool sw)
    {
        VmFd vm;
        if (sw)
            vm = kvm.CreateVm(VmType.X86SwProtected); // expect: KVM1006
        else
            vm = kvm.CreateVm(); // expect: KVM1006
        Console.WriteLine(vm.Type);
    }
}
//// case: h-1006-window-map
class Loader
{
    static void Peek(GmemFd g)
    {
        var window = g.Map(0, 0x1000); // expect: KVM1006
        Span<byte> b = stackalloc byte[4];
        window.Read(0, b);
    }
}
//// case: h-1006-ok-alias-disposed
class Boot
{
    static void Start(KvmSystem kvm)
    {
        var vm = kvm.CreateVm();
        var current = vm;
        Console.WriteLine(current.Type);
        current.Dispose();
    }
}
//// case: h-1006-ok-conditional-dispose
class Boot
{
    static void Start(KvmSystem kvm, bool sw)
    {
        var vm = sw ? kvm.CreateVm(VmType.X86SwProtected) : null;
        Console.WriteLine(vm?.Type);
        vm?.Dispose();
    }
}
//// case: h-1003-compound-minus
class Ram
{
    static void Setup(KvmSystem kvm)
    {
        ulong size = 0x10_0000;
        size -= 1;
        using var ram = kvm.AllocateHostMemory(size); // expect: KVM1003
    }
}
//// case: h-1003-switch-statement
class Ram
{
    static void Setup(GuestMemfdFeature f, int kind)
    {
        ulong size;
        switch (kind)
        {
            case 0:
                size = 0x1001;
                break;
            default:
                size = 0x2001;
                break;
        }
        using var g = f.Create(size); // expect: KVM1003
    }
}
//// case: h-1003-ok-compound-plus
class Ram
{
    static void Setup(KvmSystem kvm, bool withBios)
    {
        ulong size = 0x100_0000;
        if (withBios)
            size += 0x2_0000;
        using var ram = kvm.AllocateHostMemory(size);
    }
}
//// case: h-1009-compound-to-zero
class Balloon
{
    static void Release(GmemFd g)
    {
        ulong len = 0x1000;
        len -= 0x1000;
        g.PunchHole(0, len); // expect: KVM1009
    }
}
//// case: h-1009-ok-compound-from-zero
class Balloon
{
    static void Release(GmemFd g)
    {
        ulong len = 0;
        len += 0x1000;
        g.PunchHole(0, len);
    }
}
//// case: h-1004-ok-or-assign-from-zero
class Raw
{
    static kvm_userspace_memory_region2 Build(uint fd)
    {
        KvmMemFlags flags = 0;
        flags |= KvmMemFlags.KVM_MEM_GUEST_MEMFD;
        return new kvm_userspace_memory_region2 { flags = (uint)flags, memory_size = 0x1000, guest_memfd = fd };
    }
}
//// case: h-1011-try-check-raw
class Probe
{
    static int Ask(KvmSystem kvm)
    {
        var r = kvm.Capabilities.TryCheckRaw((int)KvmCap.KVM_CAP_GUEST_MEMFD, out var answer); // expect: KVM1011
        return r.IsSuccess ? answer : 0;
    }
}
//// case: h-1011-system-through-vm
class Probe
{
    static bool Ask(VmFd vm)
    {
        var kvm = vm.System;
        return kvm.Capabilities.Has(KvmCap.KVM_CAP_GUEST_MEMFD); // expect: KVM1011
    }
}
//// case: h-1011-ok-system-wide-through-vm
class Probe
{
    static bool Ask(VmFd vm) => vm.System.Capabilities.Has(KvmCap.KVM_CAP_USER_MEMORY2);
}
//// case: h-2001-attributes-checked-against-gmem
class Raw
{
    static int Share(int vmFd, ulong gpa)
    {
        if (Sys.Ioctl(vmFd, KvmIoctls.KVM_CHECK_EXTENSION, (nint)KvmCap.KVM_CAP_GUEST_MEMFD) <= 0)
            return -1;
        var arg = new kvm_memory_attributes { address = gpa, size = 0x1000 };
        return Sys.Ioctl(vmFd, KvmIoctls.KVM_SET_MEMORY_ATTRIBUTES, in arg); // expect: KVM2001
    }
}
//// case: h-2001-ok-check-through-vm-caps-local
class Raw
{
    static int Prefault(VmFd vm, int vcpuFd)
    {
        var caps = vm.Capabilities;
        if (!caps.Has(KvmCap.KVM_CAP_PRE_FAULT_MEMORY))
            return 0;
        var arg = new kvm_pre_fault_memory { gpa = 0, size = 0x20_0000 };
        return Sys.Ioctl(vcpuFd, KvmIoctls.KVM_PRE_FAULT_MEMORY, ref arg);
    }
}
//// case: h-1010-discard-raw
class Raw
{
    static void Add(int vmFd, kvm_userspace_memory_region r)
    {
        _ = Sys.Ioctl(vmFd, KvmIoctls.KVM_SET_USER_MEMORY_REGION, in r); // expect: KVM1010
    }
}
//// case: h-1010-ok-using-rc-in-switch
class Raw
{
    static string Add(int vmFd, kvm_userspace_memory_region r) =>
        Sys.Ioctl(vmFd, KvmIoctls.KVM_SET_USER_MEMORY_REGION, in r) switch
        {
            0 => "ok",
            _ => $"errno {Sys.LastErrno}",
        };
}
//// case: h-1007-run-in-loop-condition
class Cpu
{
    static void Loop(VcpuFd vcpu, CpuidTable table)
    {
        while (vcpu.Run().Reason == VcpuExitReason.Io)
            vcpu.SetCpuid2(table); // expect: KVM1007
    }
}
//// case: h-1008-after-using-block
class Boot
{
    static void Start(VmFd vm)
    {
        using (var probe = vm.CreateVcpu(0))
            Console.WriteLine(probe);
        vm.Irqchip!.CreateIrqchip(); // expect: KVM1008
    }
}
//// case: h-1008-after-try
class Boot
{
    static void Start(VmFd vm)
    {
        VcpuFd? bsp = null;
        try
        {
            bsp = vm.CreateVcpu(0);
        }
        catch (KvmException)
        {
        }
        vm.DisableExits(X86DisableExits.Hlt); // expect: KVM1008
        bsp?.Dispose();
    }
}
//// case: h-1012-tdx-static-flags
class Boot
{
    static readonly GuestMemfdFlags Shared = GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED | GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP;

    static void Start(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm(VmType.X86(X86VmType.KVM_X86_TDX_VM));
        using var g = vm.GuestMemfd!.Create(0x20_0000, Shared); // expect: KVM1012
    }
}
//// case: h-1013-named-arguments
class Boot
{
    static void Start(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm(VmType.Arm64Default);
        using var g = vm.GuestMemfd!.Create(0x10_0000, GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
        vm.Memslots.Add(gpa: 0x4000_0000, gmem: g, gmemOffset: 0, size: 0x10_0000); // expect: KVM1013
    }
}
//// case: h-1014-lease-in-loop
class Loader
{
    static void Zero(GuestMemfdFeature f)
    {
        using var g = f.Create(0x10_0000, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP);
        using var m = g.Map();
        for (ulong off = 0; off < 0x10_0000; off += 0x1000)
        {
            using var lease = m.Lease(off, 0x1000); // expect: KVM1014
            lease.Span.Clear();
        }
    }
}
//// case: h-1001-vm-field
//// config: build_property.KvmInPlaceConversion = true
sealed class Guest(VmFd vm) : IDisposable
{
    private readonly VmFd _vm = vm;

    public void Private(ulong gpa) =>
        _vm.MemoryAttributes!.Set(gpa, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE); // expect: KVM1001

    public void Dispose() => _vm.Dispose();
}
//// case: h-1020-interface-local
//// config: build_property.KvmInPlaceConversion = true
class Convert
{
    static bool Private(VmFd vm)
    {
        IGuestMemoryConversion c = vm.Conversion!;
        return c.TryToPrivate(0, 0x1000).IsSuccess; // expect: KVM1020
    }
}
//// case: h-1002-default-literal
class Boot
{
    static void Start(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm(default);
        vm.MemoryAttributes!.Set(0, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE); // expect: KVM1002
    }
}
//// case: h-1002-using-block-arm64
class Boot
{
    static void Start(KvmSystem kvm)
    {
        using (var vm = kvm.CreateVm(VmType.Arm64Default))
        {
            vm.MemoryAttributes?.Set(0, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE); // expect: KVM1002
        }
    }
}
//// case: h-1015-switch-flags-without-gmem
class Raw
{
    static kvm_userspace_memory_region2 Build(uint fd, bool ro)
    {
        var flags = ro ? KvmMemFlags.KVM_MEM_READONLY : KvmMemFlags.KVM_MEM_LOG_DIRTY_PAGES;
        var r = new kvm_userspace_memory_region2 { flags = (uint)flags, memory_size = 0x1000 };
        r.guest_memfd = fd; // expect: KVM1015
        return r;
    }
}
//// case: h-ok-probe-then-configure
class Vmm
{
    static void Configure(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm(kvm.SupportsVmType(VmType.X86SwProtected) ? VmType.X86SwProtected : VmType.X86Default);
        if (vm.Irqchip is { } irq)
            irq.CreateIrqchip();
        using var ram = kvm.AllocateHostMemory(0x200_0000);
        if (vm.GuestMemfd is { } f && vm.SupportsPrivateMemory)
        {
            using var g = f.Create(0x200_0000);
            vm.Memslots.Add(0, g, 0, 0x200_0000, ram);
        }
        else
        {
            vm.Memslots.Add(0, ram);
        }
        using var vcpu = vm.CreateVcpu(0);
        vcpu.SetCpuid2(kvm.GetSupportedCpuid());
        vcpu.EnterRealMode();
        vcpu.Run();
    }
}
//// case: h-ok-1010-pattern-observed
class Convert
{
    static void Share(VmFd vm)
    {
        if (vm.MemoryAttributes?.TrySet(0, 0x1000, 0) is { IsSuccess: false } r)
            throw new InvalidOperationException($"KVM_SET_MEMORY_ATTRIBUTES: {r}");
        var ok = vm.Conversion?.TryToShared(0, 0x1000) is { IsSuccess: true };
        Console.WriteLine(ok);
    }
}
//// case: h-ok-1013-arm64-gmem-parameter
//// config: build_property.KvmTargetArchitecture = arm64
class Ram
{
    static void Bind(VmFd vm, GmemFd g) => vm.Memslots.Add(0x4000_0000, g, 0, g.Size);
}
//// case: h-ok-1014-mapping-parameter
class Loader
{
    static void Load(GmemMapping m, byte[] image) => m.Write(0, image);
}
//// case: h-ok-1005-try-create-out
class Ram
{
    static GmemMapping? MapIt(GuestMemfdFeature f)
    {
        var r = f.TryCreate(0x10000, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP, out var g);
        if (!r.IsSuccess || g is null)
            return null;
        return g.Map();
    }
}
//// case: h-ok-1012-runtime-flags
class Boot
{
    static void Start(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm(VmType.X86SwProtected);
        var f = vm.GuestMemfd!;
        using var g = f.Create(0x20_0000, f.SupportedFlags & GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP);
        Console.WriteLine(g.Flags);
    }
}
//// case: h-ok-1002-mixed-type
class Boot
{
    static void Start(KvmSystem kvm)
    {
        var type = kvm.SupportsVmType(VmType.X86SwProtected) ? VmType.X86SwProtected : VmType.X86Default;
        using var vm = kvm.CreateVm(type);
        vm.MemoryAttributes?.Set(0, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE);
    }
}
//// case: h-ok-1001-else-of-null-check
class Convert
{
    static void Private(VmFd vm, ulong gpa)
    {
        if (vm.InPlaceConversionV8 is null)
            vm.MemoryAttributes?.Set(gpa, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE);
        else
            vm.InPlaceConversionV8.ToPrivate(gpa, 0x1000);
    }
}
//// case: h-ok-2001-has-early-return
class Raw
{
    static int Create(VmFd vm, ulong size)
    {
        if (!vm.Capabilities.Has(KvmCap.KVM_CAP_GUEST_MEMFD))
            return -1;
        using var fd = vm.BorrowFd();
        var arg = new kvm_create_guest_memfd { size = size };
        return Sys.Ioctl(fd.Value, KvmIoctls.KVM_CREATE_GUEST_MEMFD, ref arg);
    }
}
//// case: h-ok-1008-irqchip-before-vcpu-loop
class Boot
{
    static void Start(VmFd vm, List<VcpuFd> owned)
    {
        vm.Irqchip?.CreateIrqchip();
        vm.Irqchip?.CreatePit2();
        for (var i = 0; i < 4; i++)
            owned.Add(vm.CreateVcpu(i));
    }
}
//// case: h-ok-1004-readonly-if-supported
class Rom
{
    static void Map(VmFd vm, HostMemory rom)
    {
        var flags = vm.Memslots.SupportsReadonly ? KvmMemFlags.KVM_MEM_READONLY : 0;
        vm.Memslots.Add(0xFFFF_0000, rom, flags: flags);
    }
}
//// case: h-ok-1007-set-before-loop
class Cpu
{
    static void Loop(VcpuFd vcpu, CpuidTable table)
    {
        vcpu.SetCpuid2(table);
        for (;;)
        {
            if (vcpu.Run().Reason != VcpuExitReason.Io)
                break;
        }
    }
}
//// case: h-ok-1009-skip-when-empty
class Ram
{
    static void Extra(KvmSystem kvm, VmFd vm, ulong extra)
    {
        if (extra == 0)
            return;
        using var ram = kvm.AllocateHostMemory(extra);
        vm.Memslots.Add(0x1_0000_0000, ram);
    }
}
