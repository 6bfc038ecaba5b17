using Kvm.Interop;

namespace Kvm.Tests.Typed;

/// <summary>Dirty log, dirty ring, slot updates, pre-fault and coalesced MMIO over the fake kernel: every rule the
/// kernel answers with an errno is refused before the syscall, the structs carry what the kernel reads, and the ring
/// readers follow the kernel's protocol without allocating.</summary>
public unsafe class MemoryTrackingRuleTests
{
    private static readonly ulong Page = (ulong)Environment.SystemPageSize;

    private static string Ioctl(nuint request) => $"ioctl 0x{(ulong)request:X}";

    private static (FakeSyscalls Sys, KvmSystem Kvm, VmFd Vm) NewVm()
    {
        var sys = new FakeSyscalls();
        sys.Caps[(int)KvmCap.KVM_CAP_ENABLE_CAP_VM] = 1;
        sys.Caps[(int)KvmCap.KVM_CAP_DIRTY_LOG_RING_ACQ_REL] = 65536;
        sys.Caps[(int)KvmCap.KVM_CAP_PRE_FAULT_MEMORY] = 1;
        sys.Caps[(int)KvmCap.KVM_CAP_COALESCED_MMIO] = 2;
        sys.Caps[(int)KvmCap.KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2] = 3;
        var kvm = KvmSystem.OpenWith(sys);
        return (sys, kvm, kvm.CreateVm(VmType.X86Default));
    }

    [Fact]
    public void FeaturesAreNullWithoutTheirCapabilities()
    {
        using var kvm = KvmSystem.OpenWith(new FakeSyscalls());
        using var vm = kvm.CreateVm();
        Assert.Null(vm.DirtyRing);
        Assert.Null(vm.PreFault);
        Assert.Null(vm.CoalescedMmio);
        var (_, _, full) = NewVm();
        Assert.NotNull(full.DirtyRing);
        Assert.True(full.DirtyRing!.AcquireRelease);
        Assert.Equal(65536, full.DirtyRing.MaxBytes);
        Assert.NotNull(full.PreFault);
        Assert.Equal(2, full.CoalescedMmio!.RingPageOffset);
        Assert.False(full.CoalescedMmio.SupportsPio);
    }

