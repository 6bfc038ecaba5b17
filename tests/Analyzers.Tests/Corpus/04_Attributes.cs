using System;
using Kvm;
using Kvm.Interop;

//// case: private-through-other-object
//// config: build_property.KvmInPlaceConversion = true
sealed class Machine { public VmFd Vm { get; } public Machine(VmFd vm) => Vm = vm; }
class P1
{
    public void Seal(Machine machine) =>
        machine.Vm.MemoryAttributes!.Set(0x100000, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE); // expect: KVM1001
}
//// case: private-attr-in-local
//// config: build_property.KvmInPlaceConversion = true
class P2
{
    public void Seal(VmFd vm)
    {
        var attrs = KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE;
        vm.MemoryAttributes?.Set(0, 0x1000, attrs); // expect: KVM1001
    }
}
//// case: private-static-readonly
//// config: build_property.KvmInPlaceConversion = true
class P3
{
    static readonly KvmMemoryAttributes Private = KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE;
    public KvmResult Seal(VmFd vm) => vm.MemoryAttributes!.TrySet(0, 0x1000, Private); // expect: KVM1001
}
//// case: private-ternary
//// config: build_property.KvmInPlaceConversion = true
class P4
{
    public void Flip(VmFd vm, bool toPrivate)
    {
        var a = vm.MemoryAttributes!;
        a.Set(0, 0x1000, toPrivate ? KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE : 0); // expect: KVM1001
    }
}
//// case: private-field-vm
//// config: build_property.KvmInPlaceConversion = true
sealed class Host : IDisposable
{
    private readonly VmFd _vm;
    public Host(VmFd vm) => _vm = vm;
    public void Seal(ulong gpa) => _vm.MemoryAttributes?.Set(gpa, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE); // expect: KVM1001
    public void Dispose() => _vm.Dispose();
}
//// case: private-in-place-evidence
class P6
{
    public void Seal(VmFd vm)
    {
        var conv = vm.InPlaceConversionV8 ?? throw new NotSupportedException();
        conv.ToShared(0, 0x1000);
        vm.MemoryAttributes!.Set(0x1000, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE); // expect: KVM1001
    }
}
//// case: private-raw-ioctl-local
//// config: build_property.KvmInPlaceConversion = true
class P7
{
    public int Seal(int vmFd)
    {
        if (Sys.Ioctl(vmFd, KvmIoctls.KVM_CHECK_EXTENSION, (nint)KvmCap.KVM_CAP_MEMORY_ATTRIBUTES) <= 0)
            return -1;
        var range = new kvm_memory_attributes { address = 0, size = 0x1000, attributes = (ulong)KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE };
        return Sys.Ioctl(vmFd, KvmIoctls.KVM_SET_MEMORY_ATTRIBUTES, in range); // expect: KVM1001
    }
}
//// case: shared-through-vm-in-place
//// config: build_property.KvmInPlaceConversion = true
class P8
{
    // In-place conversion keeps the state on the guest_memfd: the VM-level call fails or leaves the page private.
    public void Share(VmFd vm) => vm.MemoryAttributes?.Set(0, 0x1000, 0); // expect: KVM1020
}
//// case: ok-private-without-in-place
class P9
{
    public void Seal(VmFd vm) => vm.MemoryAttributes?.Set(0, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE);
}
//// case: ok-fallback-branch
class P10
{
    public void Seal(VmFd vm)
    {
        if (vm.InPlaceConversionV8 is { } conv)
            conv.ToPrivate(0, 0x1000);
        else
            vm.MemoryAttributes?.Set(0, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE);
    }
}
//// case: vm-conversion-in-place
//// config: build_property.KvmInPlaceConversion = true
class P11
{
    public void Seal(VmFd vm) => vm.Conversion!.ToPrivate(0, 0x1000); // expect: KVM1020
}
//// case: no-private-default-vm
class N1
{
    public void Build(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm();
        vm.MemoryAttributes?.Set(0, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE); // expect: KVM1002
    }
}
//// case: no-private-reassigned-to-default
class N2
{
    public void Build(KvmSystem kvm)
    {
        var vm = kvm.CreateVm(VmType.X86SwProtected);
        vm.Dispose();
        vm = kvm.CreateVm(VmType.X86Default);
        using (vm)
            vm.MemoryAttributes?.Set(0, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE); // expect: KVM1002
    }
}
//// case: no-private-type-local
class N3
{
    public void Build(KvmSystem kvm)
    {
        var type = VmType.X86Sev;
        using var vm = kvm.CreateVm(type);
        vm.MemoryAttributes!.Set(0, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE); // expect: KVM1002
    }
}
//// case: no-private-feature-local
class N4
{
    public void Build(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm(VmType.Arm64Default);
        var attrs = vm.MemoryAttributes;
        attrs?.Set(0, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE); // expect: KVM1002
    }
}
//// case: no-private-ternary-types
class N5
{
    public void Build(KvmSystem kvm, bool sev)
    {
        using var vm = kvm.CreateVm(sev ? VmType.X86Sev : VmType.X86Default);
        vm.MemoryAttributes?.Set(0, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE); // expect: KVM1002
    }
}
//// case: no-private-static-readonly-type
class N6
{
    static readonly VmType Type = VmType.X86SevEs;
    public void Build(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm(Type);
        vm.MemoryAttributes?.TrySet(0, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE); // expect: KVM1002, KVM1010
    }
}
//// case: ok-reassigned-to-private-type
class N7
{
    public void Build(KvmSystem kvm)
    {
        var vm = kvm.CreateVm();
        vm.Dispose();
        vm = kvm.CreateVm(VmType.X86SwProtected);
        using (vm)
            vm.MemoryAttributes?.Set(0, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE);
    }
}
//// case: ok-ternary-one-private
class N8
{
    public void Build(KvmSystem kvm, bool cc)
    {
        using var vm = kvm.CreateVm(cc ? VmType.X86SwProtected : VmType.X86Default);
        vm.MemoryAttributes?.Set(0, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE);
    }
}
//// case: ok-snp-private
class N9
{
    public void Build(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm(VmType.X86Snp);
        vm.MemoryAttributes?.Set(0, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE);
    }
}
//// case: ok-type-parameter
class N10
{
    public void Build(KvmSystem kvm, VmType type)
    {
        using var vm = kvm.CreateVm(type);
        vm.MemoryAttributes?.Set(0, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE);
    }
}
//// case: raw-attributes-flags
class R1
{
    public int Set(int vmFd, VmFd vm)
    {
        if (vm.MemoryAttributes is null)
            return -1;
        var r = new kvm_memory_attributes { address = 0, size = 0x1000, attributes = 8, flags = 1 }; // expect: KVM1015
        return Sys.Ioctl(vmFd, KvmIoctls.KVM_SET_MEMORY_ATTRIBUTES, in r);
    }
}
//// case: raw-attributes-flags-assigned
class R2
{
    public kvm_memory_attributes Range(ulong f)
    {
        var r = new kvm_memory_attributes { address = 0, size = 0x1000 };
        r.flags = 0x2; // expect: KVM1015
        return r;
    }
}
//// case: raw-region-gmem-fields-no-flag
class R3
{
    public kvm_userspace_memory_region2 Region(uint gmem)
    {
        return new kvm_userspace_memory_region2 { slot = 0, guest_phys_addr = 0, memory_size = 0x10000, guest_memfd = gmem, guest_memfd_offset = 0 }; // expect: KVM1015
    }
}
//// case: raw-region-gmem-offset-no-flag
class R4
{
    public kvm_userspace_memory_region2 Region(uint gmem, ulong host)
    {
        var r = new kvm_userspace_memory_region2 { slot = 3, flags = (uint)KvmMemFlags.KVM_MEM_LOG_DIRTY_PAGES, memory_size = 0x10000, userspace_addr = host };
        r.guest_memfd = gmem; // expect: KVM1015
        return r;
    }
}
//// case: ok-raw-region-gmem
class R5
{
    public kvm_userspace_memory_region2 Region(uint gmem, ulong host)
    {
        var r = new kvm_userspace_memory_region2 { slot = 3, memory_size = 0x10000, userspace_addr = host };
        r.flags = (uint)KvmMemFlags.KVM_MEM_GUEST_MEMFD;
        r.guest_memfd = gmem;
        r.guest_memfd_offset = 0x10000;
        return r;
    }
}
//// case: ok-raw-region-plain
class R6
{
    public kvm_userspace_memory_region2 Region(ulong host) =>
        new kvm_userspace_memory_region2 { slot = 0, guest_phys_addr = 0x100000, memory_size = 0x100000, userspace_addr = host };
}
//// case: ok-raw-attributes-zero-flags
class R7
{
    public kvm_memory_attributes Range() => new kvm_memory_attributes { address = 0x1000, size = 0x1000, attributes = 8, flags = 0 };
}
