using System;
using Kvm;
using Kvm.Interop;

//// case: arm64-gmem-slot-without-mmap
class A1
{
    public void Boot(KvmSystem kvm, byte[] image)
    {
        using var vm = kvm.CreateVm(VmType.Arm64Default);
        using var ram = vm.GuestMemfd!.Create(0x400000);
        using var slot = vm.Memslots.Add(0x40000000, ram, 0, 0x400000); // expect: KVM1013
    }
}
//// case: arm64-gmem-slot-init-shared-only
class A2
{
    public SlotHandle Ram(KvmSystem kvm, VmFd keep)
    {
        var vm = kvm.CreateVm(VmType.Arm64(44));
        var ram = vm.GuestMemfd?.Create(0x200000, GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED) ?? throw new NotSupportedException("guest_memfd");
        var slot = vm.Memslots.Add(0, ram, 0, 0x200000); // expect: KVM1013
        ram.Dispose();
        vm.Dispose();
        return slot;
    }
}
//// case: arm64-gmem-slot-flags-from-a-switch
class A3
{
    public void Setup(KvmSystem kvm, int mode)
    {
        using var vm = kvm.CreateVm(VmType.Arm64Default);
        var flags = mode switch { 0 => GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED, _ => (GuestMemfdFlags)0 };
        if (vm.GuestMemfd is not { } gm)
            return;
        using var g = gm.Create(0x100000, flags);
        using var s = vm.Memslots.Add(0, g, 0, 0x100000); // expect: KVM1013
    }
}
//// case: arm64-gmem-slot-mmap-correct
class A4
{
    public void Boot(KvmSystem kvm, byte[] kernel)
    {
        using var vm = kvm.CreateVm(VmType.Arm64Default);
        if (vm.GuestMemfd is not { } f || !f.SupportedFlags.HasFlag(GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED))
            return;
        using var ram = f.Create(0x400000, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
        using var map = ram.Map();
        map.Write(0, kernel);
        using var slot = vm.Memslots.Add(0x40000000, ram, 0, 0x400000);
    }
}
//// case: arm64-gmem-mapping-overload-correct
class A5
{
    public void Boot(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm(VmType.Arm64(40));
        using var ram = vm.GuestMemfd!.Create(0x200000, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP);
        using var map = ram.Map();
        using var slot = vm.Memslots.Add(0, map);
    }
}
//// case: x86-private-gmem-slot-without-mmap-correct
class A6
{
    public void Boot(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm(VmType.X86SwProtected);
        using var ram = vm.GuestMemfd!.Create(0x200000);
        using var shared = kvm.AllocateHostMemory(0x200000);
        using var slot = vm.Memslots.Add(0, ram, 0, 0x200000, shared: shared);
    }
}