    [Fact]
    public void DirtyLogBitmapRulesAreCheckedBeforeTheIoctl()
    {
        var (sys, kvm, vm) = NewVm();
        using var host = kvm.AllocateHostMemory(128 * Page);
        using var slot = vm.Memslots.Add(0x100000, host);
        var bitmap = DirtyBitmap.For(slot);
        Assert.Throws<ArgumentException>(() => slot.GetDirtyLog(bitmap));              // not logging: ENOENT
        Assert.Throws<ArgumentException>(() => slot.ClearDirtyLog(bitmap));
        slot.SetDirtyLogging(true);
        Assert.Throws<ArgumentException>(() => slot.GetDirtyLog(new DirtyBitmap(64))); // too small for 128 pages
        Assert.Throws<ArgumentOutOfRangeException>(() => slot.ClearDirtyLog(bitmap, firstPage: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => slot.ClearDirtyLog(bitmap, firstPage: 128));
        Assert.Throws<ArgumentOutOfRangeException>(() => slot.ClearDirtyLog(bitmap, firstPage: 0, pageCount: 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => slot.ClearDirtyLog(bitmap, firstPage: 64, pageCount: 65));
        Assert.Throws<ArgumentOutOfRangeException>(() => slot.ClearDirtyLog(bitmap, firstPage: 0, pageCount: 0));
        Assert.Equal(0, sys.Count(Ioctl(KvmIoctls.KVM_GET_DIRTY_LOG.Value)));
        Assert.Equal(0, sys.Count(Ioctl(KvmIoctls.KVM_CLEAR_DIRTY_LOG.Value)));

        kvm_clear_dirty_log seen = default;
        sys.Handlers[KvmIoctls.KVM_CLEAR_DIRTY_LOG.Value] = (_, _, arg) => { seen = *(kvm_clear_dirty_log*)arg; return 0; };
        slot.ClearDirtyLog(bitmap, firstPage: 64, pageCount: 64);
        Assert.Equal(64UL, seen.first_page);
        Assert.Equal(64u, seen.num_pages);
        Assert.Equal((uint)slot.Id, seen.slot);
        fixed (ulong* words = bitmap.Words)
            Assert.Equal((nint)(words + 1), seen.dirty_bitmap); // the words of page 64 onwards
        slot.ClearDirtyLog(bitmap, firstPage: 64); // null: to the slot's end
        Assert.Equal(64u, seen.num_pages);
    }

    [Fact]
    public void DirtyLogFillsTheBitmapAndWalksItWithoutAllocating()
    {
        var (sys, kvm, vm) = NewVm();
        using var host = kvm.AllocateHostMemory(130 * Page);
        using var slot = vm.Memslots.Add(0x100000, host, flags: KvmMemFlags.KVM_MEM_LOG_DIRTY_PAGES);
        sys.Handlers[KvmIoctls.KVM_GET_DIRTY_LOG.Value] = (_, _, arg) =>
        {
            var log = (kvm_dirty_log*)arg;
            var words = (ulong*)log->dirty_bitmap;
            words[0] = 0b1010;
            words[1] = 1UL << 63;
            words[2] = 0b10;
            return 0;
        };
        var bitmap = DirtyBitmap.For(slot);
        slot.GetDirtyLog(bitmap);
        var pages = new List<ulong>();
        foreach (var p in bitmap)
            pages.Add(p);
        Assert.Equal([1UL, 3, 127, 129], pages);
        Assert.Equal(0x100000 + 129 * Page, bitmap.GpaOf(129));

        sys.Record = false; // the fake's call log allocates; the SDK must not
        slot.GetDirtyLog(bitmap);
        var before = GC.GetAllocatedBytesForCurrentThread();
        ulong sum = 0;
        for (var i = 0; i < 100; i++)
        {
            slot.GetDirtyLog(bitmap);
            foreach (var p in bitmap)
                sum += p;
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(100UL * (1 + 3 + 127 + 129), sum);
    }

    [Fact]
    public void SlotUpdatesTheKernelRefusesAreRefusedFirst()
    {
        var (sys, kvm, vm) = NewVm();
        using var host = kvm.AllocateHostMemory(4 * Page);
        using var a = vm.Memslots.Add(0, host, 0, Page);
        using var b = vm.Memslots.Add(0x100000, host, Page, Page);
        using var gmem = vm.GuestMemfd!.Create(Page, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
        using var map = gmem.Map();
        using var g = vm.Memslots.Add(0x200000, map);
        var sets = sys.Count(Ioctl(KvmIoctls.KVM_SET_USER_MEMORY_REGION2.Value));

        Assert.Throws<ArgumentException>(() => g.MoveTo(0x300000));            // guest_memfd slots are immutable
        Assert.Throws<ArgumentException>(() => g.SetDirtyLogging(true));
        Assert.Throws<ArgumentException>(() => b.SetFlags(KvmMemFlags.KVM_MEM_READONLY));
        Assert.Throws<ArgumentException>(() => b.MoveTo(0));                   // onto slot a: EEXIST
        Assert.Throws<ArgumentOutOfRangeException>(() => b.MoveTo(0x100001));
        Assert.Equal(sets, sys.Count(Ioctl(KvmIoctls.KVM_SET_USER_MEMORY_REGION2.Value)));
        Assert.Same(b, vm.Memslots.Find(0x100000));
        b.MoveTo(0x100000);                                                    // no change: no ioctl
        Assert.Equal(sets, sys.Count(Ioctl(KvmIoctls.KVM_SET_USER_MEMORY_REGION2.Value)));

        kvm_userspace_memory_region2 seen = default;
        sys.Handlers[KvmIoctls.KVM_SET_USER_MEMORY_REGION2.Value] = (_, _, arg) => { seen = *(kvm_userspace_memory_region2*)arg; return 0; };
        b.MoveTo(0x100000 + Page); // overlapping its own old range is fine
        Assert.Equal(0x100000 + Page, seen.guest_phys_addr);
        Assert.Equal(Page, seen.memory_size);
        Assert.Equal((uint)b.Id, seen.slot);
        Assert.Same(b, vm.Memslots.Find(0x100000 + Page));
        Assert.Null(vm.Memslots.Find(0x100000));
        b.SetDirtyLogging(true);
        Assert.Equal((uint)KvmMemFlags.KVM_MEM_LOG_DIRTY_PAGES, seen.flags);
        Assert.Equal(0x100000 + Page, seen.guest_phys_addr);

        sys.Handlers[KvmIoctls.KVM_SET_USER_MEMORY_REGION2.Value] = (_, _, _) => -(int)Errno.EPERM;
        Assert.Throws<KvmException>(() => b.MoveTo(0x400000));
        Assert.Same(b, vm.Memslots.Find(0x100000 + Page));                    // a refused move changes nothing
        Assert.Null(vm.Memslots.Find(0x400000));
        sys.Handlers.TryRemove(KvmIoctls.KVM_SET_USER_MEMORY_REGION2.Value, out _);
    }

    [Fact]
    public void DirtyRingRulesAndHarvestFollowTheKernelProtocol()
    {
        var (sys, kvm, vm) = NewVm();
        var ring = vm.DirtyRing!;
        var enables = sys.Count(Ioctl(KvmIoctls.KVM_ENABLE_CAP.Value));
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.Enable(3 * 4096));
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.Enable(1024));
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.Enable(131072));
        Assert.Equal(enables, sys.Count(Ioctl(KvmIoctls.KVM_ENABLE_CAP.Value)));
        Assert.Throws<InvalidOperationException>(() => ring.Reset());

        ring.Enable(4096);
        Assert.Equal(256, ring.Entries);
        using var host = kvm.AllocateHostMemory(16 * Page);
        using var slot = vm.Memslots.Add(0x100000, host, flags: KvmMemFlags.KVM_MEM_LOG_DIRTY_PAGES);
        using var vcpu = vm.CreateVcpu(0);
        int fd;
        using (var b = vcpu.BorrowFd())
            fd = b.Value;
        var entries = (kvm_dirty_gfn*)sys.Mappings[fd]; // the ring was mapped last
        Assert.NotEqual((nint)vcpu.MappedRun, (nint)entries);
        Assert.Throws<ArgumentException>(() => vm.DirtyRing!.Enable(4096));

        // Two entries, the second one wrapping around the end of the ring.
        entries[0] = new kvm_dirty_gfn { slot = (uint)slot.Id, offset = 5, flags = 1 };
        entries[1] = new kvm_dirty_gfn { slot = (uint)slot.Id, offset = 2, flags = 1 };
        entries[2] = new kvm_dirty_gfn { slot = 77, offset = 0, flags = 0 };
        var pages = new DirtyPage[8];
        var n = vcpu.DirtyRing!.Harvest(pages);
        Assert.Equal(2, n);
        Assert.Equal(new DirtyPage(slot.Id, 0, 5, 0x100000 + 5 * Page), pages[0]);
        Assert.Equal(new DirtyPage(slot.Id, 0, 2, 0x100000 + 2 * Page), pages[1]);
        Assert.Equal(2u, entries[0].flags);                                     // KVM_DIRTY_GFN_F_RESET
        Assert.Equal(2u, entries[1].flags);
        entries[2] = new kvm_dirty_gfn { slot = 77, offset = 0, flags = 1 };    // a slot the table does not know
        // Allocation is measured on this second harvest: the first one may load types and allocate once (seen as a
        // rare failure when the whole suite ran in parallel).
        var before = GC.GetAllocatedBytesForCurrentThread();
        var again = vcpu.DirtyRing.Harvest(pages);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(1, again);
        Assert.Equal(ulong.MaxValue, pages[0].Gpa);
        Assert.Equal(3, vcpu.DirtyRing.Harvested);

        sys.Handlers[KvmIoctls.KVM_RESET_DIRTY_RINGS.Value] = (_, _, _) => 3;
        Assert.Equal(3, ring.Reset());
        Assert.Throws<ArgumentException>(() => slot.GetDirtyLog(DirtyBitmap.For(slot))); // ENXIO on the ring
    }

    [Fact]
    public void DirtyRingAfterTheFirstVcpuIsRefusedBeforeEnableCap()
    {
        var (sys, _, vm) = NewVm();
        vm.CreateVcpu(0).Dispose();
        var enables = sys.Count(Ioctl(KvmIoctls.KVM_ENABLE_CAP.Value));
        Assert.Throws<ArgumentException>(() => vm.DirtyRing!.Enable(4096));
        Assert.Equal(enables, sys.Count(Ioctl(KvmIoctls.KVM_ENABLE_CAP.Value)));
    }

    [Fact]
    public void PreFaultLoopsOverPartialProgressAndReportsWhereItStopped()
    {
        var (sys, _, vm) = NewVm();
        using var vcpu = vm.CreateVcpu(0);
        var calls = 0;
        ulong end = 0x10000 + 4 * Page; // no slot beyond this
        sys.Handlers[KvmIoctls.KVM_PRE_FAULT_MEMORY.Value] = (_, _, arg) =>
        {
            var r = (kvm_pre_fault_memory*)arg;
            calls++;
            if (calls % 2 == 0)
                return -(int)Errno.EINTR;       // interrupted: retried
            if (r->gpa >= end)
                return -(int)Errno.ENOENT;
            r->gpa += Page;                      // one page per call, like a kernel under pressure
            r->size -= Page;
            return 0;
        };
        vm.PreFault!.PreFaultMemory(vcpu, 0x10000, 4 * Page);
        Assert.Equal(7, calls);
        calls = 0;
        var result = vm.PreFault.TryPreFaultMemory(vcpu, 0x10000 + 2 * Page, 8 * Page, out var mapped);
        Assert.Equal(Errno.ENOENT, result.Errno);
        Assert.Equal(2 * Page, mapped);
        var e = Assert.Throws<KvmException>(() => vm.PreFault.PreFaultMemory(vcpu, 0x10000, 8 * Page));
        Assert.Contains("after 0x" + (4 * Page).ToString("X") + " bytes", e.Message);

        calls = 0;
        Assert.Throws<ArgumentOutOfRangeException>(() => vm.PreFault.PreFaultMemory(vcpu, 0x10001, Page));
        Assert.Throws<ArgumentOutOfRangeException>(() => vm.PreFault.PreFaultMemory(vcpu, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => vm.PreFault.PreFaultMemory(vcpu, ulong.MaxValue - Page + 1, Page));
        var (_, _, other) = NewVm();
        using var foreign = other.CreateVcpu(0);
        Assert.Throws<ArgumentException>(() => vm.PreFault.PreFaultMemory(foreign, 0x10000, Page));
        Assert.Equal(0, calls);
    }

    [Fact]
    public void CoalescedZonesAreOwnedAndTheRingDrainsInOrderAcrossTheWrap()
    {
        var (sys, _, vm) = NewVm();
        var coalesced = vm.CoalescedMmio!;
        Assert.Throws<ArgumentException>(() => coalesced.Register(0x10, 1, pio: true)); // no KVM_CAP_COALESCED_PIO
        Assert.Throws<ArgumentOutOfRangeException>(() => coalesced.Register(0xF0000, 0));
        var zone = coalesced.Register(0xF0000, 0x1000);
        Assert.Throws<ArgumentException>(() => coalesced.Register(0xF0800, 0x1000));     // overlap
        Assert.Equal(1, sys.Count(Ioctl(KvmIoctls.KVM_REGISTER_COALESCED_MMIO.Value)));
        zone.Dispose();
        zone.Dispose();
        Assert.Equal(1, sys.Count(Ioctl(KvmIoctls.KVM_UNREGISTER_COALESCED_MMIO.Value)));
        using var again = coalesced.Register(0xF0800, 0x1000);                           // disjoint again

        using var vcpu = vm.CreateVcpu(0);
        var ring = (kvm_coalesced_mmio_ring*)(vcpu.MappedRun + 2 * Environment.SystemPageSize);
        var e = (kvm_coalesced_mmio*)(ring + 1);
        var cap = (uint)coalesced.Capacity;
        e[cap - 1] = new kvm_coalesced_mmio { phys_addr = 0xF0000, len = 1 };
        e[cap - 1].data[0] = 0xAB;
        e[0] = new kvm_coalesced_mmio { phys_addr = 0xF0002, len = 2 };
        e[0].data[0] = 0x33;
        e[0].data[1] = 0x44;
        ring->first = cap - 1;
        ring->last = 1;
        var into = new CoalescedMmioEntry[4];
        var before = GC.GetAllocatedBytesForCurrentThread();
        var n = coalesced.Drain(vcpu, into);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal([new CoalescedMmioEntry(0xF0000, 1, false, 0xAB), new CoalescedMmioEntry(0xF0002, 2, false, 0x4433)], into[..n]);
        Assert.Equal(1u, ring->first);
        Assert.Equal(0, coalesced.Drain(vcpu, into));

        vm.Dispose();
        Assert.True(again.IsUnregistered);
    }
}
