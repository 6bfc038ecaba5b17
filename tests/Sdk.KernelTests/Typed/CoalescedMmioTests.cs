using Xunit;
using static Kvm.KernelTests.Typed.KernelFacts;
using static Kvm.KernelTests.Typed.MemoryGuest;

namespace Kvm.KernelTests.Typed;

/// <summary>Coalesced MMIO and PIO: guest writes arrive in the ring, in order, without exits; unregistering brings the
/// exits back.</summary>
public class CoalescedMmioTests
{
    private const ulong Zone = 0xF0000;

    [Fact]
    public void CoalescedWritesArriveInOrderWithoutExits()
    {
        using var kvm = KvmSystem.Open();
        var (vm, memory, code) = TypedGuest.With(kvm, []);
        using (vm) using (memory) using (code)
        using (var vcpu = NewVcpu(vm))
        {
            var coalesced = vm.CoalescedMmio;
            Assert.SkipWhen(coalesced is null, "this VM reports no KVM_CAP_COALESCED_MMIO");
            Assert.Equal(IsX86 ? Interop.X86_64.ArchConstants.KVM_COALESCED_MMIO_PAGE_OFFSET
                : Interop.Arm64.ArchConstants.KVM_COALESCED_MMIO_PAGE_OFFSET, coalesced!.RingPageOffset);
            Assert.True(kvm.VcpuMmapSize >= (coalesced.RingPageOffset + 1) * (int)Page, "KVM_GET_VCPU_MMAP_SIZE covers the ring's page");

            var entries = new CoalescedMmioEntry[16];
            using (var zone = coalesced.Register(Zone, (uint)Page))
            {
                Assert.Throws<ArgumentException>(() => coalesced.Register(Zone + 8, 8)); // overlaps: refused first
                Assert.Equal(Done, RunFromStart(vcpu, code, MmioWrites(Zone)));
                var n = coalesced.Drain(vcpu, entries);
                Assert.Equal(
                    [new CoalescedMmioEntry(Zone, 1, false, 0x11), new CoalescedMmioEntry(Zone + 1, 1, false, 0x22),
                     new CoalescedMmioEntry(Zone + 2, 2, false, 0x4433)],
                    entries[..n]);
                Assert.Equal(0, coalesced.Drain(vcpu, entries));
            }

            Start(vcpu, code, MmioWrites(Zone));
            var run = vcpu.Run();
            Assert.Equal(VcpuExitReason.Mmio, run.Reason); // unregistered: the first write exits again
            Assert.Equal(Zone, run.Mmio.PhysicalAddress);
            Assert.True(run.Mmio.IsWrite);
            Assert.Equal(0, coalesced.Drain(vcpu, entries));
        }
    }

    [Fact]
    public void CoalescedPortWritesArriveInOrderWithoutExits()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        var (vm, memory, code) = TypedGuest.With(kvm, []);
        using (vm) using (memory) using (code)
        using (var vcpu = vm.CreateVcpu(0))
        {
            var coalesced = vm.CoalescedMmio;
            Assert.SkipWhen(coalesced is null || !coalesced.SupportsPio, "this VM reports no KVM_CAP_COALESCED_PIO");
            using var zone = coalesced!.Register(0x10, 1, pio: true);
            Assert.True(zone.IsPio);
            Assert.Equal(VcpuExitReason.Hlt, RunFromStart(vcpu, code, PortWrites(0x10)));
            var entries = new CoalescedMmioEntry[4];
            var n = coalesced.Drain(vcpu, entries);
            Assert.Equal([new CoalescedMmioEntry(0x10, 1, true, 0x55), new CoalescedMmioEntry(0x10, 1, true, 0x66)], entries[..n]);
            zone.Dispose();
            Assert.True(zone.IsUnregistered);
            Assert.Equal(VcpuExitReason.Io, RunFromStart(vcpu, code, PortWrites(0x10)));
        }
    }
}
