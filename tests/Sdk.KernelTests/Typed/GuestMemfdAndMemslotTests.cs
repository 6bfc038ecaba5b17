using Xunit;
using Kvm.Interop;
using static Kvm.KernelTests.Typed.KernelFacts;

namespace Kvm.KernelTests.Typed;

public class GuestMemfdAndMemslotTests
{
    [Fact]
    public void GuestMemfdLifecycleOnKernelsThatHaveIt()
    {
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        if (vm.GuestMemfd is null)
        {
            Assert.False(vm.Capabilities.Has(KvmCap.KVM_CAP_GUEST_MEMFD)); // the clean "not supported" answer
            return;
        }
        var flags = vm.GuestMemfd.SupportedFlags & MmapShared;
        using var gmem = vm.GuestMemfd.Create(16 * Page, flags);
        Assert.Equal(16 * Page, gmem.Size);
        gmem.Allocate(0, 4 * Page);
        gmem.PunchHole(Page, Page);
        gmem.PunchHole(32 * Page, Page); // past the end: accepted by the kernel too
        AssertCloexec(gmem);
        if (!gmem.IsMappable)
        {
            Assert.Throws<InvalidOperationException>(() => gmem.Map());
            return;
        }
        using var map = gmem.Map();
        map.Write(2 * Page, [1, 2, 3]);
        Span<byte> back = stackalloc byte[3];
        map.Read(2 * Page, back);
        Assert.Equal(new byte[] { 1, 2, 3 }, back.ToArray());
        gmem.PunchHole(2 * Page, Page);
        map.Read(2 * Page, back);
        Assert.Equal(new byte[3], back.ToArray()); // a punched hole reads back as zeroes
    }

    [Fact]
    public void PrivateGuestMemfdPagesAreNeverHandedToTheHost()
    {
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        Assert.SkipUnless(vm.GuestMemfd?.SupportedFlags.HasFlag(GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP) == true,
            "this kernel has no mmap-able guest_memfd (before 6.18)");
        using var gmem = vm.GuestMemfd!.Create(2 * Page, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP); // pages start private
        using var map = gmem.Map();
        Assert.Equal(PageState.Private, gmem.GetState(0));
        // A touch would SIGBUS and kill the test process; the SDK refuses instead.
        Assert.Throws<InvalidOperationException>(() => map.Write(0, [1]));
    }

    [Fact]
    public void MemslotsAddDeleteAndRejectOverlap()
    {
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        using var host = kvm.AllocateHostMemory(8 * Page);
        var slot = vm.Memslots.Add(0x100000, host, 0, 4 * Page);
        Assert.Throws<ArgumentException>(() => vm.Memslots.Add(0x100000, host, 4 * Page, 4 * Page));
        slot.Dispose();
        // Deleted in the kernel too: the same range can be registered again, with the same slot id.
        using var again = vm.Memslots.Add(0x100000, host, 4 * Page, 4 * Page);
        Assert.Equal(slot.Id, again.Id);
        Assert.Equal(1, vm.Memslots.Count);
    }

    [Fact]
    public void GuestMemfdSlotsWhereSupported()
    {
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        if (vm.GuestMemfd is null || !vm.Memslots.UsesRegion2)
        {
            Assert.Null(vm.GuestMemfd?.SupportedFlags is { } f && vm.Memslots.UsesRegion2 ? (object)f : null);
            return;
        }
        using var gmem = vm.GuestMemfd.Create(8 * Page, vm.GuestMemfd.SupportedFlags & MmapShared);
#pragma warning disable KVM1006 // the mapping is left to the finalizer: this test is about the slots' hold on the fd
        using var s1 = gmem.IsMappable ? vm.Memslots.Add(0, gmem.Map(), 0, 4 * Page) : vm.Memslots.Add(0, gmem, 0, 4 * Page);
#pragma warning restore KVM1006
        Assert.Equal(1, gmem.BoundSlotCount);
        Assert.Contains("already bound", Assert.Throws<ArgumentException>(() => vm.Memslots.Add(0x100000, gmem, 0, Page)).Message);
        using var s2 = vm.Memslots.Add(0x100000, gmem, 4 * Page, 4 * Page);
        gmem.Dispose(); // deferred: both slots still hold the fd
        Assert.Throws<ObjectDisposedException>(() => gmem.Allocate(0, Page));
        Assert.False(s1.IsDeleted);
    }

    [Fact]
    public void ClosingTheVmDisposesItsVcpusAndKeepsGuestMemfdUsable()
    {
        using var kvm = KvmSystem.Open();
        var vm = kvm.CreateVm();
        using var vcpu = vm.CreateVcpu(0);
        using var gmem = vm.GuestMemfd?.Create(4 * Page, vm.GuestMemfd.SupportedFlags & MmapShared);
        vm.Dispose();
        Assert.Throws<ObjectDisposedException>(() => vm.CreateVcpu(1));
        Assert.True(vcpu.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => vcpu.Run());
        // The kernel keeps the VM alive through the guest_memfd's reference.
        gmem?.Allocate(0, Page);
    }

    private static void AssertCloexec(GmemFd gmem)
    {
        // Only this object's fd: raw tests in parallel classes hold guest_memfd fds of their own, created
        // without close-on-exec on purpose. /proc/self/fdinfo/N "flags:" is octal; O_CLOEXEC is 02000000.
        var fd = (int)gmem.Fd.Handle.DangerousGetHandle();
        Assert.Contains("kvm-gmem", new FileInfo($"/proc/self/fd/{fd}").LinkTarget ?? "");
        var flags = File.ReadLines($"/proc/self/fdinfo/{fd}").First(l => l.StartsWith("flags:"));
        Assert.True((Convert.ToInt64(flags[6..].Trim(), 8) & 0x80000) != 0, $"guest_memfd fd {fd} lacks O_CLOEXEC");
    }
}
