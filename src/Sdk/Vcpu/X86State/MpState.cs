using Kvm.Interop;

namespace Kvm;

/// <summary>A vCPU's multiprocessing state (<c>KVM_MP_STATE_*</c>, <c>struct kvm_mp_state</c>).</summary>
public enum MpState : uint
{
    /// <summary>Runnable (the only state without an in-kernel local APIC on x86).</summary>
    Runnable = KvmConstants.KVM_MP_STATE_RUNNABLE,
    /// <summary>x86: an application processor waiting for INIT.</summary>
    Uninitialized = KvmConstants.KVM_MP_STATE_UNINITIALIZED,
    /// <summary>x86: INIT received, waiting for SIPI.</summary>
    InitReceived = KvmConstants.KVM_MP_STATE_INIT_RECEIVED,
    /// <summary>Halted (HLT, waiting for an interrupt).</summary>
    Halted = KvmConstants.KVM_MP_STATE_HALTED,
    /// <summary>x86: SIPI received.</summary>
    SipiReceived = KvmConstants.KVM_MP_STATE_SIPI_RECEIVED,
    /// <summary>s390: stopped.</summary>
    Stopped = KvmConstants.KVM_MP_STATE_STOPPED,
    /// <summary>s390: check-stop.</summary>
    CheckStop = KvmConstants.KVM_MP_STATE_CHECK_STOP,
    /// <summary>s390: operating.</summary>
    Operating = KvmConstants.KVM_MP_STATE_OPERATING,
    /// <summary>s390: loading.</summary>
    Load = KvmConstants.KVM_MP_STATE_LOAD,
    /// <summary>x86 SEV-ES: AP reset hold.</summary>
    ApResetHold = KvmConstants.KVM_MP_STATE_AP_RESET_HOLD,
    /// <summary>arm64/riscv: suspended (WFI-like, PSCI SYSTEM_SUSPEND).</summary>
    Suspended = KvmConstants.KVM_MP_STATE_SUSPENDED,
}
