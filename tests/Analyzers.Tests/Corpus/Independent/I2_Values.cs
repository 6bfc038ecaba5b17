// Independent corpus (issue #15), written blind from docs/diagnostics/*.md: KVM1003 alignment, KVM1009 zero sizes,
// KVM1004 flags, KVM1015 raw structs - values that reach the call through locals, fields, ternaries and switches.
using System;
using System.Collections.Generic;
using System.Linq;
using Kvm;
using Kvm.Interop;
//// case: i-1003-local-size
class Ram
{
    static void Setup(GuestMemfdFeature f)
    {
        ulong size = 0x1800;
        using var g = f.Create(size); // expect: KVM1003
    }
}
//// case: i-1003-const-field-gpa
class Ram
{
    const ulong MmioHole = 0xFEC0_0800;

    static void Setup(VmFd vm, HostMemory ram)
    {
        vm.Memslots.Add(MmioHole, ram); // expect: KVM1003
    }
}
//// case: i-1003-static-readonly-size
class Ram
{
    static readonly ulong RamSize = 64 * 1024 * 1024 + 512;

    static void Setup(KvmSystem kvm)
    {
        using var ram = kvm.AllocateHostMemory(RamSize); // expect: KVM1003
    }
}
//// case: i-1003-ternary-both-unaligned
class Ram
{
    static void Setup(GuestMemfdFeature f, bool big)
    {
        var size = big ? 0x20_0100UL : 0x1100UL;
        using var g = f.Create(size); // expect: KVM1003
    }
}
//// case: i-1003-compound-offset
class Balloon
{
    static void Release(GmemFd gmem)
    {
        ulong offset = 0x10_0000;
        offset += 0x200;
        gmem.PunchHole(offset, 0x1000); // expect: KVM1003
    }
}
//// case: i-1003-switch-size
class Ram
{
    static void Setup(GuestMemfdFeature f, int profile)
    {
        ulong size = profile switch { 0 => 0x1001, 1 => 0x2001, _ => 0x3001 };
        using var g = f.Create(size); // expect: KVM1003
    }
}
//// case: i-1003-raw-region-gpa-local
class Raw
{
    static kvm_userspace_memory_region2 Build(ulong host)
    {
        ulong gpa = 0x8000_0800;
        return new kvm_userspace_memory_region2
        {
            slot = 1,
            guest_phys_addr = gpa, // expect: KVM1003
            memory_size = 0x10000,
            userspace_addr = host,
        };
    }
}
//// case: i-1003-raw-region-size-assigned-later
class Raw
{
    static kvm_userspace_memory_region Build(ulong host)
    {
        var r = new kvm_userspace_memory_region { slot = 0, userspace_addr = host };
        r.memory_size = 0x10010; // expect: KVM1003
        return r;
    }
}
//// case: i-1003-raw-attributes-size
class Raw
{
    static kvm_memory_attributes Build() => new()
    {
        address = 0x1000,
        size = 0x800, // expect: KVM1003
        attributes = (ulong)KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE,
    };
}
//// case: i-1003-raw-create-guest-memfd
class Raw
{
    static kvm_create_guest_memfd Build()
    {
        const ulong Size = 12345;
        return new kvm_create_guest_memfd { size = Size }; // expect: KVM1003
    }
}
//// case: i-1003-raw-prefault-gpa
class Raw
{
    static kvm_pre_fault_memory Build() => new() { gpa = 0x10, size = 0x1000 }; // expect: KVM1003
}
//// case: i-1003-conversion-size
class Convert
{
    static void Share(IGuestMemoryConversion conv)
    {
        conv.ToShared(0x1000, 0x1800); // expect: KVM1003
    }
}
//// case: i-1003-attributes-gpa-const-expression
class Convert
{
    const ulong Base = 0x10_0000;

    static void Private(MemoryAttributesFeature attrs)
    {
        attrs.Set(Base + 0x10, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE); // expect: KVM1003
    }
}
//// case: i-1003-allocate-length
class Ram
{
    static void Prefill(GmemFd gmem)
    {
        var length = 100UL;
        gmem.Allocate(0, length); // expect: KVM1003
    }
}
//// case: i-1003-slot-gmem-offset
class Ram
{
    static void Bind(VmFd vm, GmemFd g, HostMemory shared)
    {
        vm.Memslots.Add(0x100000, g, gmemOffset: 0x10, size: 0x100000, shared: shared); // expect: KVM1003
    }
}
//// case: i-1003-add-user-memory-size
class Ram
{
    static void Bind(VmFd vm, nint host)
    {
        ulong pages = 3;
        vm.Memslots.AddUserMemory(0, host, pages * 1000); // expect: KVM1003
    }
}
//// case: i-1003-ok-byte-granular-io
class Loader
{
    static void Load(HostMemory ram, byte[] bootParams)
    {
        ram.Write(0x7C00 + 3, bootParams);
        Span<byte> sig = stackalloc byte[2];
        ram.Read(0x1FE, sig);
        using var lease = ram.Lease(0x10, 8);
        lease.Span.Clear();
    }
}
//// case: i-1003-ok-aligned-through-locals
class Ram
{
    const ulong Mib = 1 << 20;
    static readonly ulong LowRam = 512 * Mib;

