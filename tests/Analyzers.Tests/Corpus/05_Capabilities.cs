using System;
using Kvm;
using Kvm.Interop;

//// case: raw-gmem-no-check
class C1
{
    public int Create(int vmFd)
    {
        var arg = new kvm_create_guest_memfd { size = 0x10000 };
        return Sys.Ioctl(vmFd, KvmIoctls.KVM_CREATE_GUEST_MEMFD, ref arg); // expect: KVM2001
    }
}
//// case: raw-check-answer-ignored
class C2
{
    public int Create(int vmFd)
    {
        Sys.Ioctl(vmFd, KvmIoctls.KVM_CHECK_EXTENSION, (nint)KvmCap.KVM_CAP_GUEST_MEMFD); // expect: KVM1010
        var arg = new kvm_create_guest_memfd { size = 0x10000 };
        return Sys.Ioctl(vmFd, KvmIoctls.KVM_CREATE_GUEST_MEMFD, ref arg); // expect: KVM2001
    }
}
//// case: sdk-check-answer-ignored
class C3
{
    public int Set(VmFd vm, int vmFd)
    {
        vm.Capabilities.Check(KvmCap.KVM_CAP_MEMORY_ATTRIBUTES);
        var r = new kvm_memory_attributes { address = 0, size = 0x1000 };
        return Sys.Ioctl(vmFd, KvmIoctls.KVM_SET_MEMORY_ATTRIBUTES, in r); // expect: KVM2001
    }
}
//// case: discarded-has
class C4
{
    public int Prefault(VmFd vm, int vcpuFd)
    {
        _ = vm.Capabilities.Has(KvmCap.KVM_CAP_PRE_FAULT_MEMORY);
        var r = new kvm_pre_fault_memory { gpa = 0, size = 0x1000 };
        return Sys.Ioctl(vcpuFd, KvmIoctls.KVM_PRE_FAULT_MEMORY, ref r); // expect: KVM2001
    }
}
//// case: wrong-cap-checked
class C5
{
    public int Create(VmFd vm, int vmFd)
    {
        if (!vm.Capabilities.Has(KvmCap.KVM_CAP_USER_MEMORY2))
            return -1;
        var arg = new kvm_create_guest_memfd { size = 0x10000 };
        return Sys.Ioctl(vmFd, KvmIoctls.KVM_CREATE_GUEST_MEMFD, ref arg); // expect: KVM2001
    }
}
//// case: region2-no-check
class C6
{
    public int Map(int vmFd, ulong host)
    {
        var r = new kvm_userspace_memory_region2 { slot = 0, memory_size = 0x100000, userspace_addr = host };
        return Sys.Ioctl(vmFd, KvmIoctls.KVM_SET_USER_MEMORY_REGION2, in r); // expect: KVM2001
    }
}
//// case: ok-proof-parameter
class C7
{
    public int Create(GuestMemfdFeature proof, int vmFd)
    {
        var arg = new kvm_create_guest_memfd { size = 0x10000 };
        return Sys.Ioctl(vmFd, KvmIoctls.KVM_CREATE_GUEST_MEMFD, ref arg);
    }
}
//// case: ok-attributes-proof-parameter
class C8
{
    public int Set(MemoryAttributesFeature attrs, int vmFd)
    {
        var r = new kvm_memory_attributes { address = 0, size = 0x1000 };
        return Sys.Ioctl(vmFd, KvmIoctls.KVM_SET_MEMORY_ATTRIBUTES, in r);
    }
}
//// case: ok-cap-in-local
class C9
{
    public int Create(VmFd vm, int vmFd)
    {
        var cap = KvmCap.KVM_CAP_GUEST_MEMFD;
        if (!vm.Capabilities.Has(cap))
            return -1;
        var arg = new kvm_create_guest_memfd { size = 0x10000 };
        return Sys.Ioctl(vmFd, KvmIoctls.KVM_CREATE_GUEST_MEMFD, ref arg);
    }
}
//// case: ok-raw-check-stored
class C10
{
    public int Create(int vmFd)
    {
        var has = Sys.Ioctl(vmFd, KvmIoctls.KVM_CHECK_EXTENSION, (nint)KvmCap.KVM_CAP_GUEST_MEMFD) > 0;
        if (!has)
            return -1;
        var arg = new kvm_create_guest_memfd { size = 0x10000 };
        return Sys.Ioctl(vmFd, KvmIoctls.KVM_CREATE_GUEST_MEMFD, ref arg);
    }
}
//// case: ok-check-throws
class C11
{
    public int Prefault(VmFd vm, int vcpuFd)
    {
        if (vm.Capabilities.Check(KvmCap.KVM_CAP_PRE_FAULT_MEMORY) == 0)
            throw new NotSupportedException("no KVM_PRE_FAULT_MEMORY");
        var r = new kvm_pre_fault_memory { gpa = 0, size = 0x1000 };
        return Sys.Ioctl(vcpuFd, KvmIoctls.KVM_PRE_FAULT_MEMORY, ref r);
    }
}
//// case: ok-cap-static-readonly
class C12
{
    static readonly KvmCap Needed = KvmCap.KVM_CAP_USER_MEMORY2;
    public int Map(VmFd vm, int vmFd, ulong host)
    {
        if (!vm.Capabilities.Has(Needed))
            return -1;
        var r = new kvm_userspace_memory_region2 { slot = 0, memory_size = 0x100000, userspace_addr = host };
        return Sys.Ioctl(vmFd, KvmIoctls.KVM_SET_USER_MEMORY_REGION2, in r);
    }
}
//// case: ok-ungated-raw
class C13
{
    public int Api(int kvmFd) => Sys.Ioctl(kvmFd, KvmIoctls.KVM_GET_API_VERSION);
}
//// case: system-scope-gmem
class V1
{
    public bool CanUseGmem(KvmSystem kvm) => kvm.Capabilities.Has(KvmCap.KVM_CAP_GUEST_MEMFD); // expect: KVM1011
}
//// case: system-scope-attributes-mask
class V2
{
    public ulong Attrs(KvmSystem kvm) => kvm.Capabilities.CheckMask(KvmCap.KVM_CAP_MEMORY_ATTRIBUTES); // expect: KVM1011
}
//// case: system-scope-local-cap
class V3
{
    public int Flags(KvmSystem kvm)
    {
        var cap = KvmCap.KVM_CAP_GUEST_MEMFD_FLAGS;
        return kvm.Capabilities.Check(cap); // expect: KVM1011
    }
}
//// case: system-scope-caps-local
class V4
{
    public bool Probe(KvmSystem kvm)
    {
        var caps = kvm.Capabilities;
        return caps.Has(KvmCap.KVM_CAP_GUEST_MEMFD); // expect: KVM1011
    }
}
//// case: system-scope-raw-ioctl
class V5
{
    public bool Probe(int kvmFd, KvmSystem kvm) =>
        kvm.Capabilities.CheckRaw((int)KvmCap.KVM_CAP_GUEST_MEMFD) > 0; // expect: KVM1011
}
//// case: ok-vm-scope-gmem
class V6
{
    public bool Probe(VmFd vm) => vm.Capabilities.Has(KvmCap.KVM_CAP_GUEST_MEMFD);
}
//// case: ok-system-scope-system-cap
class V7
{
    public bool Probe(KvmSystem kvm) => kvm.Capabilities.Has(KvmCap.KVM_CAP_USER_MEMORY) && kvm.Capabilities.Check(KvmCap.KVM_CAP_NR_MEMSLOTS) > 8;
}
//// case: ok-system-scope-vm-types
class V8
{
    public ulong Types(KvmSystem kvm) => kvm.Capabilities.CheckMask(KvmCap.KVM_CAP_VM_TYPES);
}
