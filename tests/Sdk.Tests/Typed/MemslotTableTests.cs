using Kvm.Interop;

namespace Kvm.Tests.Typed;

/// <summary>The memslot table's indexes: lowest-free id allocation, per-address-space overlap, lookups at range
/// boundaries, and a full table of 32,764 slots with automatic ids (quadratic before, so too slow to try).</summary>
public unsafe class MemslotTableTests
{
    private static readonly ulong Page = (ulong)Environment.SystemPageSize;

    private static (FakeSyscalls Sys, KvmSystem Kvm, VmFd Vm) NewVm()
    {
        var sys = new FakeSyscalls();
        var kvm = KvmSystem.OpenWith(sys);
        return (sys, kvm, kvm.CreateVm(VmType.X86Default));
    }

    [Fact]
    public void AutomaticIdsReuseTheLowestFreedIdAfterDeletesInAnyOrder()
    {
        var (_, kvm, vm) = NewVm();
        using var host = kvm.AllocateHostMemory(Page);
        var slots = Enumerable.Range(0, 64).Select(i => vm.Memslots.Add((ulong)i * Page, host)).ToList();
        Assert.Equal(Enumerable.Range(0, 64), slots.Select(s => s.Id));
        var random = new Random(11);
        var deleted = slots.OrderBy(_ => random.Next()).Take(20).ToList();
        foreach (var s in deleted)
            s.Dispose();
        // Re-adding hands the freed ids back lowest first, then continues after the highest id ever used.
        var expected = deleted.Select(s => s.Id).Order().Append(64).Append(65).ToList();
        var readded = expected.Select((_, i) => vm.Memslots.Add((ulong)(100 + i) * Page, host).Id).ToList();
        Assert.Equal(expected, readded);
    }

    [Fact]
    public void AnExplicitIdLeavesTheIdsBelowItForAutomaticAllocation()
    {
        var (_, kvm, vm) = NewVm();
        using var host = kvm.AllocateHostMemory(Page);
        Assert.Equal(10, vm.Memslots.Add(0, host, slot: 10).Id);
        Assert.Equal(0, vm.Memslots.Add(Page, host).Id);
        Assert.Equal(4, vm.Memslots.Add(2 * Page, host, slot: 4).Id);
        Assert.Equal([1, 2, 3, 5, 6, 7, 8, 9, 11], Enumerable.Range(0, 9).Select(i => vm.Memslots.Add((ulong)(3 + i) * Page, host).Id));
        var inUse = Assert.Throws<ArgumentException>(() => vm.Memslots.Add(100 * Page, host, slot: 4));
        Assert.Contains($"slot 0:4 is in use (slot 0:4 [0x{2 * Page:X}, 0x{3 * Page:X}))", inUse.Message);
    }

    [Fact]
    public void OverlapIsPerAddressSpace()
    {
        var (_, kvm, vm) = NewVm();
        using var host = kvm.AllocateHostMemory(4 * Page);
        using var smram = vm.Memslots.Add(0x100000, host, addressSpace: 1);
        using var normal = vm.Memslots.Add(0x100000, host, addressSpace: 0); // same GPA, other address space: fine
        Assert.Equal(0, smram.Id);
        Assert.Equal(0, normal.Id); // ids are per address space too
        var ex = Assert.Throws<ArgumentException>(() => vm.Memslots.Add(0x100000 + 3 * Page, host, 0, Page, addressSpace: 1));
        Assert.Contains($"overlaps {smram}", ex.Message);
        Assert.Same(smram, vm.Memslots.Find(0x100000, addressSpace: 1));
        Assert.Same(normal, vm.Memslots.Find(0x100000, addressSpace: 0));
        Assert.Null(vm.Memslots.Find(0x100000, addressSpace: 7));
    }

    [Fact]
    public void FindAndOverlapAtRangeBoundaries()
    {
        var (_, kvm, vm) = NewVm();
        using var host = kvm.AllocateHostMemory(2 * Page);
        using var low = vm.Memslots.Add(0x10000, host);
        using var high = vm.Memslots.Add(0x10000 + 2 * Page, host); // adjacent: touching is not overlapping
        Assert.Null(vm.Memslots.Find(0x10000 - 1));
        Assert.Same(low, vm.Memslots.Find(0x10000));
        Assert.Same(low, vm.Memslots.Find(0x10000 + 2 * Page - 1));
        Assert.Same(high, vm.Memslots.Find(0x10000 + 2 * Page));
        Assert.Same(high, vm.Memslots.Find(0x10000 + 4 * Page - 1));
        Assert.Null(vm.Memslots.Find(0x10000 + 4 * Page));
        Assert.Null(vm.Memslots.Find(ulong.MaxValue));
        // The page just before `low` fits; a range starting in the gap and reaching into `low` does not; nor one
        // starting before `before` and ending inside it.
        using var before = vm.Memslots.Add(0x10000 - Page, host, 0, Page);
        Assert.Contains($"overlaps {before}", Assert.Throws<ArgumentException>(() => vm.Memslots.Add(0x10000 - 2 * Page, host)).Message);
        Assert.Contains($"overlaps {low}", Assert.Throws<ArgumentException>(() => vm.Memslots.Add(0x10000 + Page, host, 0, Page)).Message);
        Assert.Contains($"overlaps {high}", Assert.Throws<ArgumentException>(() => vm.Memslots.Add(0x10000 + 4 * Page - Page, host)).Message);
        low.Dispose();
        Assert.Null(vm.Memslots.Find(0x10000));
        Assert.Equal([before, high], vm.Memslots.Slots);
    }

