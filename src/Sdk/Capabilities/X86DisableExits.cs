using Kvm.Interop;

namespace Kvm;

/// <summary>Exits <c>KVM_CAP_X86_DISABLE_EXITS</c> can stop intercepting (<c>KVM_X86_DISABLE_EXITS_*</c>); which ones
/// this host allows is the capability's answer (<see cref="VmFd.SupportedDisableExits"/>).</summary>
[Flags]
public enum X86DisableExits : uint
{
    /// <summary>Nothing.</summary>
    None = 0,
    /// <summary>MWAIT/MONITOR run in the guest (only where the host CPU's MWAIT is safe to hand out).</summary>
    Mwait = KvmConstants.KVM_X86_DISABLE_EXITS_MWAIT,
    /// <summary>HLT stops the physical CPU instead of exiting (the vCPU should own a dedicated CPU).</summary>
    Hlt = KvmConstants.KVM_X86_DISABLE_EXITS_HLT,
    /// <summary>PAUSE does not exit (no pause-loop exiting).</summary>
    Pause = KvmConstants.KVM_X86_DISABLE_EXITS_PAUSE,
    /// <summary>C-state instructions run in the guest.</summary>
    CState = KvmConstants.KVM_X86_DISABLE_EXITS_CSTATE,
    /// <summary>APERF/MPERF reads are passed through (7.x headers).</summary>
    AperfMperf = KvmConstants.KVM_X86_DISABLE_EXITS_APERFMPERF,
}

/// <summary>Hypercalls <c>KVM_CAP_EXIT_HYPERCALL</c> can forward to userspace as <c>KVM_EXIT_HYPERCALL</c>: a mask of
/// <c>1 &lt;&lt; KVM_HC_*</c>; which ones this kernel forwards is the capability's answer.</summary>
[Flags]
public enum ExitHypercalls : ulong
{
    /// <summary>None.</summary>
    None = 0,
    /// <summary><c>KVM_HC_MAP_GPA_RANGE</c>: the guest asks to convert a range private/shared (SEV-SNP, TDX-less x86).</summary>
    MapGpaRange = 1UL << (int)HypercallExit.KVM_HC_MAP_GPA_RANGE,
}

/// <summary>Options of <c>KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2</c> (<c>KVM_DIRTY_LOG_*</c>).</summary>
[Flags]
public enum ManualDirtyLogProtect : ulong
{
    /// <summary>Off: <c>KVM_GET_DIRTY_LOG</c> write-protects what it reports.</summary>
    None = 0,
    /// <summary><c>KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE</c>: pages stay writable until <c>KVM_CLEAR_DIRTY_LOG</c>.</summary>
    Enable = KvmConstants.KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE,
    /// <summary><c>KVM_DIRTY_LOG_INITIALLY_SET</c>: new dirty bitmaps start all-ones (requires <see cref="Enable"/>).</summary>
    InitiallySet = KvmConstants.KVM_DIRTY_LOG_INITIALLY_SET,
}
