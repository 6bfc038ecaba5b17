using Kvm.Interop;
using static Kvm.KernelTests.Typed.KernelFacts;

namespace Kvm.KernelTests.Typed;

/// <summary>irqfd and ioeventfd against the kernel: registration, delivery, the kernel's refusals, and ownership.</summary>
[Collection(nameof(InterruptsSerial))]
public class EventFdTests
{
    [Fact]
    public void IrqFdSignalDeliversPicInterruptToARealModeGuest()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        var (vm, memory, slot) = TypedGuest.With(kvm, InterruptGuest.Image());
        using (vm) using (memory) using (slot)
        {
            Assert.SkipWhen(vm.Irqchip is null || vm.IrqFds is null, "KVM_CAP_IRQCHIP or KVM_CAP_IRQFD is 0");
            vm.Irqchip!.CreateIrqchip();
            using var irqfd = vm.IrqFds!.Register(InterruptGuest.Gsi);
            using var vcpu = TypedGuest.Vcpu(vm);
            var (port, value) = InterruptGuest.RunUntilInterrupt(vcpu, irqfd.Signal);
            Assert.Equal(InterruptGuest.HandlerPort, port);
            Assert.Equal(InterruptGuest.HandlerValue, value);
        }
    }

    [Fact]
    public unsafe void IrqFdNeedsTheIrqchipAndAnEventfdIsAssignedOnce()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        Assert.SkipWhen(vm.Irqchip is null || vm.IrqFds is null, "KVM_CAP_IRQCHIP or KVM_CAP_IRQFD is 0");
        var early = Assert.Throws<KvmException>(() => vm.IrqFds!.Register(5));
        Assert.Equal(Errno.EINVAL, early.Errno);
        Assert.Contains("in-kernel irqchip", early.Message);
        Assert.Equal(0, vm.EventFds.Count);

        vm.Irqchip!.CreateIrqchip();
        using var irqfd = vm.IrqFds!.Register(5);
        irqfd.Signal();
        irqfd.Signal();
        // The same eventfd again, on any GSI: the SDK makes a new eventfd per Register, so this takes a raw ioctl.
        var fd = irqfd.Trigger.Fd.Enter();
        try
        {
            var arg = new kvm_irqfd { fd = (uint)fd.Fd, gsi = 6 };
            Assert.Equal(-(int)Errno.EBUSY, vm.VmIoctl(KvmIoctls.KVM_IRQFD.Value, &arg));
        }
        finally
        {
            irqfd.Trigger.Fd.Exit();
        }
        if (vm.IrqFds.SupportsResample)
        {
            using var level = vm.IrqFds.Register(7, resample: true);
            Assert.NotNull(level.Resample);
            Assert.False(level.Resample!.TryRead(out _)); // no EOI yet
        }
        Assert.Equal(1, vm.EventFds.Count); // the resample irqfd went with its block
    }

    [Fact]
    public void DisposeDeassignsSoTheEventfdCanBeRegisteredAgainAndTheVmReleasesTheRest()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        var vm = kvm.CreateVm();
        Assert.SkipWhen(vm.Irqchip is null || vm.IrqFds is null, "KVM_CAP_IRQCHIP or KVM_CAP_IRQFD is 0");
        vm.Irqchip!.CreateIrqchip();
        var first = vm.IrqFds!.Register(5);
        first.Dispose();
        first.Dispose(); // idempotent
        Assert.True(first.IsDisposed);
        Assert.Throws<ObjectDisposedException>(first.Signal);
        var kept = vm.IrqFds.Register(5);
        var io = vm.IoEventFds?.RegisterPio(0x10, 1);
        Assert.Equal(io is null ? 1 : 2, vm.EventFds.Count);
        vm.Dispose();
        Assert.True(kept.IsDisposed);
        Assert.True(io?.IsDisposed ?? true);
        Assert.Throws<ObjectDisposedException>(kept.Signal);
        kept.Dispose(); // after the VM: nothing left to do
    }

    [Fact]
    public void IoEventFdTakesTheWriteWithoutAnExit()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        byte[] code =
        [
            0xB0, 0x4B,             // mov al, 0x4B
            0xE6, 0x10,             // out 0x10, al      -> ioeventfd (any value)
            0xE6, 0x14,             // out 0x14, al      -> ioeventfd with datamatch 0x4B
            0xB0, 0x4C,             // mov al, 0x4C
            0xE6, 0x14,             // out 0x14, al      -> no match: an Io exit
            0xE6, 0x12,             // out 0x12, al      -> not registered: an Io exit
            0xF4,                   // hlt
        ];
        var (vm, memory, slot) = TypedGuest.With(kvm, code);
        using (vm) using (memory) using (slot)
        {
            Assert.SkipWhen(vm.IoEventFds is null, "KVM_CAP_IOEVENTFD is 0");
            using var any = vm.IoEventFds!.RegisterPio(0x10, 1);
            using var match = vm.IoEventFds.RegisterPio(0x14, 1, datamatch: 0x4B);
            Assert.False(any.TryRead(out _));
            using var vcpu = TypedGuest.Vcpu(vm);
            var exit = vcpu.Run();
            Assert.Equal(VcpuExitReason.Io, exit.Reason);
            Assert.Equal(0x14, exit.Io.Port);
            Assert.Equal(0x4C, exit.Io.Data[0]);
            Assert.True(any.TryRead(out var n));
            Assert.Equal(1UL, n);
            Assert.True(match.Wait(TimeSpan.FromSeconds(1), out var m));
            Assert.Equal(1UL, m);
            exit = vcpu.Run();
            Assert.Equal(VcpuExitReason.Io, exit.Reason);
            Assert.Equal(0x12, exit.Io.Port);
            Assert.False(any.TryRead(out _));
            Assert.False(any.Wait(TimeSpan.FromMilliseconds(10), out _));
        }
    }

    [Fact]
    public void IoEventFdOnMmioTakesTheWrite()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        byte[] code =
        [
            0xB8, 0x00, 0x10,       // mov ax, 0x1000
            0x8E, 0xD8,             // mov ds, ax
            0xB0, 0x5A,             // mov al, 0x5A
            0xA2, 0x00, 0x80,       // mov [0x8000], al  -> MMIO 0x18000 (unbacked): ioeventfd
            0xE6, 0x12,             // out 0x12, al      -> Io exit
            0xF4,
        ];
        var (vm, memory, slot) = TypedGuest.With(kvm, code);
        using (vm) using (memory) using (slot)
        {
            Assert.SkipWhen(vm.IoEventFds is null, "KVM_CAP_IOEVENTFD is 0");
            using var doorbell = vm.IoEventFds!.RegisterMmio(0x18000, 1);
            using var vcpu = TypedGuest.Vcpu(vm);
            var exit = vcpu.Run();
            Assert.Equal(VcpuExitReason.Io, exit.Reason);
            Assert.Equal(0x12, exit.Io.Port);
            Assert.True(doorbell.TryRead(out var n));
            Assert.Equal(1UL, n);
        }
    }

    [Fact]
    public void IoEventFdTwiceIsEexistAndDeassignFreesTheAddress()
    {
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        Assert.SkipWhen(vm.IoEventFds is null, "KVM_CAP_IOEVENTFD is 0");
        using var one = vm.IoEventFds!.RegisterMmio(0x1_0000_0000, 4, datamatch: 1);
        var two = vm.IoEventFds.RegisterMmio(0x1_0000_0000, 4, datamatch: 2); // another value is another registration
        Assert.Equal(Errno.EEXIST, Assert.Throws<KvmException>(() => vm.IoEventFds.RegisterMmio(0x1_0000_0000, 4, datamatch: 2)).Errno);
        // Any value collides with every value at the same address and length.
        var dup = Assert.Throws<KvmException>(() => vm.IoEventFds.RegisterMmio(0x1_0000_0000, 4));
        Assert.Equal(Errno.EEXIST, dup.Errno);
        Assert.Contains("overlaps", dup.Message);
        two.Dispose();
        using var again = vm.IoEventFds.RegisterMmio(0x1_0000_0000, 4, datamatch: 2); // deassigned: free again
        if (vm.IoEventFds.SupportsAnyLength)
        {
            using var anyLength = vm.IoEventFds.RegisterMmio(0x2_0000_0000, 0);
        }
    }
}