    static void Setup(KvmSystem kvm, VmFd vm, bool big)
    {
        var size = big ? 4 * LowRam : LowRam;
        using var ram = kvm.AllocateHostMemory(size);
        vm.Memslots.Add(0, ram);
        using var g = vm.GuestMemfd?.Create(2 * Mib);
    }
}
//// case: i-1003-ok-runtime-sizes
class Ram
{
    static void Mirror(VmFd vm, GmemFd g, HostMemory shared, ulong gpa)
    {
        vm.Memslots.Add(gpa, g, 0, g.Size, shared);
        g.Allocate(0, g.Size);
    }
}
//// case: i-1003-ok-get-state-unaligned
class Inspect
{
    static bool IsPrivate(GmemFd g) => g.GetState(0x1234) == PageState.Private;
}
//// case: i-1003-ok-raw-region-aligned
class Raw
{
    static kvm_userspace_memory_region2 Build(ulong host, uint gmemFd)
    {
        ulong gpa = 0x1_0000_0000;
        var r = new kvm_userspace_memory_region2
        {
            slot = 2,
            flags = (uint)KvmMemFlags.KVM_MEM_GUEST_MEMFD,
            guest_phys_addr = gpa,
            memory_size = 0x20_0000,
            userspace_addr = host,
            guest_memfd = gmemFd,
            guest_memfd_offset = 0x20_0000,
        };
        return r;
    }
}
//// case: i-1009-local-zero-alloc
class Ram
{
    static void Extra(KvmSystem kvm)
    {
        ulong extra = 0;
        using var ram = kvm.AllocateHostMemory(extra); // expect: KVM1009
    }
}
//// case: i-1009-static-readonly-zero
class Ram
{
    static readonly ulong Reserve = 0;

    static void Setup(GuestMemfdFeature f)
    {
        using var g = f.Create(Reserve); // expect: KVM1009
    }
}
//// case: i-1009-const-hole-length
class Balloon
{
    const ulong Hole = 0;

    static void Release(GmemFd g)
    {
        g.PunchHole(0x1000, Hole); // expect: KVM1009
    }
}
//// case: i-1009-attributes-size-zero
class Convert
{
    static void Private(MemoryAttributesFeature attrs, ulong gpa)
    {
        attrs.Set(gpa, 0, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE); // expect: KVM1009
    }
}
//// case: i-1009-conversion-zero-ternary
class Convert
{
    static void Share(IGuestMemoryConversion conv, bool all)
    {
        ulong size = all ? 0UL : 0UL;
        conv.ToShared(0x200000, size); // expect: KVM1009
    }
}
//// case: i-1009-add-user-memory-zero
class Ram
{
    static void Bind(VmFd vm, nint host)
    {
        const ulong Size = 0;
        vm.Memslots.AddUserMemory(0x100000, host, Size); // expect: KVM1009
    }
}
//// case: i-1009-memfd-zero
class Ram
{
    static void Setup(KvmSystem kvm)
    {
        var size = 0UL;
        using var m = kvm.AllocateMemfd(size); // expect: KVM1009
    }
}
//// case: i-1009-try-allocate-zero
class Ram
{
    static bool Prefill(GmemFd g)
    {
        ulong len = 0;
        return g.TryAllocate(0, len).IsSuccess; // expect: KVM1009
    }
}
//// case: i-1009-try-to-private-zero
class Convert
{
    static KvmResult Private(IGuestMemoryConversion conv) => conv.TryToPrivate(0x1000, 0); // expect: KVM1009
}
//// case: i-1009-ok-slot-size-zero-means-whole
class Ram
{
    static void Setup(VmFd vm, HostMemory ram)
    {
        vm.Memslots.Add(0, ram, size: 0);
    }
}
//// case: i-1009-ok-zero-then-set
class Ram
{
    static void Setup(KvmSystem kvm, bool withExtra)
    {
        ulong extra = 0;
        if (withExtra)
            extra = 0x10_0000;
        if (extra != 0)
        {
            using var ram = kvm.AllocateHostMemory(extra);
            Console.WriteLine(ram.Length);
        }
    }
}
//// case: i-1009-ok-guarded-runtime-zero
class Balloon
{
    static void Release(GmemFd g, ulong offset, ulong len)
    {
        if (len == 0)
            return;
        g.PunchHole(offset, len);
    }
}
//// case: i-1004-flags-or-assign-readonly
class Raw
{
    static kvm_userspace_memory_region2 Build(uint fd)
    {
        var flags = KvmMemFlags.KVM_MEM_GUEST_MEMFD;
        flags |= KvmMemFlags.KVM_MEM_READONLY;
        var r = new kvm_userspace_memory_region2 { slot = 0, memory_size = 0x1000, guest_memfd = fd };
        r.flags = (uint)flags; // expect: KVM1004
        return r;
    }
}
//// case: i-1004-static-readonly-flags
class Raw
{
    static readonly KvmMemFlags SlotFlags = KvmMemFlags.KVM_MEM_GUEST_MEMFD | KvmMemFlags.KVM_MEM_LOG_DIRTY_PAGES;

