using System;
using Kvm;
using Kvm.Interop;

//// case: try-create-ignored
class T1
{
    public GmemFd? Make(GuestMemfdFeature f)
    {
        f.TryCreate(0x10000, 0, out var g); // expect: KVM1010
        return g;
    }
}
//// case: try-set-discarded
class T2
{
    public void Seal(MemoryAttributesFeature a) => _ = a.TrySet(0, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE); // expect: KVM1010
}
//// case: try-punch-ignored
class T3
{
    public void Drop(GmemFd g)
    {
        g.TryPunchHole(0, 0x1000); // expect: KVM1010
        g.TryAllocate(0x1000, 0x1000); // expect: KVM1010
    }
}
//// case: try-create-vm-ignored
class T4
{
    public VmFd? Make(KvmSystem kvm)
    {
        kvm.TryCreateVm(VmType.X86SwProtected, out var vm); // expect: KVM1010
        return vm;
    }
}
//// case: try-to-private-ignored
class T5
{
    public void Seal(IGuestMemoryConversion c)
    {
        c.TryToPrivate(0, 0x1000); // expect: KVM1010
    }
}
//// case: raw-ioctl-ignored
class T6
{
    public void Map(int vmFd, VmFd vm, ulong host)
    {
        if (!vm.Capabilities.Has(KvmCap.KVM_CAP_USER_MEMORY2))
            return;
        var r = new kvm_userspace_memory_region2 { slot = 0, memory_size = 0x100000, userspace_addr = host };
        Sys.Ioctl(vmFd, KvmIoctls.KVM_SET_USER_MEMORY_REGION2, in r); // expect: KVM1010
    }
}
//// case: raw-ioctl-discarded
class T7
{
    public void Exit(int vcpuFd) => _ = Sys.Ioctl(vcpuFd, KvmIoctls.KVM_RUN); // expect: KVM1010
}
//// case: ok-try-checked
class T8
{
    public GmemFd? Make(GuestMemfdFeature f)
    {
        var r = f.TryCreate(0x10000, 0, out var g);
        if (!r.IsSuccess)
            Console.Error.WriteLine($"guest_memfd: {r}");
        return g;
    }
}
//// case: ok-try-returned
class T9
{
    public KvmResult Seal(MemoryAttributesFeature a) => a.TrySet(0, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE);
}
//// case: ok-try-in-condition
class T10
{
    public bool Drop(GmemFd g) => g.TryPunchHole(0, 0x1000).IsSuccess;
}
//// case: ok-raw-ioctl-checked
class T11
{
    public void Run(int vcpuFd)
    {
        if (Sys.Ioctl(vcpuFd, KvmIoctls.KVM_RUN) < 0)
            throw new InvalidOperationException($"KVM_RUN: errno {Sys.LastErrno}");
    }
}
//// case: ok-try-switch
class T12
{
    public string Probe(KvmSystem kvm)
    {
        var r = kvm.TryCreateVm(VmType.X86Tdx, out var vm);
        using (vm)
            return r.IsSuccess ? "tdx" : r.Errno.ToString();
    }
}
//// case: ok-raw-stored
class T13
{
    public int Api(int kvmFd)
    {
        var version = Sys.Ioctl(kvmFd, KvmIoctls.KVM_GET_API_VERSION);
        return version;
    }
}
