using Xunit;
using static Kvm.KernelTests.Typed.KernelFacts;
using static Kvm.KernelTests.Typed.MemoryGuest;

namespace Kvm.KernelTests.Typed;

/// <summary>The per-vCPU dirty ring: enable before vCPUs, harvest exactly the written pages, reset, log again.</summary>
public class DirtyRingTests
{
    [Fact]
    public void RingHarvestsExactlyTheWrittenPagesAndResetReprotects()
    {
        using var kvm = KvmSystem.Open();
        var (vm, memory, code) = TypedGuest.With(kvm, []);
        using (vm) using (memory) using (code)
        using (var data = kvm.AllocateHostMemory(16 * Page))
        {
            var ring = vm.DirtyRing;
            Assert.SkipWhen(ring is null, "this VM reports neither KVM_CAP_DIRTY_LOG_RING_ACQ_REL nor KVM_CAP_DIRTY_LOG_RING");
            Assert.Throws<ArgumentOutOfRangeException>(() => ring!.Enable(3 * (int)Page)); // not a power of two
            Assert.Throws<ArgumentOutOfRangeException>(() => ring!.Enable(ring.MaxBytes * 2));
            var bytes = Math.Min(ring!.MaxBytes, 16 * (int)Page);
            ring.Enable(bytes);
            Assert.True(ring.IsEnabled);
            Assert.Equal(bytes / 16, ring.Entries);
            Assert.Throws<ArgumentException>(() => ring.Enable(bytes)); // once

            using var slot = vm.Memslots.Add(DataGpa, data);
            slot.SetDirtyLogging(true);
            using var vcpu = NewVcpu(vm);
            Assert.NotNull(vcpu.DirtyRing);
            Assert.Equal(ring.Entries, vcpu.DirtyRing!.Entries);
            Assert.Throws<ArgumentException>(() => slot.GetDirtyLog(DirtyBitmap.For(slot))); // ENXIO with the ring

            Assert.Equal(Done, RunFromStart(vcpu, code, WritePages(DataGpa, 1, 3, 7)));
            var pages = new DirtyPage[64];
            var n = vcpu.DirtyRing.Harvest(pages);
            Assert.Equal([DataGpa + Page, DataGpa + 3 * Page, DataGpa + 7 * Page], pages[..n].Select(p => p.Gpa).Order());
            Assert.All(pages[..n], p => Assert.Equal(slot.Id, p.Slot));
            Assert.All(pages[..n], p => Assert.Equal(0, p.AddressSpace));
            Assert.Equal(0, vcpu.DirtyRing.Harvest(pages)); // harvested entries are not seen twice
            Assert.Equal(n, ring.Reset());

            Assert.Equal(Done, RunFromStart(vcpu, code, WritePages(DataGpa, 3)));
            n = vcpu.DirtyRing.Harvest(pages);
            Assert.Equal([DataGpa + 3 * Page], pages[..n].Select(p => p.Gpa));
            Assert.Equal(1, ring.Reset());
        }
    }

    [Fact]
    public void RingIsRefusedAfterTheFirstVcpu()
    {
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        Assert.SkipWhen(vm.DirtyRing is null, "this VM reports neither KVM_CAP_DIRTY_LOG_RING_ACQ_REL nor KVM_CAP_DIRTY_LOG_RING");
        vm.CreateVcpu(0).Dispose();
        var e = Assert.Throws<ArgumentException>(() => vm.DirtyRing!.Enable((int)Page));
        Assert.Contains("before the VM's first KVM_CREATE_VCPU", e.Message);
        Assert.False(vm.DirtyRing!.IsEnabled);
        Assert.Throws<InvalidOperationException>(() => vm.DirtyRing.Reset());
    }
}
