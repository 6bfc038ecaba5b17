using Xunit;
using Kvm.Interop;
using static Kvm.KernelTests.Typed.KernelFacts;

namespace Kvm.KernelTests.Typed;

public class VcpuTests
{
    [Fact]
    public void RealModeGuestWritesAPortAndHalts()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        // mov dx, 0x10 ; mov al, 0x4B ; out dx, al ; hlt
        var (vm, memory, slot) = TypedGuest.With(kvm, [0xBA, 0x10, 0x00, 0xB0, 0x4B, 0xEE, 0xF4]);
        using (vm) using (memory) using (slot)
        using (var vcpu = vm.CreateVcpu(0))
        {
            vcpu.EnterRealMode();
            var exit = vcpu.Run();
            Assert.Equal(VcpuExitReason.Io, exit.Reason);
            Assert.Equal(IoDirection.Out, exit.Io.Direction);
            Assert.Equal(0x10, exit.Io.Port);
            Assert.Equal(0x4B, exit.Io.Data[0]);
            Assert.Equal(VcpuExitReason.Hlt, vcpu.Run().Reason);
            Assert.Equal(7UL, vcpu.GetRegs().rip);
        }
    }

    [Fact]
    public void RequestImmediateExitFromAnotherThreadStopsASpinningGuest()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        var (vm, memory, slot) = TypedGuest.With(kvm, [0xEB, 0xFE]); // jmp $
        using (vm) using (memory) using (slot)
        using (var vcpu = vm.CreateVcpu(0))
        {
            vcpu.EnterRealMode();
            using var timer = new Timer(_ => vcpu.RequestImmediateExit(), null, 200, Timeout.Infinite);
            Assert.Equal(VcpuExitReason.Interrupted, vcpu.Run().Reason);
            // The request was consumed: a new request before Run makes the next Run return at once.
            vcpu.RequestImmediateExit();
            Assert.Equal(VcpuExitReason.Interrupted, vcpu.Run().Reason);
        }
    }

    [Fact]
    public void MmioExitForUnbackedAddresses()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        // mov al, [0x8000] with ds = 0x1000 -> linear 0x18000, outside the 64 KiB slot ; hlt
        var (vm, memory, slot) = TypedGuest.With(kvm, [0xB8, 0x00, 0x10, 0x8E, 0xD8, 0xA0, 0x00, 0x80, 0xF4]);
        using (vm) using (memory) using (slot)
        using (var vcpu = vm.CreateVcpu(0))
        {
            vcpu.EnterRealMode();
            var exit = vcpu.Run();
            Assert.Equal(VcpuExitReason.Mmio, exit.Reason);
            Assert.Equal(0x18000UL, exit.Mmio.PhysicalAddress);
            Assert.False(exit.Mmio.IsWrite);
            exit.Mmio.Data[0] = 0x5A;
            Assert.Equal(VcpuExitReason.Hlt, vcpu.Run().Reason);
            Assert.Equal(0x5AUL, vcpu.GetRegs().rax & 0xFF);
        }
    }
}
