// Independent corpus (issue #15), written blind from docs/diagnostics/*.md: KVM1005 (map without MMAP), KVM1012
// (INIT_SHARED on private VM types), KVM1013 (arm64 slot without MMAP), KVM1014 (host access to private pages).
using System;
using System.Collections.Generic;
using System.Linq;
using Kvm;
using Kvm.Interop;
//// case: i-1005-conditional-create-then-conditional-map
class Ram
{
    static void Setup(VmFd vm)
    {
        using var g = vm.GuestMemfd?.Create(0x10000);
        using var m = g?.Map(); // expect: KVM1005
    }
}
//// case: i-1005-flags-local-without-mmap
class Ram
{
    static void Setup(GuestMemfdFeature f)
    {
        var flags = GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED;
        using var g = f.Create(0x20_0000, flags);
        using var m = g.Map(); // expect: KVM1005
    }
}
//// case: i-1005-ternary-neither-mmap
class Ram
{
    static void Setup(GuestMemfdFeature f, bool shared)
    {
        var flags = shared ? GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED : 0;
        using var g = f.Create(0x20_0000, flags);
        using var m = g.Map(); // expect: KVM1005
    }
}
//// case: i-1005-static-readonly-flags
class Ram
{
    static readonly GuestMemfdFlags Flags = GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED;

