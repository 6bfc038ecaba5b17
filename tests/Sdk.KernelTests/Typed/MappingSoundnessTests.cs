using System.Reflection;
using static Kvm.KernelTests.Typed.KernelFacts;

namespace Kvm.KernelTests.Typed;

/// <summary>
/// Issue #18's host-memory findings: a lease ended twice through copies, a mapping finalized under a live lease, and a
/// dispose deferred by a lease. "Mapped" is read from /proc/self/maps, so the assertions are about the kernel's view,
/// not the SDK's bookkeeping. (That a span cannot escape its lease's block is a compile-time rule, tested in
/// Analyzers.Tests.)
/// </summary>
public class MappingSoundnessTests
{
    private static unsafe nint AddressOf(Span<byte> span)
    {
        fixed (byte* p = span)
            return (nint)p;
    }

    [Fact]
    public void ALeaseEndsOnceWhicheverCopyIsDisposedAndTheMappingStaysUnderAnotherLiveLease()
    {
        using var kvm = KvmSystem.Open();
        var memory = kvm.AllocateHostMemory(4 * Page);
        var a = memory.Lease(0, (int)Page);
        var copy = a;
        var other = memory.Lease(0, (int)Page);
        var address = AddressOf(other.Span);

        copy.Dispose();
        a.Dispose();                    // the same token again: must not end `other`'s hold
        Assert.False(a.IsLive);
        Assert.True(a.Span.IsEmpty);
        Assert.True(other.IsLive);

        var mapped = ThreadFacts.MappingAt(address);
        Assert.NotNull(mapped);
        memory.Dispose();               // deferred: `other` is live
        Assert.Equal(mapped, ThreadFacts.MappingAt(address));
        other.Span[0] = 7;
        Assert.Equal(7, other.Span[0]);

        other.Dispose();
        // Unmapped: the address is empty, or (tests run in parallel) already another mapping with its own inode.
        Assert.NotEqual(mapped, ThreadFacts.MappingAt(address));
    }

    [Fact]
    public void AFinalizedMappingStaysMappedWhileALeaseIsLiveAndGoesWhenItEnds()
    {
        using var kvm = KvmSystem.Open();
#pragma warning disable KVM1006 // never disposed on purpose: the test runs the finalizer itself
        var memory = kvm.AllocateHostMemory(2 * Page);
#pragma warning restore KVM1006
        var lease = memory.Lease(Page, (int)Page);
        var address = AddressOf(lease.Span);

        // What the GC does to a mapping nobody disposed, while a span from a never-ended lease may be in use.
        var mapped = ThreadFacts.MappingAt(address);
        Assert.NotNull(mapped);
        typeof(HostMapping).GetMethod("Finalize", BindingFlags.Instance | BindingFlags.NonPublic)!.Invoke(memory, null);
        GC.SuppressFinalize(memory);
        Assert.Equal(mapped, ThreadFacts.MappingAt(address));
        lease.Span.Fill(0xAB);
        Assert.Equal(0xAB, lease.Span[^1]);

        lease.Dispose();
        Assert.NotEqual(mapped, ThreadFacts.MappingAt(address));
    }

    [Fact]
    public void ADisposedMappingRefusesNewLeasesAndReadsWrites()
    {
        using var kvm = KvmSystem.Open();
        var memory = kvm.AllocateHostMemory(Page);
        memory.Dispose();
        Assert.Throws<ObjectDisposedException>(() => memory.Lease(0, 1));
        Assert.Throws<ObjectDisposedException>(() => memory.Write(0, [1]));
    }

    [Fact]
    public void AGuestMemfdMappingChecksTheOffsetItIsAskedAbout()
    {
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        Assert.SkipUnless(HasMappableGmem(vm), "needs a guest_memfd with MMAP | INIT_SHARED (6.18+)");
        using var gmem = vm.GuestMemfd!.Create(2 * Page, MmapShared);
        using var map = gmem.Map();
        Assert.Equal(PageState.Shared, map.GetState(Page));
        Assert.Throws<ArgumentOutOfRangeException>(() => map.GetState(2 * Page));
        Assert.Throws<ArgumentOutOfRangeException>(() => gmem.GetState(2 * Page));
    }
}