    [Fact]
    public void GuestMemfdBindingsCheckOverlapByOffsetAndFreeTheirRangeOnDelete()
    {
        var (_, _, vm) = NewVm();
        using var gmem = vm.GuestMemfd!.Create(8 * Page, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP);
        var first = vm.Memslots.Add(0, gmem, 2 * Page, 2 * Page);
        using var after = vm.Memslots.Add(0x100000, gmem, 4 * Page, 2 * Page);  // adjacent offsets: fine
        using var before = vm.Memslots.Add(0x200000, gmem, 0, 2 * Page);        // adjacent below: fine
        var ex = Assert.Throws<ArgumentException>(() => vm.Memslots.Add(0x300000, gmem, 3 * Page, Page));
        Assert.Contains($"already bound to {first}", ex.Message);
        Assert.Equal(3, gmem.BoundSlotCount);
        first.Dispose();
        Assert.Equal(2, gmem.BoundSlotCount);
        using var again = vm.Memslots.Add(0x300000, gmem, 2 * Page, 2 * Page);
        Assert.Equal(3, gmem.BoundSlotCount);
    }

    [Fact]
    public void FillsEverySlotIdWithAutomaticIds()
    {
        var (sys, kvm, vm) = NewVm();
        sys.Record = false;
        using var host = kvm.AllocateHostMemory(Page);
        var max = vm.Memslots.MaxSlots;
        Assert.Equal(32764, max);
        var slots = new SlotHandle[max];
        for (var i = 0; i < max; i++)
            slots[i] = vm.Memslots.Add((ulong)i * Page, host, 0, Page);
        Assert.Equal(max, vm.Memslots.Count);
        Assert.Equal(max - 1, slots[^1].Id);
        var full = Assert.Throws<InvalidOperationException>(() => vm.Memslots.Add((ulong)max * Page, host));
        Assert.Contains($"all {max} slot ids (KVM_CAP_NR_MEMSLOTS) of address space 0 are in use", full.Message);
        Assert.Same(slots[12345], vm.Memslots.Find(12345 * Page + 1));
        foreach (var s in slots)
            s.Dispose();
        Assert.Equal(0, vm.Memslots.Count);
        Assert.Equal(0, vm.Memslots.Add(0, host).Id);
    }

    [Fact]
    public void ARefusedDeleteDuringVmDisposeKeepsTheMemoryTheKernelMayStillUse()
    {
        var sys = new FakeSyscalls();
        // The kernel accepts slots but refuses every deletion (memory_size = 0).
        // SAFETY: the SDK passes KVM_SET_USER_MEMORY_REGION2 a pointer to a live kvm_userspace_memory_region2.
        static int RefuseDeletes(int fd, nuint request, void* arg) =>
            ((kvm_userspace_memory_region2*)arg)->memory_size == 0 ? -(int)Errno.EIO : 0;
        sys.Handlers[KvmIoctls.KVM_SET_USER_MEMORY_REGION2.Value] = RefuseDeletes;
        using var kvm = KvmSystem.OpenWith(sys);
        var vm = kvm.CreateVm();
        var host = kvm.AllocateHostMemory(Page);
        var gmem = vm.GuestMemfd!.Create(Page, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP);
        var hostSlot = vm.Memslots.Add(0, host);
        var gmemSlot = vm.Memslots.Add(0x100000, gmem, 0, Page);
        var gmemFd = sys.Open.Keys.Max();
        host.Dispose();
        gmem.Dispose();

        vm.Dispose(); // swallows the refusals: disposal must finish

        Assert.True(hostSlot.IsDeleted);
        Assert.True(gmemSlot.IsDeleted);
        Assert.Equal(0, vm.Memslots.Count);
        Assert.Equal(0, sys.Count("munmap"));      // still mapped: the kernel slot may still point at it
        Assert.True(sys.Open.ContainsKey(gmemFd));  // still open, for the same reason
        Assert.Equal(1, gmem.BoundSlotCount);       // and still bound, as far as the kernel knows
    }

    [Fact]
    public void ARefusedDeleteThroughDisposeThrowsAndKeepsTheSlot()
    {
        var sys = new FakeSyscalls();
        using var kvm = KvmSystem.OpenWith(sys);
        using var vm = kvm.CreateVm();
        using var host = kvm.AllocateHostMemory(Page);
        var slot = vm.Memslots.Add(0, host);
        sys.Handlers[KvmIoctls.KVM_SET_USER_MEMORY_REGION2.Value] = (_, _, _) => -(int)Errno.EIO;
        Assert.Throws<KvmException>(slot.Dispose);
        Assert.False(slot.IsDeleted);
        Assert.Same(slot, vm.Memslots.Find(0));
        sys.Handlers.Clear();
        slot.Dispose();
        Assert.True(slot.IsDeleted);
        Assert.Null(vm.Memslots.Find(0));
    }
}
