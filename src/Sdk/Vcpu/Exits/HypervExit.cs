using Kvm.Interop;

namespace Kvm;

/// <summary>The kind of a <c>KVM_EXIT_HYPERV</c> (<c>KVM_EXIT_HYPERV_*</c>).</summary>
public enum HypervExitType : uint
{
    /// <summary><c>KVM_EXIT_HYPERV_SYNIC</c>: the guest wrote a SynIC MSR (SCONTROL, SIEFP, SIMP, EOM).</summary>
    Synic = KvmConstants.KVM_EXIT_HYPERV_SYNIC,
    /// <summary><c>KVM_EXIT_HYPERV_HCALL</c>: a Hyper-V hypercall KVM does not handle; set <see cref="HypervExit.Result"/>.</summary>
    Hcall = KvmConstants.KVM_EXIT_HYPERV_HCALL,
    /// <summary><c>KVM_EXIT_HYPERV_SYNDBG</c>: the guest used a synthetic debugger MSR.</summary>
    Syndbg = KvmConstants.KVM_EXIT_HYPERV_SYNDBG,
}

/// <summary>A <c>KVM_EXIT_HYPERV</c> (x86, <c>kvm_run.hyperv</c>; <c>KVM_CAP_HYPERV_SYNIC</c>, Hyper-V CPUID). The
/// fields of the union member named by <see cref="Type"/> are copied when the view is made; the others read 0.</summary>
public readonly ref struct HypervExit
{
    private readonly ref kvm_hyperv_exit _hv;
    private readonly ExitWriter _writer;

    internal HypervExit(ref kvm_hyperv_exit hv, ExitWriter writer)
    {
        _hv = ref hv;
        _writer = writer;
        Type = (HypervExitType)hv.type;
        switch (Type)
        {
            case HypervExitType.Synic:
                (Msr, Control, EventPage, MessagePage) = (hv.u.synic.msr, hv.u.synic.control, hv.u.synic.evt_page, hv.u.synic.msg_page);
                break;
            case HypervExitType.Hcall:
                (Input, Param0, Param1) = (hv.u.hcall.input, hv.u.hcall.@params[0], hv.u.hcall.@params[1]);
                break;
            case HypervExitType.Syndbg:
                (Msr, Control, Status) = (hv.u.syndbg.msr, hv.u.syndbg.control, hv.u.syndbg.status);
                (SendPage, ReceivePage, PendingPage) = (hv.u.syndbg.send_page, hv.u.syndbg.recv_page, hv.u.syndbg.pending_page);
                break;
        }
    }

    /// <summary>The kind.</summary>
    public HypervExitType Type { get; }

    /// <summary>SynIC/syndbg: the MSR written.</summary>
    public uint Msr { get; }

    /// <summary>SynIC/syndbg: the control value.</summary>
    public ulong Control { get; }

    /// <summary>SynIC: the event flags page (SIEFP).</summary>
    public ulong EventPage { get; }

    /// <summary>SynIC: the message page (SIMP).</summary>
    public ulong MessagePage { get; }

    /// <summary>Hcall: the hypercall input value.</summary>
    public ulong Input { get; }

    /// <summary>Hcall: params[0].</summary>
    public ulong Param0 { get; }

    /// <summary>Hcall: params[1].</summary>
    public ulong Param1 { get; }

    /// <summary>Syndbg: status.</summary>
    public ulong Status { get; }

    /// <summary>Syndbg: the send page.</summary>
    public ulong SendPage { get; }

    /// <summary>Syndbg: the receive page.</summary>
    public ulong ReceivePage { get; }

    /// <summary>Syndbg: the pending page.</summary>
    public ulong PendingPage { get; }

    /// <summary>Hcall: the result returned to the guest; set it before the next Run (checked current).</summary>
    /// <exception cref="InvalidOperationException">Not an <see cref="HypervExitType.Hcall"/> exit, or a stale exit.</exception>
    public ulong Result
    {
        get { RequireHcall(); _writer.Begin(); try { return _hv.u.hcall.result; } finally { _writer.End(); } }
        set { RequireHcall(); _writer.Begin(); try { _hv.u.hcall.result = value; } finally { _writer.End(); } }
    }

    private void RequireHcall()
    {
        if (Type != HypervExitType.Hcall)
            throw new InvalidOperationException($"only a KVM_EXIT_HYPERV_HCALL has a result; this is {Type}");
    }
}
