// Independent corpus (issue #15), written blind from docs/diagnostics/*.md: KVM1001 (PRIVATE through the VM with
// in-place conversion), KVM1002 (attributes on a VM type without private memory), KVM1020 (VM-level conversion on an
// in-place project).
using System;
using System.Collections.Generic;
using System.Linq;
using Kvm;
using Kvm.Interop;
//// case: i-1001-attrs-local
//// config: build_property.KvmInPlaceConversion = true
class Convert
{
    static void Private(VmFd vm)
    {
        var attrs = vm.MemoryAttributes!;
        attrs.Set(0x1000, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE); // expect: KVM1001
    }
}
//// case: i-1001-attribute-value-local
//// config: build_property.KvmInPlaceConversion = true
class Convert
{
    static void Private(VmFd vm, ulong gpa)
    {
        var a = KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE;
        vm.MemoryAttributes?.Set(gpa, 0x20_0000, a); // expect: KVM1001
    }
}
//// case: i-1001-through-other-objects-property
//// config: build_property.KvmInPlaceConversion = true
sealed class Machine(VmFd vm)
{
    public VmFd Vm { get; } = vm;
}

class Convert
{
    static void Private(Machine machine)
    {
        machine.Vm.MemoryAttributes!.Set(0, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE); // expect: KVM1001
    }
}
//// case: i-1001-profile-overlay
//// config: build_property.KvmUapiProfile = 7.3.4+inplace-conversion-v8
class Convert
{
    static void Private(VmFd vm)
    {
        vm.MemoryAttributes!.Set(0x10_0000, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE); // expect: KVM1001
    }
}
//// case: i-1001-try-set-observed
//// config: build_property.KvmInPlaceConversion = true
class Convert
{
    static bool Private(VmFd vm)
    {
        var r = vm.MemoryAttributes!.TrySet(0, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE); // expect: KVM1001
        return r.IsSuccess;
    }
}
//// case: i-1001-non-null-branch-of-v8
class Convert
{
    static void Private(VmFd vm)
    {
        if (vm.InPlaceConversionV8 is not null)
            vm.MemoryAttributes!.Set(0, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE); // expect: KVM1001
    }
}
//// case: i-1001-after-early-exit
class Convert
{
    static void Private(VmFd vm)
    {
        if (vm.InPlaceConversionV8 is null)
            return;
        vm.MemoryAttributes!.Set(0x2000, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE); // expect: KVM1001
    }
}
//// case: i-1001-raw-ioctl
//// config: build_property.KvmInPlaceConversion = true
class Raw
{
    static int Private(VmFd vm, int vmFd)
    {
        var m = vm.MemoryAttributes;
        var arg = new kvm_memory_attributes { address = 0, size = 0x1000 };
        arg.attributes = (ulong)KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE;
        return Sys.Ioctl(vmFd, KvmIoctls.KVM_SET_MEMORY_ATTRIBUTES, in arg); // expect: KVM1001
    }
}
//// case: i-1001-ok-fallback-branch
class Convert
{
    static void Private(VmFd vm, ulong gpa)
    {
        if (vm.InPlaceConversionV8 is { } inPlace)
            inPlace.ToPrivate(gpa, 0x1000);
        else
            vm.MemoryAttributes!.Set(gpa, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE);
    }
}
//// case: i-1001-ok-no-in-place-project
class Convert
{
    static void Private(VmFd vm)
    {
        var attrs = vm.MemoryAttributes ?? throw new NotSupportedException("KVM_CAP_MEMORY_ATTRIBUTES");
        if (attrs.SupportsPrivate)
            attrs.Set(0, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE);
    }
}
//// case: i-1001-ok-in-place-switched-off
//// config: build_property.KvmInPlaceConversion = false
class Convert
{
    static void Private(VmFd vm)
    {
        vm.MemoryAttributes!.Set(0, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE);
    }
}
//// case: i-1001-ok-guest-memfd-conversion
//// config: build_property.KvmInPlaceConversion = true
class Convert
{
    static void Private(VmFd vm)
    {
        var conversion = vm.InPlaceConversionV8 ?? throw new NotSupportedException("in-place conversion");
        conversion.ToPrivate(0x1000, 0x1000);
    }
}
//// case: i-1002-reassigned-vm-local
class Boot
{
    static void Start(KvmSystem kvm)
    {
        var vm = kvm.CreateVm(VmType.X86SwProtected);
        vm.Dispose();
        vm = kvm.CreateVm(VmType.X86Default);
        vm.MemoryAttributes!.Set(0, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE); // expect: KVM1002
        vm.Dispose();
    }
}
//// case: i-1002-no-argument
class Boot
{
    static void Start(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm();
        var attrs = vm.MemoryAttributes;
        attrs!.Set(0x10_0000, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE); // expect: KVM1002
    }
}
//// case: i-1002-type-local
class Boot
{
    static void Start(KvmSystem kvm)
    {
        var type = VmType.X86Sev;
        using var vm = kvm.CreateVm(type);
        vm.MemoryAttributes?.Set(0, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE); // expect: KVM1002
    }
}
//// case: i-1002-arm64-ipa
class Boot
{
    static void Start(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm(VmType.Arm64(40));
        var r = vm.MemoryAttributes!.TrySet(0, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE); // expect: KVM1002
        Console.WriteLine(r);
    }
}
//// case: i-1002-ternary-sev-types
class Boot
{
    static void Start(KvmSystem kvm, bool es)
    {
        using var vm = kvm.CreateVm(es ? VmType.X86SevEs : VmType.X86Sev);
        vm.MemoryAttributes!.Set(0, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE); // expect: KVM1002
    }
}
//// case: i-1002-attribute-value-local
class Boot
{
    static void Start(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm(VmType.X86(X86VmType.KVM_X86_DEFAULT_VM));
        var attr = KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE;
        vm.MemoryAttributes!.Set(0, 0x1000, attr); // expect: KVM1002
    }
}
//// case: i-1002-ok-reassigned-to-private
class Boot
{
    static void Start(KvmSystem kvm)
    {
        var vm = kvm.CreateVm(VmType.X86Default);
        vm.Dispose();
        vm = kvm.CreateVm(VmType.X86SwProtected);
        vm.MemoryAttributes!.Set(0, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE);
        vm.Dispose();
    }
}
//// case: i-1002-ok-shared-on-default
class Boot
{
    static void Start(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm(VmType.X86Default);
        vm.MemoryAttributes?.Set(0, 0x1000, 0);
    }
}
//// case: i-1002-ok-sw-protected
class Boot
{
    static void Start(KvmSystem kvm)
    {
        if (!kvm.SupportsVmType(VmType.X86SwProtected))
            return;
        using var vm = kvm.CreateVm(VmType.X86SwProtected);
        vm.MemoryAttributes!.Set(0, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE);
    }
}
//// case: i-1002-ok-type-from-parameter
class Boot
{
    static void Start(KvmSystem kvm, VmType type)
    {
        using var vm = kvm.CreateVm(type);
        vm.MemoryAttributes?.Set(0, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE);
    }
}
//// case: i-1020-conversion-local
//// config: build_property.KvmInPlaceConversion = true
class Convert
{
    static void Private(VmFd vm)
    {
        var conv = vm.Conversion!;
        conv.ToPrivate(0x1000, 0x1000); // expect: KVM1020
    }
}
//// case: i-1020-conditional-to-shared
//// config: build_property.KvmUapiProfile = 7.3.4+inplace-conversion-v7
class Convert
{
    static void Share(VmFd vm)
    {
        vm.Conversion?.ToShared(0, 0x20_0000); // expect: KVM1020
    }
}
//// case: i-1020-shared-through-attributes-local
//// config: build_property.KvmInPlaceConversion = true
class Convert
{
    static void Share(VmFd vm)
    {
        KvmMemoryAttributes shared = 0;
        vm.MemoryAttributes!.Set(0x1000, 0x1000, shared); // expect: KVM1020
    }
}
//// case: i-1020-try-to-shared
//// config: build_property.KvmInPlaceConversion = true
class Convert
{
    static bool Share(VmFd vm)
    {
        var r = vm.Conversion!.TryToShared(0, 0x1000); // expect: KVM1020
        return r.IsSuccess;
    }
}
//// case: i-1020-conversion-pattern
//// config: build_property.KvmInPlaceConversion = true
class Convert
{
    static void Private(VmFd vm)
    {
        if (vm.Conversion is { } c)
            c.ToPrivate(0, 0x1000); // expect: KVM1020
    }
}
//// case: i-1020-ok-no-config
class Convert
{
    static void Private(VmFd vm)
    {
        var conv = vm.Conversion ?? throw new NotSupportedException("no private memory");
        conv.ToPrivate(0x1000, 0x1000);
        conv.ToShared(0x1000, 0x1000);
    }
}
//// case: i-1020-ok-runtime-pick
//// config: build_property.KvmInPlaceConversion = true
class Convert
{
    static void Private(VmFd vm, ulong gpa)
    {
        var conversion = vm.InPlaceConversion ?? vm.Conversion ?? throw new NotSupportedException("no private memory");
        conversion.ToPrivate(gpa, 0x1000);
    }
}
//// case: i-1020-ok-in-place-v8
//// config: build_property.KvmInPlaceConversion = true
class Convert
{
    static void Share(VmFd vm)
    {
        vm.InPlaceConversionV8?.ToShared(0, 0x1000);
    }
}
