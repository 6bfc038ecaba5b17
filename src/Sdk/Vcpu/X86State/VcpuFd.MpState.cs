using Kvm.Interop;

namespace Kvm;

public sealed unsafe partial class VcpuFd
{
    /// <summary><c>KVM_GET_MP_STATE</c> (<c>KVM_CAP_MP_STATE</c>).</summary>
    /// <exception cref="NotSupportedException">No <c>KVM_CAP_MP_STATE</c>.</exception>
    /// <exception cref="KvmException">The ioctl failed.</exception>
    public MpState GetMpState()
    {
        RequireMpStateCap();
        kvm_mp_state state;
        // SAFETY: `state` is a 4-byte stack local, the layout KVM_GET_MP_STATE encodes; the kernel fills it.
        IoctlOut(KvmIoctls.KVM_GET_MP_STATE.Value, KvmIoctls.KVM_GET_MP_STATE.Name, &state);
        return (MpState)state.mp_state;
    }

    /// <summary><c>KVM_SET_MP_STATE</c> (<c>KVM_CAP_MP_STATE</c>). On x86 only <see cref="MpState.Runnable"/>,
    /// <see cref="MpState.Uninitialized"/>, <see cref="MpState.InitReceived"/>, <see cref="MpState.Halted"/>,
    /// <see cref="MpState.SipiReceived"/> and <see cref="MpState.ApResetHold"/> exist, and all but Runnable need an
    /// in-kernel local APIC (EINVAL otherwise, reported with that cause).</summary>
    /// <exception cref="ArgumentException">A state this architecture does not have.</exception>
    /// <exception cref="NotSupportedException">No <c>KVM_CAP_MP_STATE</c>.</exception>
    /// <exception cref="KvmException">The kernel refused (EINVAL: no in-kernel LAPIC for a state other than Runnable).</exception>
    public void SetMpState(MpState state)
    {
        RequireMpStateCap();
        if (VmArchitectureInfo.Current == VmArchitecture.X86_64 && state is not (MpState.Runnable or MpState.Uninitialized
                or MpState.InitReceived or MpState.Halted or MpState.SipiReceived or MpState.ApResetHold))
            Fail.Argument(nameof(state), $"{state} is not an x86 MP state (x86: Runnable, Uninitialized, InitReceived, Halted, SipiReceived, ApResetHold)");
        if (VmArchitectureInfo.Current == VmArchitecture.Arm64 && state is not (MpState.Runnable or MpState.Stopped or MpState.Suspended))
            Fail.Argument(nameof(state), $"{state} is not an arm64 MP state (arm64: Runnable, Stopped, Suspended)");
        var arg = new kvm_mp_state { mp_state = (uint)state };
        // SAFETY: `arg` is a 4-byte stack local the kernel reads.
        IoctlOut(KvmIoctls.KVM_SET_MP_STATE.Value, KvmIoctls.KVM_SET_MP_STATE.Name, &arg, Errno.EINVAL,
            state == MpState.Runnable ? "the kernel refused the state" : NoInKernelLapic + " (only Runnable exists without one)");
    }

    private void RequireMpStateCap()
    {
        if (!HasX86Cap(X86Cap.MpState))
            throw new NotSupportedException("KVM_GET/SET_MP_STATE need KVM_CAP_MP_STATE, which KVM_CHECK_EXTENSION on this VM does not report");
    }
}
