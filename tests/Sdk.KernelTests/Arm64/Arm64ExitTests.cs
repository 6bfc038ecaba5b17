using Xunit;
using Kvm.Interop;

namespace Kvm.KernelTests.Arm64;

/// <summary>The typed exits an arm64 kernel produces for a tiny guest: PSCI SYSTEM_OFF as a SYSTEM_EVENT with its data
/// words, and a single step as a DEBUG exit with the software-step syndrome; a snapshot taken from each agrees.</summary>
public sealed class Arm64ExitTests
{
    private const ulong MemSize = 0x10000;

    /// <summary>PSCI SYSTEM_OFF through hvc, after one nop.</summary>
    private static readonly uint[] NopThenSystemOff =
    [
        0xD503201F, // nop
        0xD2800100, // movz x0, #0x0008
        0xF2B08000, // movk x0, #0x8400, lsl #16     x0 = PSCI_0_2_FN_SYSTEM_OFF
        0xD4000002, // hvc  #0
        0x14000000, // b    .
    ];

    [Fact]
    public void Psci_system_off_is_a_typed_system_event_and_snapshots()
    {
        Arm64Env.RequireArm64Kvm();
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        using var memory = kvm.AllocateHostMemory(MemSize);
        memory.Write(GuestCode.CodeGpa, GuestCode.Bytes(NopThenSystemOff));
        using var slot = vm.Memslots.Add(0, memory);
        using var vcpu = Vcpu(vm);
        var exit = vcpu.Run();
        Assert.True(exit.Reason == VcpuExitReason.SystemEvent, $"exit {exit.Reason} (raw {exit.RawExitReason})");
        var se = exit.SystemEvent;
        Assert.Equal(KvmSystemEvent.KVM_SYSTEM_EVENT_SHUTDOWN, se.Type);
        Assert.Equal(se.Data0, se.Flags);
        if (se.DataCount > 0)
            Assert.Equal(se.Data0, se.Data(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => se.Data((int)se.DataCount));
        var snap = exit.ToSnapshot();
        Assert.Equal(se, snap.SystemEvent);
        Assert.StartsWith("vCPU 0 SystemEvent: KVM_SYSTEM_EVENT_SHUTDOWN", snap.ToString());
        Arm64Env.Record($"PSCI SYSTEM_OFF: {snap}");
    }

    [Fact]
    public void Single_step_is_a_debug_exit_with_the_software_step_syndrome()
    {
        Arm64Env.RequireArm64Kvm();
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        using var memory = kvm.AllocateHostMemory(MemSize);
        memory.Write(GuestCode.CodeGpa, GuestCode.Bytes(NopThenSystemOff));
        using var slot = vm.Memslots.Add(0, memory);
        using var vcpu = Vcpu(vm);
        Assert.SkipWhen(vcpu.GuestDebug is null, $"KVM_CAP_SET_GUEST_DEBUG is 0 on this kernel ({Arm64Env.KernelRelease})");
        vcpu.GuestDebug!.Set(GuestDebugFlags.Enable | GuestDebugFlags.SingleStep);
        // Only a guard against a hang: nested under TCG on a loaded machine the first run can take seconds.
        using var watchdog = new Timer(_ => vcpu.RequestImmediateExit(), null, 60_000, Timeout.Infinite);
        var exit = vcpu.Run();
        Assert.True(exit.Reason == VcpuExitReason.Debug, $"exit {exit.Reason} (raw {exit.RawExitReason})");
        var d = exit.Debug;
        Assert.Equal(0x32UL, (d.Syndrome >> 26) & 0x3F); // ESR_ELx_EC_SOFTSTP_LOW
        Assert.Equal(0u, d.Exception);                   // the x86 members stay 0 on arm64
        var snap = exit.ToSnapshot();
        Assert.Equal(d, snap.Debug);
        Assert.Equal(GuestCode.CodeGpa + 4, vcpu.GetOneReg(Arm64Registers.Pc)); // one instruction done
        vcpu.GuestDebug.Set(GuestDebugFlags.None);
        Assert.Equal(VcpuExitReason.SystemEvent, vcpu.Run().Reason);
        Assert.False(exit.IsCurrent);            // the exit is stale now; its snapshot is not
        Arm64Env.Record($"single step: {snap}");
    }

    private static VcpuFd Vcpu(VmFd vm)
    {
        var vcpu = vm.CreateVcpu(0);
        vcpu.InitArm64(Interop.Arm64.ArchConstants.KVM_ARM_VCPU_PSCI_0_2);
        vcpu.SetOneReg(Arm64Registers.Pc, GuestCode.CodeGpa);
        return vcpu;
    }
}
