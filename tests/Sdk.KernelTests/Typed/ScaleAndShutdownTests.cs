using System.Runtime.CompilerServices;
using Kvm.KernelTests.Support;
using static Kvm.KernelTests.Typed.KernelFacts;

namespace Kvm.KernelTests.Typed;

/// <summary>
/// Issue #11 and #18 finding 5 against the real kernel: guest_memfd sizes up to the kernel's limit, VMs dropped
/// without Dispose, dispose order in every permutation, and memslots filled to KVM_CAP_NR_MEMSLOTS. These count the
/// process's KVM fds, so they run alone (the LeakTests collection).
/// </summary>
[Collection(nameof(LeakTests))]
public class ScaleAndShutdownTests
{
    private static void Settle()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }

    [Fact]
    public void HugeGuestMemfdsAreCreatedInConstantSpaceAndLeaveNoFdBehind()
    {
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        Assert.SkipWhen(vm.GuestMemfd is null, $"kernel {Kernel.Release} has no guest_memfd on a default VM");
        ulong[] sizes = [1UL << 40, 1UL << 50, 1UL << 62, 0x7FFFFFFFFFFFF000UL];
        Settle();
        var before = ThreadFacts.KvmFds();
        int created = 0, refused = 0;
        for (var i = 0; i < 100; i++)
        {
            var size = sizes[i % sizes.Length];
            var r = vm.GuestMemfd.TryCreate(size, 0, out var gmem);
            if (!r.IsSuccess)
            {
                refused++;   // a kernel that caps the size lower answers with an errno; the SDK must not leak then either
                continue;
            }
            using (gmem)
            {
                created++;
                Assert.Equal(size, gmem!.Size);
                Assert.True(gmem.PageStates.PrivateRangeCount <= 1);
                Assert.Equal(gmem.GetState(0), gmem.GetState(size - Page));
            }
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => vm.GuestMemfd.Create(0x8000000000000000UL));
        Assert.Equal(before, ThreadFacts.KvmFds());
        Assert.True(created > 0, $"the kernel refused every huge size ({refused} refusals)");
    }

    // KVM1006 is right here: dropping everything undisposed is the point of the test.
#pragma warning disable KVM1006
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void MakeAVmWithABoundGuestMemfdAndDropIt(KvmSystem kvm)
    {
        var vm = kvm.CreateVm();
        if (HasMappableGmem(vm))
        {
            var gmem = vm.GuestMemfd!.Create(4 * Page, MmapShared);
            var map = gmem.Map();
            vm.Memslots.Add(0x100000, map);
        }
        else if (vm.GuestMemfd is not null && vm.Memslots.UsesRegion2)
        {
            var gmem = vm.GuestMemfd.Create(4 * Page);
            vm.Memslots.Add(0x100000, gmem, 0, 4 * Page, kvm.AllocateHostMemory(4 * Page));
        }
        else
        {
            vm.Memslots.Add(0x100000, kvm.AllocateHostMemory(4 * Page));
        }
        vm.CreateVcpu(0);
    }
#pragma warning restore KVM1006

    [Fact]
    public void AVmDroppedWithoutDisposeLeavesNoKernelObjectBehind()
    {
        using var kvm = KvmSystem.Open();
        Settle();
        var before = ThreadFacts.KvmFds();
        for (var i = 0; i < 10; i++)
            MakeAVmWithABoundGuestMemfdAndDropIt(kvm);
        Settle();
        Assert.Equal(before, ThreadFacts.KvmFds());
    }

    private static IEnumerable<int[]> Permutations(int n)
    {
        var p = Enumerable.Range(0, n).ToArray();
        while (true)
        {
            yield return (int[])p.Clone();
            var i = n - 2;
            while (i >= 0 && p[i] > p[i + 1]) i--;
            if (i < 0) yield break;
            var j = n - 1;
            while (p[j] < p[i]) j--;
            (p[i], p[j]) = (p[j], p[i]);
            Array.Reverse(p, i + 1, n - i - 1);
        }
    }

    [Fact]
    public void EveryDisposeOrderOfSystemVmVcpuGuestMemfdSlotAndMappingIsClean()
    {
        Settle();
        var before = ThreadFacts.KvmFds();
        // All 720 orders on the host; every 12th (60, each object first and last alike) under emulation.
        var step = Kernel.IsHostLane ? 1 : 12;
        var orders = Permutations(6).Where((_, i) => i % step == 0).ToArray();
        foreach (var order in orders)
        {
            var kvm = KvmSystem.Open();
            var vm = kvm.CreateVm();
            var vcpu = vm.CreateVcpu(0);
            GmemFd? gmem = null;
            HostMapping memory;
            if (HasMappableGmem(vm))
            {
                gmem = vm.GuestMemfd!.Create(4 * Page, MmapShared);
                memory = gmem.Map();
            }
            else
            {
                memory = kvm.AllocateHostMemory(4 * Page);
            }
            var slot = vm.Memslots.Add(0, memory);
            IDisposable?[] objects = [kvm, vm, vcpu, gmem, slot, memory];
            foreach (var index in order)
                objects[index]?.Dispose();
            Assert.True(vm.IsDisposed && vcpu.IsDisposed && slot.IsDeleted && memory.IsDisposed && gmem?.IsDisposed != false,
                $"order {string.Join(",", order)} left something undisposed");
        }
        Settle();
        Assert.Equal(before, ThreadFacts.KvmFds());
    }

    [Fact]
    public void MemslotsFillToTheKernelsLimitWithAutomaticIds()
    {
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        // All of KVM_CAP_NR_MEMSLOTS on the host; under emulation every memslot update costs an SRCU grace period.
        var count = Kernel.IsHostLane ? vm.Memslots.MaxSlots : Math.Min(vm.Memslots.MaxSlots, 2048);
        using var memory = kvm.AllocateHostMemory((ulong)count * Page);
        var slots = new List<SlotHandle>(count);
        try
        {
            for (var i = 0; i < count; i++)
                slots.Add(vm.Memslots.Add((ulong)i * Page, memory, (ulong)i * Page, Page));
            Assert.Equal(count, vm.Memslots.Count);
            Assert.Equal(Enumerable.Range(0, count), slots.Select(s => s.Id).Order());
            if (count == vm.Memslots.MaxSlots)
                Assert.Throws<InvalidOperationException>(() => vm.Memslots.Add((ulong)count * Page, memory, 0, Page));
            // Free a few ids out of order: the next automatic ids are the lowest free ones.
            foreach (var id in new[] { count / 2, 7, count - 1 })
                slots[id].Dispose();
            Assert.Equal(7, vm.Memslots.Add((ulong)(count + 1) * Page, memory, 0, Page).Id);
            Assert.Same(slots[count / 3], vm.Memslots.Find((ulong)(count / 3) * Page + 1));
        }
        finally
        {
            foreach (var s in slots)
                s.Dispose();
        }
    }
}