    static void Setup(GuestMemfdFeature f)
    {
        using var g = f.Create(0x10000, Flags);
        using var m = g.Map(); // expect: KVM1005
    }
}
//// case: i-1005-window-map
class Ram
{
    static void Setup(GuestMemfdFeature f)
    {
        using var g = f.Create(0x40_0000);
        using var m = g.Map(0x10_0000, 0x1000); // expect: KVM1005
    }
}
//// case: i-1005-explicit-zero-flags
class Ram
{
    static void Setup(GuestMemfdFeature f)
    {
        using var g = f.Create(0x10000, 0);
        using var m = g.Map(); // expect: KVM1005
    }
}
//// case: i-1005-pattern-feature
class Ram
{
    static void Setup(VmFd vm)
    {
        if (vm.GuestMemfd is { } f)
        {
            using var g = f.Create(0x10000);
            using var m = g.Map(); // expect: KVM1005
        }
    }
}
//// case: i-1005-null-forgiving-chain
class Ram
{
    static void Setup(VmFd vm)
    {
        using var g = vm.GuestMemfd!.Create(0x10000, GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
        using var map = g.Map(); // expect: KVM1005
        map.Write(0, new byte[] { 0xF4 });
    }
}
//// case: i-1005-ok-flags-or-assign-mmap
class Ram
{
    static void Setup(GuestMemfdFeature f)
    {
        var flags = GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED;
        flags |= GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP;
        using var g = f.Create(0x10000, flags);
        using var m = g.Map();
        m.Write(0, new byte[] { 0xF4 });
    }
}
//// case: i-1005-ok-is-mappable-guard
class Ram
{
    static void Setup(GuestMemfdFeature f)
    {
        using var g = f.Create(0x10000, f.SupportedFlags & GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP);
        if (!g.IsMappable)
            return;
        using var m = g.Map();
        Console.WriteLine(m.Length);
    }
}
//// case: i-1005-ok-parameter-gmem
class Ram
{
    static GmemMapping MapIt(GmemFd g) => g.Map();
}
//// case: i-1005-ok-ternary-both-mmap
class Ram
{
    static void Setup(GuestMemfdFeature f, bool shared)
    {
        var flags = shared
            ? GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED
            : GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP;
        using var g = f.Create(0x10000, flags);
        using var m = g.Map();
        Console.WriteLine(m.Length);
    }
}
//// case: i-1012-type-in-local
class Boot
{
    static void Start(KvmSystem kvm)
    {
        var type = VmType.X86SwProtected;
        using var vm = kvm.CreateVm(type);
        using var g = vm.GuestMemfd!.Create(0x20_0000, GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED); // expect: KVM1012
    }
}
//// case: i-1012-ternary-snp-tdx
class Boot
{
    static void Start(KvmSystem kvm, bool tdx)
    {
        using var vm = tdx ? kvm.CreateVm(VmType.X86Tdx) : kvm.CreateVm(VmType.X86Snp);
        var f = vm.GuestMemfd ?? throw new NotSupportedException("guest_memfd");
        using var g = f.Create(0x20_0000, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED); // expect: KVM1012
    }
}
//// case: i-1012-flags-local
class Boot
{
    static void Start(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm(VmType.X86SwProtected);
        var flags = GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP;
        flags |= GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED;
        using var g = vm.GuestMemfd?.Create(0x10000, flags); // expect: KVM1012
    }
}
//// case: i-1012-try-create
class Boot
{
    static void Start(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm(VmType.X86(X86VmType.KVM_X86_SW_PROTECTED_VM));
        var r = vm.GuestMemfd!.TryCreate(0x10000, GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED, out var g); // expect: KVM1012
        using (g)
            Console.WriteLine(r);
    }
}
//// case: i-1012-ok-in-place-project
//// config: build_property.KvmInPlaceConversion = true
class Boot
{
    static void Start(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm(VmType.X86SwProtected);
        using var g = vm.GuestMemfd!.Create(0x20_0000, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
        Console.WriteLine(g.Flags);
    }
}
//// case: i-1012-ok-default-vm
class Boot
{
    static void Start(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm(VmType.X86Default);
        using var g = vm.GuestMemfd!.Create(0x20_0000, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
        using var m = g.Map();
        m.Write(0, new byte[] { 0xF4 });
    }
}
//// case: i-1012-ok-private-vm-no-init-shared
class Boot
{
    static void Start(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm(VmType.X86SwProtected);
        using var shared = kvm.AllocateHostMemory(0x20_0000);
        using var g = vm.GuestMemfd!.Create(0x20_0000);
        vm.Memslots.Add(0, g, 0, 0x20_0000, shared);
    }
}
//// case: i-1012-ok-supported-flags
// why: INIT_SHARED is passed only after SupportedFlags said yes - the check the page's fix recommends; on a kernel
// without in-place conversion that branch never runs, so a warning here would push users away from portable code.
class Boot
{
    static void Start(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm(VmType.X86SwProtected);
        var f = vm.GuestMemfd!;
        var wanted = GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED;
        using var g = (f.SupportedFlags & wanted) != 0 ? f.Create(0x10000, wanted) : f.Create(0x10000);
        Console.WriteLine(g.Flags);
    }
}
//// case: i-1013-arm64-default
class Boot
{
    static void Start(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm(VmType.Arm64Default);
        using var g = vm.GuestMemfd!.Create(0x20_0000);
        vm.Memslots.Add(0x4000_0000, g, 0, 0x20_0000); // expect: KVM1013
    }
}
//// case: i-1013-arm64-ipa-bits-local
class Boot
{
    static void Start(KvmSystem kvm)
    {
        var type = VmType.Arm64(44);
        using var vm = kvm.CreateVm(type);
        var flags = GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED;
        using var g = vm.GuestMemfd!.Create(0x20_0000, flags);
        vm.Memslots.Add(0x4000_0000, g, 0, 0x20_0000); // expect: KVM1013
    }
}
//// case: i-1013-target-arch-parameter-vm
//// config: build_property.KvmTargetArchitecture = arm64
class Ram
{
    static void Bind(VmFd vm)
    {
        using var g = vm.GuestMemfd?.Create(0x10_0000);
        if (g is not null)
            vm.Memslots.Add(0x8000_0000, g, 0, 0x10_0000); // expect: KVM1013
    }
}
//// case: i-1013-rid-arm64
//// config: build_property.RuntimeIdentifier = linux-arm64
class Ram
{
    static void Bind(VmFd vm, GuestMemfdFeature f)
    {
        using var g = f.Create(0x10_0000);
        vm.Memslots.Add(0x8000_0000, g, 0, 0x10_0000); // expect: KVM1013
    }
}
//// case: i-1013-pattern-create
class Boot
{
    static void Start(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm(VmType.Arm64Default);
        if (vm.GuestMemfd?.Create(0x10_0000) is { } g)
        {
            using (g)
                vm.Memslots.Add(0x4000_0000, g, 0, 0x10_0000); // expect: KVM1013
        }
    }
}
//// case: i-1013-ok-arm64-with-mmap
class Boot
{
    static void Start(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm(VmType.Arm64Default);
        using var g = vm.GuestMemfd!.Create(0x20_0000, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
        vm.Memslots.Add(0x4000_0000, g, 0, 0x20_0000);
    }
}
//// case: i-1013-ok-explicit-x86-under-arm64-rid
//// config: build_property.RuntimeIdentifier = linux-arm64
class Boot
{
    static void Start(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm(VmType.X86SwProtected);
        using var shared = kvm.AllocateHostMemory(0x10_0000);
        using var g = vm.GuestMemfd!.Create(0x10_0000);
        vm.Memslots.Add(0, g, 0, 0x10_0000, shared);
    }
}
//// case: i-1013-ok-x86-project
class Ram
{
    static void Bind(VmFd vm, HostMemory shared)
    {
        using var g = vm.GuestMemfd!.Create(0x10_0000);
        vm.Memslots.Add(0, g, 0, 0x10_0000, shared);
    }
}
//// case: i-1013-ok-arm64-mapping-overload
//// config: build_property.KvmTargetArchitecture = arm64
class Ram
{
    static void Bind(VmFd vm)
    {
        using var g = vm.GuestMemfd!.Create(0x10_0000, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
        var m = g.Map();
        vm.Memslots.Add(0x4000_0000, m);
        m.Dispose();
    }
}
//// case: i-1014-write-mmap-only
class Loader
{
    static void Load(GuestMemfdFeature f, byte[] kernel)
    {
        using var g = f.Create(0x20_0000, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP);
        using var m = g.Map();
        m.Write(0x1000, kernel); // expect: KVM1014
    }
}
//// case: i-1014-lease-flags-local
class Loader
{
    static void Load(GuestMemfdFeature f)
    {
        var flags = GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP;
        using var g = f.Create(0x10000, flags);
        using var m = g.Map();
        using var lease = m.Lease(0, 16); // expect: KVM1014
        lease.Span.Fill(0x90);
    }
}
//// case: i-1014-ternary-neither-shared
class Loader
{
    static void Load(VmFd vm, bool big, byte[] image)
    {
        var size = big ? 0x40_0000UL : 0x20_0000UL;
        using var g = vm.GuestMemfd!.Create(size, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP);
        using var m = g.Map();
        if (image.Length > 0)
            m.Write(0, image); // expect: KVM1014
    }
}
//// case: i-1014-write-in-loop
class Loader
{
    static void Load(GuestMemfdFeature f, IReadOnlyList<byte[]> chunks)
    {
        using var g = f.Create(0x40_0000, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP);
        using var m = g.Map();
        ulong at = 0;
        foreach (var c in chunks)
        {
            m.Write(at, c); // expect: KVM1014
            at += (ulong)c.Length;
        }
    }
}
//// case: i-1014-ok-init-shared
class Loader
{
    static void Load(GuestMemfdFeature f, byte[] kernel)
    {
        using var g = f.Create(0x20_0000, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
        using var m = g.Map();
        m.Write(0, kernel);
    }
}
//// case: i-1014-ok-converted-first
class Loader
{
    static void Load(VmFd vm, byte[] kernel)
    {
        using var g = vm.GuestMemfd!.Create(0x20_0000, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP);
        using var m = g.Map();
        vm.Memslots.Add(0, m);
        vm.Conversion!.ToShared(0, 0x20_0000);
        m.Write(0, kernel);
    }
}
//// case: i-1014-ok-plain-host-memory
class Loader
{
    static void Load(KvmSystem kvm, VmFd vm, byte[] kernel)
    {
        using var ram = kvm.AllocateHostMemory(0x20_0000);
        ram.Write(0, kernel);
        vm.Memslots.Add(0, ram);
    }
}
