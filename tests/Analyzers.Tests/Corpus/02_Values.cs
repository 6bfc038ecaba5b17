using System;
using Kvm;
using Kvm.Interop;

//// case: unaligned-size-in-local
class A1
{
    public GmemFd Make(GuestMemfdFeature f)
    {
        ulong size = 0x1800;
        return f.Create(size); // expect: KVM1003
    }
}
//// case: unaligned-static-readonly
class A2
{
    static readonly ulong RamSize = 3 * 1024 * 1024 + 512;
    public HostMemory Ram(KvmSystem kvm) => kvm.AllocateHostMemory(RamSize); // expect: KVM1003
}
//// case: unaligned-const-field
class A3
{
    const ulong BiosBase = 0xFFFF0;
    public SlotHandle Bios(VmFd vm, HostMemory rom) => vm.Memslots.Add(BiosBase, rom); // expect: KVM1003
}
//// case: unaligned-ternary
class A4
{
    public void Carve(VmFd vm, bool small)
    {
        var size = small ? 0x800UL : 0x1800UL;
        vm.MemoryAttributes!.Set(0, size, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE); // expect: KVM1003
    }
}
//// case: unaligned-compound-add
class A5
{
    public void Punch(GmemFd g)
    {
        ulong offset = 0x10000;
        offset += 0x200;
        g.PunchHole(offset, 0x1000); // expect: KVM1003
    }
}
//// case: unaligned-switch-expression
class A6
{
    public GmemFd Make(GuestMemfdFeature f, int profile)
    {
        ulong size = profile switch { 0 => 0x1100, 1 => 0x2100, _ => 0x3100 };
        return f.Create(size, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP); // expect: KVM1003
    }
}
//// case: unaligned-gpa-computed-const
class A7
{
    const ulong Mmio = 0xFEC00000;
    const ulong Window = Mmio + 0x10;
    public SlotHandle Map(VmFd vm, HostMemory m) => vm.Memslots.Add(Window, m); // expect: KVM1003
}
//// case: unaligned-struct-local
class A8
{
    public kvm_userspace_memory_region2 Region(ulong host)
    {
        ulong gpa = 0x1234;
        var r = new kvm_userspace_memory_region2 { slot = 0, memory_size = 0x10000, userspace_addr = host };
        r.guest_phys_addr = gpa; // expect: KVM1003
        return r;
    }
}
//// case: unaligned-attributes-struct
class A9
{
    public kvm_memory_attributes Range()
    {
        const ulong start = 0x100800;
        return new kvm_memory_attributes { address = start, size = 0x1000 }; // expect: KVM1003
    }
}
//// case: unaligned-to-private
class A10
{
    public void Convert(IGuestMemoryConversion c)
    {
        var len = 6000UL;
        c.ToPrivate(0x100000, len); // expect: KVM1003
    }
}
//// case: unaligned-allocate-offset-field
class A11
{
    private static readonly ulong HeaderOffset = 0x40;
    public void Fill(GmemFd g) => g.Allocate(HeaderOffset, 0x1000); // expect: KVM1003
}
//// case: unaligned-gmem-offset
class A12
{
    public SlotHandle Bind(VmFd vm, GmemFd g, HostMemory shared)
    {
        ulong off = 0x100;
        return vm.Memslots.Add(0x100000, g, off, 0x10000, shared); // expect: KVM1003
    }
}
//// case: ok-aligned-locals
class A13
{
    const ulong Mb = 1 << 20;
    static readonly ulong Ram = 64 * Mb;
    public void Build(KvmSystem kvm, VmFd vm)
    {
        using var ram = kvm.AllocateHostMemory(Ram);
        ulong gpa = 0;
        gpa += 0x100000;
        vm.Memslots.Add(gpa, ram, 0, Ram - 0x100000);
    }
}
//// case: ok-runtime-size
class A14
{
    public GmemFd Make(GuestMemfdFeature f, ulong pages) => f.Create(pages * 4096);
}
//// case: ok-ternary-aligned
class A15
{
    public GmemFd Make(GuestMemfdFeature f, bool huge) => f.Create(huge ? 0x200000UL : 0x1000UL);
}
//// case: ok-reassigned-aligned
class A16
{
    public void Carve(VmFd vm, bool whole)
    {
        ulong size = 0x1000;
        if (whole)
            size = 0x200000;
        vm.MemoryAttributes?.Set(0x100000, size, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE);
    }
}
//// case: ok-parameter-size
class A17
{
    public void Hole(GmemFd g, ulong off, ulong len) => g.PunchHole(off, len);
}
//// case: ok-rounded-size
class A18
{
    public HostMemory Ram(KvmSystem kvm, ulong bytes) => kvm.AllocateHostMemory((bytes + 4095) & ~4095UL);
}
//// case: flags-readonly-on-gmem-struct-local
class F1
{
    public kvm_userspace_memory_region2 Region(uint gmemFd)
    {
        var flags = KvmMemFlags.KVM_MEM_GUEST_MEMFD | KvmMemFlags.KVM_MEM_READONLY;
        return new kvm_userspace_memory_region2 { slot = 1, flags = (uint)flags, guest_memfd = gmemFd, memory_size = 0x1000 }; // expect: KVM1004
    }
}
//// case: flags-compound-or
class F2
{
    public kvm_userspace_memory_region2 Region(uint gmemFd)
    {
        uint flags = (uint)KvmMemFlags.KVM_MEM_GUEST_MEMFD;
        flags |= (uint)KvmMemFlags.KVM_MEM_LOG_DIRTY_PAGES;
        var r = new kvm_userspace_memory_region2 { slot = 1, guest_memfd = gmemFd, memory_size = 0x1000 };
        r.flags = flags; // expect: KVM1004
        return r;
    }
}
//// case: flags-unknown-gmem-bit-local
class F3
{
    public GmemFd Make(GuestMemfdFeature f)
    {
        var flags = (GuestMemfdFlags)0x10;
        return f.Create(0x10000, flags); // expect: KVM1004
    }
}
//// case: flags-static-readonly-memslot
class F4
{
    static readonly KvmMemFlags SlotFlags = KvmMemFlags.KVM_MEM_GUEST_MEMFD;
    public SlotHandle Map(VmFd vm, HostMemory m) => vm.Memslots.Add(0, m, flags: SlotFlags); // expect: KVM1004
}
//// case: flags-v1-region-gmem-bit
class F5
{
    public kvm_userspace_memory_region Region()
    {
        const uint Flags = (uint)KvmMemFlags.KVM_MEM_GUEST_MEMFD;
        return new kvm_userspace_memory_region { slot = 0, flags = Flags, memory_size = 0x1000 }; // expect: KVM1004
    }
}
//// case: flags-ternary-gmem-unknown
class F6
{
    public GmemFd Make(GuestMemfdFeature f, bool a) =>
        f.Create(0x1000, a ? (GuestMemfdFlags)0x40 : (GuestMemfdFlags)0x80); // expect: KVM1004
}
//// case: flags-add-user-memory-gmem
class F7
{
    public SlotHandle Map(VmFd vm, nint host)
    {
        var flags = KvmMemFlags.KVM_MEM_LOG_DIRTY_PAGES;
        flags |= KvmMemFlags.KVM_MEM_GUEST_MEMFD;
        return vm.Memslots.AddUserMemory(0, host, 0x1000, flags); // expect: KVM1004
    }
}
//// case: ok-flags-dirty-logging-host-slot
class F8
{
    public SlotHandle Map(VmFd vm, HostMemory m, bool track)
    {
        var flags = KvmMemFlags.KVM_MEM_LOG_DIRTY_PAGES;
        if (!track)
            flags = 0;
        return vm.Memslots.Add(0, m, flags: flags);
    }
}
//// case: ok-flags-gmem-mmap-local
class F9
{
    public GmemFd Make(GuestMemfdFeature f)
    {
        var flags = GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP;
        flags |= GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED;
        return f.Create(0x10000, flags);
    }
}
//// case: ok-struct-gmem-flags
class F10
{
    public kvm_userspace_memory_region2 Region(uint fd)
    {
        uint flags = (uint)KvmMemFlags.KVM_MEM_GUEST_MEMFD;
        return new kvm_userspace_memory_region2 { slot = 2, flags = flags, guest_memfd = fd, guest_phys_addr = 0x100000, memory_size = 0x100000 };
    }
}
//// case: ok-flags-from-feature
class F11
{
    public GmemFd Make(GuestMemfdFeature f) => f.Create(0x10000, f.SupportedFlags & GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP);
}
//// case: zero-gmem-size
class Z1
{
    public GmemFd Make(GuestMemfdFeature f) => f.Create(0); // expect: KVM1009
}
//// case: zero-host-memory-local
class Z2
{
    public HostMemory Ram(KvmSystem kvm)
    {
        ulong size = 0;
        return kvm.AllocateHostMemory(size); // expect: KVM1009
    }
}
//// case: zero-attributes-size
class Z3
{
    public void Share(VmFd vm) => vm.MemoryAttributes?.Set(0x100000, 0, 0); // expect: KVM1009
}
//// case: zero-punch-hole
class Z4
{
    static readonly ulong Length = 0;
    public void Drop(GmemFd g) => g.PunchHole(0x1000, Length); // expect: KVM1009
}
//// case: zero-user-memory-deletes
class Z5
{
    public SlotHandle Map(VmFd vm, nint host) => vm.Memslots.AddUserMemory(0x100000, host, 0); // expect: KVM1009
}
//// case: zero-to-shared
class Z6
{
    public void Share(IGuestMemoryConversion c, bool all)
    {
        var size = all ? 0UL : 0UL;
        c.ToShared(0x100000, size); // expect: KVM1009
    }
}
//// case: zero-allocate
class Z7
{
    public void Reserve(GmemFd g) => g.Allocate(0, 0); // expect: KVM1009
}
//// case: ok-zero-size-means-whole-mapping
class Z8
{
    public SlotHandle Map(VmFd vm, HostMemory m) => vm.Memslots.Add(0, m, 0, 0);
}
//// case: ok-size-reassigned-nonzero
class Z9
{
    public GmemFd Make(GuestMemfdFeature f, bool big)
    {
        ulong size = 0;
        size = big ? 0x200000UL : 0x1000UL;
        return f.Create(size);
    }
}
//// case: ok-attributes-zero-attr-nonzero-size
class Z10
{
    public void Share(VmFd vm) => vm.MemoryAttributes?.Set(0, 0x1000, 0);
}
