using System;
using Kvm;
using Kvm.Interop;

//// case: map-from-conditional-create
class M1
{
    public void Load(VmFd vm, byte[] image)
    {
        using var g = vm.GuestMemfd?.Create(0x200000);
        using var m = g?.Map(); // expect: KVM1005
        m?.Write(0, image);
    }
}
//// case: map-flags-in-local
class M2
{
    public GmemMapping Load(GuestMemfdFeature f)
    {
        var flags = GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED;
        using var g = f.Create(0x10000, flags);
        return g.Map(); // expect: KVM1005
    }
}
//// case: map-after-reassignment
class M3
{
    public GmemMapping Load(GuestMemfdFeature f, GmemFd existing)
    {
        var g = existing;
        g = f.Create(0x10000); // expect: KVM1006
        return g.Map(); // expect: KVM1005
    }
}
//// case: map-ranged
class M4
{
    public GmemMapping Part(GuestMemfdFeature f)
    {
        using var g = f.Create(0x10000, 0);
        return g.Map(0, 0x1000); // expect: KVM1005
    }
}
//// case: map-static-readonly-flags
class M5
{
    static readonly GuestMemfdFlags NoFlags = 0;
    public GmemMapping Load(GuestMemfdFeature f)
    {
        using var g = f.Create(0x10000, NoFlags);
        return g.Map(); // expect: KVM1005
    }
}
//// case: map-is-pattern
class M6
{
    public GmemMapping? Load(VmFd vm)
    {
        if (vm.GuestMemfd?.Create(0x10000) is { } g) // expect: KVM1006
            return g.Map(); // expect: KVM1005
        return null;
    }
}
//// case: map-ternary-flags-none-mmap
class M7
{
    public GmemMapping Load(GuestMemfdFeature f, bool shared)
    {
        var flags = shared ? GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED : 0;
        using var g = f.Create(0x10000, flags);
        return g.Map(); // expect: KVM1005
    }
}
//// case: ok-map-with-mmap-local
class M8
{
    public GmemMapping Load(GuestMemfdFeature f)
    {
        var flags = GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED;
        using var g = f.Create(0x10000, flags);
        return g.Map();
    }
}
//// case: ok-map-flags-compound
class M9
{
    public GmemMapping Load(GuestMemfdFeature f)
    {
        var flags = GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED;
        flags |= GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP;
        using var g = f.Create(0x10000, flags);
        return g.Map();
    }
}
//// case: ok-map-checked-mappable
class M10
{
    public GmemMapping? Load(GmemFd g) => g.IsMappable ? g.Map() : null;
}
//// case: ok-map-conditional-flags-mmap
class M11
{
    public GmemMapping Load(GuestMemfdFeature f, bool shared)
    {
        var flags = shared ? GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED : GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP;
        using var g = f.Create(0x10000, flags);
        return g.Map();
    }
}
//// case: ok-map-supported-flags
class M12
{
    public GmemMapping Load(GuestMemfdFeature f)
    {
        using var g = f.Create(0x10000, f.SupportedFlags);
        return g.Map();
    }
}
//// case: init-shared-sw-protected
class S1
{
    public void Build(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm(VmType.X86SwProtected);
        using var g = vm.GuestMemfd!.Create(0x200000, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED); // expect: KVM1012
        Console.WriteLine(g.Size);
    }
}
//// case: init-shared-snp-local-flags
class S2
{
    public void Build(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm(VmType.X86Snp);
        var flags = GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED;
        using var g = vm.GuestMemfd?.Create(0x10000, flags); // expect: KVM1012
    }
}
//// case: init-shared-tdx-feature-local
class S3
{
    public void Build(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm(VmType.X86Tdx);
        var gm = vm.GuestMemfd ?? throw new NotSupportedException();
        using var g = gm.Create(0x10000, GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED | GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP); // expect: KVM1012
    }
}
//// case: init-shared-type-in-local
class S4
{
    public void Build(KvmSystem kvm)
    {
        var type = VmType.X86SwProtected;
        using var vm = kvm.CreateVm(type);
        using var g = vm.GuestMemfd!.Create(0x10000, GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED); // expect: KVM1012
    }
}
//// case: ok-init-shared-default-vm
class S5
{
    public void Build(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm();
        using var g = vm.GuestMemfd!.Create(0x10000, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
        using var m = g.Map();
        m.Write(0, new byte[] { 0xf4 });
    }
}
//// case: ok-init-shared-with-in-place
//// config: build_property.KvmInPlaceConversion = true
class S6
{
    public void Build(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm(VmType.X86SwProtected);
        using var g = vm.GuestMemfd!.Create(0x10000, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
    }
}
//// case: ok-private-vm-no-init-shared
class S7
{
    public void Build(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm(VmType.X86SwProtected);
        using var g = vm.GuestMemfd!.Create(0x10000);
        using var shared = kvm.AllocateHostMemory(0x10000);
        vm.Memslots.Add(0, g, 0, 0x10000, shared);
    }
}
//// case: ok-vm-type-reassigned
class S8
{
    public void Build(KvmSystem kvm, bool cc)
    {
        var vm = kvm.CreateVm(VmType.X86SwProtected);
        if (!cc)
        {
            vm.Dispose();
            vm = kvm.CreateVm();
        }
        using (vm)
        using (var g = vm.GuestMemfd!.Create(0x10000, GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED))
            Console.WriteLine(g.Flags);
    }
}
//// case: host-write-private-start
class W1
{
    public void Load(GuestMemfdFeature f, byte[] kernel)
    {
        using var g = f.Create(0x200000, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP);
        using var m = g.Map();
        m.Write(0, kernel); // expect: KVM1014
    }
}
//// case: host-lease-private-start
class W2
{
    public void Zero(GuestMemfdFeature f)
    {
        var flags = GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP;
        using var g = f.Create(0x10000, flags);
        using var m = g.Map();
        using var lease = m.Lease(0, 4096); // expect: KVM1014
        lease.Span.Clear();
    }
}
//// case: host-write-via-conditional
class W3
{
    public void Load(VmFd vm, byte[] image)
    {
        using var g = vm.GuestMemfd?.Create(0x10000, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP);
        if (g is null)
            return;
        using var m = g.Map();
        m.Write(0x1000, image); // expect: KVM1014
    }
}
//// case: ok-host-write-init-shared
class W4
{
    public void Load(GuestMemfdFeature f, byte[] image)
    {
        using var g = f.Create(0x10000, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
        using var m = g.Map();
        m.Write(0, image);
    }
}
//// case: ok-host-write-after-to-shared
class W5
{
    public void Load(VmFd vm, GuestMemfdFeature f, byte[] image)
    {
        using var g = f.Create(0x10000, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP);
        using var m = g.Map();
        vm.Conversion!.ToShared(0, 0x10000);
        m.Write(0, image);
    }
}
//// case: ok-read-only-state
class W6
{
    public PageState State(GuestMemfdFeature f)
    {
        using var g = f.Create(0x10000, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP);
        using var m = g.Map();
        return m.GetState(0);
    }
}
