using Kvm.Interop;
using static Kvm.KernelTests.Typed.KernelFacts;

namespace Kvm.KernelTests.Typed;

/// <summary><c>KVM_CAP_SYNC_REGS</c>: registers read and written through <c>kvm_run.s.regs</c> agree with the ioctls and
/// reach the guest.</summary>
public class SyncRegsTests
{
    // Real mode: l: out 0x10, al ; jmp l — each exit shows the guest's AL in the port data.
    private static readonly byte[] OutAlLoop = [0xE6, 0x10, 0xEB, 0xFC];

    [Fact]
    public void SyncedRegsMatchTheIoctlsAndWritesReachTheGuest()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        var (vm, memory, slot) = TypedGuest.With(kvm, OutAlLoop);
        using (vm) using (memory) using (slot)
        using (var vcpu = TypedGuest.Vcpu(vm))
        {
            Assert.SkipUnless(vcpu.SupportedSyncRegs.HasFlag(SyncRegSets.Regs | SyncRegSets.Sregs),
                $"KVM_CAP_SYNC_REGS = {vcpu.SupportedSyncRegs} on {Support.Kernel.Release}");
            vcpu.SyncedRegs = SyncRegSets.Regs | SyncRegSets.Sregs;
            Assert.Throws<InvalidOperationException>(() => vcpu.GetSyncedRegs());     // no run has filled s.regs yet
            Assert.Throws<InvalidOperationException>(() => vcpu.GetSyncedEvents());   // not asked for

            Assert.Equal(VcpuExitReason.Io, vcpu.Run().Reason);
            var synced = vcpu.GetSyncedRegs();
            var viaIoctl = vcpu.GetRegs();
            Assert.Equal(viaIoctl.rip, synced.rip);
            Assert.Equal(viaIoctl.rax, synced.rax);
            Assert.Equal(viaIoctl.rflags, synced.rflags);
            Assert.Equal(vcpu.GetSregs().cs.selector, vcpu.GetSyncedSregs().cs.selector);

            synced.rax = 0x5A;
            vcpu.SetSyncedRegs(synced);
            Assert.Equal(0x5AUL, vcpu.GetSyncedRegs().rax);    // a write reads back before the next run
            var exit = vcpu.Run();
            Assert.Equal(VcpuExitReason.Io, exit.Reason);
            Assert.Equal(0x5A, exit.Io.Data[0]);                 // KVM_RUN loaded the dirty registers
            Assert.Equal(0x5AUL, vcpu.GetRegs().rax & 0xFF);
        }
    }

    [Fact]
    public void UnsupportedSetsAreRefusedBeforeAnyRun()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        var (vm, memory, slot) = TypedGuest.With(kvm, OutAlLoop);
        using (vm) using (memory) using (slot)
        using (var vcpu = TypedGuest.Vcpu(vm))
        {
            var beyond = (SyncRegSets)(1UL << 40);
            var ex = Assert.Throws<NotSupportedException>(() => vcpu.SyncedRegs = beyond);
            Assert.Contains("KVM_CAP_SYNC_REGS", ex.Message);
            Assert.Equal(SyncRegSets.None, vcpu.SyncedRegs);
            Assert.Equal(VcpuExitReason.Io, vcpu.Run().Reason);   // kvm_valid_regs untouched: the run is not EINVAL
        }
    }
}
