using Kvm.Interop;

namespace Kvm.Tests.Typed;

/// <summary>Use after dispose, deferred closes, and the memslot table under concurrent use.</summary>
public class LifetimeTests
{
    private static readonly ulong Page = (ulong)Environment.SystemPageSize;

    [Fact]
    public void UseAfterDisposeThrowsObjectDisposed()
    {
        var sys = new FakeSyscalls();
        var kvm = KvmSystem.OpenWith(sys);
        var vm = kvm.CreateVm();
        var gmem = vm.GuestMemfd!.Create(Page);
        var vcpu = vm.CreateVcpu(0);
        gmem.Dispose();
        Assert.Throws<ObjectDisposedException>(() => gmem.Allocate(0, Page));
        vcpu.Dispose();
        Assert.Throws<ObjectDisposedException>(() => vcpu.Run());
        Assert.Throws<ObjectDisposedException>(() => vcpu.RequestImmediateExit());
        vm.Dispose();
        Assert.Throws<ObjectDisposedException>(() => vm.CreateVcpu(1));
        Assert.Throws<ObjectDisposedException>(() => vm.GuestMemfd!.Create(Page));
        kvm.Dispose();
        Assert.Throws<ObjectDisposedException>(() => kvm.CreateVm());
        Assert.Empty(sys.Open);
    }

    [Fact]
    public void DisposingABoundGuestMemfdDefersTheClose()
    {
        var sys = new FakeSyscalls();
        using var kvm = KvmSystem.OpenWith(sys);
        using var vm = kvm.CreateVm();
        var gmem = vm.GuestMemfd!.Create(4 * Page, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP);
        var slot = vm.Memslots.Add(0, gmem, 0, 4 * Page);
        var before = sys.Count("close");
        gmem.Dispose();
        Assert.True(gmem.IsDisposed);
        Assert.Equal(before, sys.Count("close"));    // still open: the slot holds it
        slot.Dispose();
        Assert.Equal(before + 1, sys.Count("close"));
    }

    [Fact]
    public void DisposingTheVmDeletesItsSlots()
    {
        var sys = new FakeSyscalls();
        using var kvm = KvmSystem.OpenWith(sys);
        var vm = kvm.CreateVm();
        var host = kvm.AllocateHostMemory(Page);
        var slot = vm.Memslots.Add(0, host);
        host.Dispose();
        Assert.Equal(0, sys.Count("munmap")); // the slot keeps it mapped
        vm.Dispose();
        Assert.True(slot.IsDeleted);
        Assert.Equal(1, sys.Count("munmap"));
        slot.Dispose(); // idempotent
    }

    [Fact]
    public void ConcurrentSlotCreationNeverCorruptsTheTable()
    {
        var sys = new FakeSyscalls();
        using var kvm = KvmSystem.OpenWith(sys);
        using var vm = kvm.CreateVm();
        using var host = kvm.AllocateHostMemory(Page);
        const int Threads = 8, PerThread = 200;
        var rejected = 0;
        var slots = new System.Collections.Concurrent.ConcurrentBag<SlotHandle>();
        Parallel.For(0, Threads, new ParallelOptions { MaxDegreeOfParallelism = Threads }, t =>
        {
            for (var i = 0; i < PerThread; i++)
            {
                // Each GPA is tried by two threads: exactly one must win.
                var gpa = (ulong)((t / 2) * PerThread + i) * Page;
                try
                {
                    slots.Add(vm.Memslots.Add(gpa, host));
                }
                catch (ArgumentException)
                {
                    Interlocked.Increment(ref rejected);
                }
            }
        });
        Assert.Equal(Threads / 2 * PerThread, vm.Memslots.Count);
        Assert.Equal(Threads / 2 * PerThread, rejected);
        Assert.Equal(vm.Memslots.Count, vm.Memslots.Slots.Select(s => s.Id).Distinct().Count());
        Parallel.ForEach(slots, s => s.Dispose());
        Assert.Equal(0, vm.Memslots.Count);
    }
}