    static kvm_userspace_memory_region2 Build(uint fd) => new()
    {
        flags = (uint)SlotFlags, // expect: KVM1004
        memory_size = 0x1000,
        guest_memfd = fd,
    };
}
//// case: i-1004-ternary-both-refused
class Raw
{
    static kvm_userspace_memory_region2 Build(uint fd, bool ro)
    {
        var extra = ro ? KvmMemFlags.KVM_MEM_READONLY : KvmMemFlags.KVM_MEM_LOG_DIRTY_PAGES;
        return new kvm_userspace_memory_region2
        {
            flags = (uint)(KvmMemFlags.KVM_MEM_GUEST_MEMFD | extra), // expect: KVM1004
            memory_size = 0x1000,
            guest_memfd = fd,
        };
    }
}
//// case: i-1004-v1-region-guest-memfd
class Raw
{
    static kvm_userspace_memory_region Build(ulong host)
    {
        var r = new kvm_userspace_memory_region { slot = 3, memory_size = 0x1000, userspace_addr = host };
        r.flags = (uint)KvmMemFlags.KVM_MEM_GUEST_MEMFD; // expect: KVM1004
        return r;
    }
}
//// case: i-1004-create-unknown-flag-local
class Ram
{
    static void Setup(GuestMemfdFeature f)
    {
        var flags = GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | (GuestMemfdFlags)0x100;
        using var g = f.Create(0x10000, flags); // expect: KVM1004
    }
}
//// case: i-1004-raw-create-unknown-flag
class Raw
{
    static kvm_create_guest_memfd Build() => new() { size = 0x10000, flags = 1UL << 40 }; // expect: KVM1004
}
//// case: i-1004-host-slot-guest-memfd-flag
class Ram
{
    static void Setup(VmFd vm, HostMemory ram)
    {
        var flags = KvmMemFlags.KVM_MEM_GUEST_MEMFD;
        vm.Memslots.Add(0, ram, flags: flags); // expect: KVM1004
    }
}
//// case: i-1004-user-memory-unknown-bit
class Ram
{
    static void Setup(VmFd vm, nint host)
    {
        vm.Memslots.AddUserMemory(0, host, 0x10000, (KvmMemFlags)0x10); // expect: KVM1004
    }
}
//// case: i-1004-switch-flags
class Raw
{
    static kvm_userspace_memory_region2 Build(uint fd, int mode)
    {
        var extra = mode switch { 0 => KvmMemFlags.KVM_MEM_READONLY, _ => KvmMemFlags.KVM_MEM_LOG_DIRTY_PAGES };
        var r = new kvm_userspace_memory_region2 { memory_size = 0x1000, guest_memfd = fd };
        r.flags = (uint)(extra | KvmMemFlags.KVM_MEM_GUEST_MEMFD); // expect: KVM1004
        return r;
    }
}
//// case: i-1004-try-create-unknown
class Ram
{
    static GmemFd? Setup(GuestMemfdFeature f)
    {
        var r = f.TryCreate(0x10000, (GuestMemfdFlags)4, out var g); // expect: KVM1004
        return r.IsSuccess ? g : null;
    }
}
//// case: i-1004-ok-readonly-host-slot
class Rom
{
    static void Map(VmFd vm, HostMemory bios)
    {
        var flags = KvmMemFlags.KVM_MEM_READONLY;
        vm.Memslots.Add(0xFFFF_0000, bios, flags: flags);
    }
}
//// case: i-1004-ok-v1-dirty-log
class Raw
{
    static kvm_userspace_memory_region Build(ulong host)
    {
        var r = new kvm_userspace_memory_region { slot = 0, memory_size = 0x10000, userspace_addr = host };
        r.flags |= (uint)KvmMemFlags.KVM_MEM_LOG_DIRTY_PAGES;
        return r;
    }
}
//// case: i-1004-ok-supported-flags-at-runtime
class Ram
{
    static void Setup(GuestMemfdFeature f)
    {
        var flags = f.SupportedFlags & (GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
        using var g = f.Create(0x20_0000, flags);
        Console.WriteLine(g.IsMappable);
    }
}
//// case: i-1004-ok-ternary-dirty-log-host-slot
class Ram
{
    static void Setup(VmFd vm, HostMemory ram, bool track)
    {
        var flags = track ? KvmMemFlags.KVM_MEM_LOG_DIRTY_PAGES : 0;
        vm.Memslots.Add(0, ram, flags: flags);
    }
}
//// case: i-1015-attributes-flags-literal
class Raw
{
    static kvm_memory_attributes Build() => new()
    {
        address = 0x10_0000,
        size = 0x1000,
        flags = 1, // expect: KVM1015
    };
}
//// case: i-1015-attributes-flags-local
class Raw
{
    static kvm_memory_attributes Build(ulong gpa)
    {
        ulong reserved = 2;
        var a = new kvm_memory_attributes { address = gpa, size = 0x1000 };
        a.flags = reserved; // expect: KVM1015
        return a;
    }
}
//// case: i-1015-region-gmem-without-flag
class Raw
{
    static kvm_userspace_memory_region2 Build(uint gmemFd, ulong host)
    {
        return new kvm_userspace_memory_region2
        {
            slot = 4,
            flags = (uint)KvmMemFlags.KVM_MEM_LOG_DIRTY_PAGES,
            memory_size = 0x10000,
            userspace_addr = host,
            guest_memfd = gmemFd, // expect: KVM1015
        };
    }
}
//// case: i-1015-region-offset-without-flag
class Raw
{
    static kvm_userspace_memory_region2 Build(ulong host)
    {
        var r = new kvm_userspace_memory_region2 { slot = 1, memory_size = 0x10000, userspace_addr = host };
        r.guest_memfd_offset = 0x10000; // expect: KVM1015
        return r;
    }
}
//// case: i-1015-region-flags-local-without-gmem
class Raw
{
    static kvm_userspace_memory_region2 Build(uint fd)
    {
        var flags = KvmMemFlags.KVM_MEM_LOG_DIRTY_PAGES;
        var r = new kvm_userspace_memory_region2 { slot = 1, memory_size = 0x10000 };
        r.flags = (uint)flags;
        r.guest_memfd = fd; // expect: KVM1015
        return r;
    }
}
//// case: i-1015-ok-flag-set-later
// why: the page looks at "every r.flags = ..."; a demanding user reads `r.flags |= GUEST_MEMFD` as one of them.
class Raw
{
    static kvm_userspace_memory_region2 Build(uint fd)
    {
        var r = new kvm_userspace_memory_region2 { slot = 1, memory_size = 0x10000, guest_memfd = fd };
        r.flags |= (uint)KvmMemFlags.KVM_MEM_GUEST_MEMFD;
        return r;
    }
}
//// case: i-1015-ok-attributes-flags-zero
class Raw
{
    static kvm_memory_attributes Build(ulong gpa) => new()
    {
        address = gpa,
        size = 0x1000,
        attributes = (ulong)KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE,
        flags = 0,
    };
}
//// case: i-1015-ok-gmem-zero-without-flag
class Raw
{
    static kvm_userspace_memory_region2 Build(ulong host) => new()
    {
        slot = 0,
        memory_size = 0x10000,
        userspace_addr = host,
        guest_memfd = 0,
        guest_memfd_offset = 0,
    };
}
//// case: i-1015-ok-flags-through-local
class Raw
{
    static kvm_userspace_memory_region2 Build(uint fd, ulong offset)
    {
        var flags = KvmMemFlags.KVM_MEM_GUEST_MEMFD;
        return new kvm_userspace_memory_region2
        {
            flags = (uint)flags,
            memory_size = 0x10000,
            guest_memfd = fd,
            guest_memfd_offset = offset,
        };
    }
}
