using Kvm.Interop;

namespace Kvm;

/// <summary>Why an MSR access left the kernel (<c>KVM_MSR_EXIT_REASON_*</c>): the reasons a VMM enables with
/// <see cref="UserSpaceMsrFeature.Enable"/> and the one a <see cref="MsrExit"/> reports.</summary>
[Flags]
public enum MsrExitReasons : uint
{
    /// <summary>None.</summary>
    None = 0,
    /// <summary><c>KVM_MSR_EXIT_REASON_INVAL</c>: an access KVM would answer with #GP (a known MSR, an invalid value).</summary>
    Invalid = KvmConstants.KVM_MSR_EXIT_REASON_INVAL,
    /// <summary><c>KVM_MSR_EXIT_REASON_UNKNOWN</c>: an MSR KVM does not know.</summary>
    Unknown = KvmConstants.KVM_MSR_EXIT_REASON_UNKNOWN,
    /// <summary><c>KVM_MSR_EXIT_REASON_FILTER</c>: an access the MSR filter denies (<see cref="MsrFilterFeature"/>).</summary>
    Filter = KvmConstants.KVM_MSR_EXIT_REASON_FILTER,
}

/// <summary>A <c>KVM_EXIT_X86_RDMSR</c> or <c>KVM_EXIT_X86_WRMSR</c> (<c>kvm_run.msr</c>; enabled with
/// <c>KVM_CAP_X86_USER_SPACE_MSR</c>). For a read, set <see cref="Data"/> to the value the guest gets; for either, set
/// <see cref="Error"/> to make the guest's RDMSR/WRMSR take #GP instead. Reason, index and (for writes) the data are
/// copied when the view is made; <see cref="Data"/> and <see cref="Error"/> writes check that the exit is still current.</summary>
public readonly ref struct MsrExit
{
    private readonly ref kvm_run_msr _msr;
    private readonly ExitWriter _writer;

    internal MsrExit(ref kvm_run_msr msr, bool isWrite, ExitWriter writer)
    {
        _msr = ref msr;
        _writer = writer;
        IsWrite = isWrite;
        Reason = (MsrExitReasons)msr.reason;
        Index = msr.index;
        WrittenValue = msr.data;
    }

    /// <summary>True for WRMSR (<c>KVM_EXIT_X86_WRMSR</c>), false for RDMSR.</summary>
    public bool IsWrite { get; }

    /// <summary>Why the access left the kernel (one of the enabled <see cref="MsrExitReasons"/>).</summary>
    public MsrExitReasons Reason { get; }

    /// <summary>The MSR index (ECX).</summary>
    public uint Index { get; }

    /// <summary>For WRMSR, the value the guest wrote (EDX:EAX), copied when the view was made.</summary>
    public ulong WrittenValue { get; }

    /// <summary><c>kvm_run.msr.data</c>: for RDMSR the value the guest will read (EDX:EAX); set it before the next Run.</summary>
    public ulong Data
    {
        get { _writer.Begin(); try { return _msr.data; } finally { _writer.End(); } }
        set { _writer.Begin(); try { _msr.data = value; } finally { _writer.End(); } }
    }

    /// <summary><c>kvm_run.msr.error</c> (user → kernel): true makes the guest's instruction take #GP on the next Run.</summary>
    public bool Error
    {
        get { _writer.Begin(); try { return _msr.error != 0; } finally { _writer.End(); } }
        set { _writer.Begin(); try { _msr.error = value ? (byte)1 : (byte)0; } finally { _writer.End(); } }
    }
}
