using Kvm.Interop;

namespace Kvm;

/// <summary>A <c>KVM_EXIT_TDX</c> (x86 TDX VMs, <c>kvm_run.tdx</c>): a TDVMCALL KVM forwards (GetQuote,
/// GetTdVmCallInfo, SetupEventNotifyInterrupt, or an unknown one). <see cref="Nr"/>, flags and the five words after
/// <c>ret</c> are copied; <see cref="Return"/> is checked current.</summary>
public readonly ref struct TdxExit
{
    private readonly ref kvm_run_tdx _tdx;
    private readonly ExitWriter _writer;
    private readonly ulong _d0, _d1, _d2, _d3, _d4;

    internal TdxExit(ref kvm_run_tdx tdx, ExitWriter writer)
    {
        _tdx = ref tdx;
        _writer = writer;
        Flags = tdx.flags;
        Nr = tdx.nr;
        ReadOnlySpan<ulong> d = tdx.unknown.data;
        (_d0, _d1, _d2, _d3, _d4) = (d[0], d[1], d[2], d[3], d[4]);
    }

    /// <summary><c>flags</c>.</summary>
    public ulong Flags { get; }

    /// <summary>The TDVMCALL leaf (<c>nr</c>).</summary>
    public ulong Nr { get; }

    /// <summary>Word <paramref name="index"/> (0..4) after <c>ret</c>: for GetQuote, gpa and size; for
    /// GetTdVmCallInfo, leaf and r11..r14; for SetupEventNotifyInterrupt, the vector.</summary>
    public ulong Word(int index) => index switch
    {
        0 => _d0, 1 => _d1, 2 => _d2, 3 => _d3, 4 => _d4,
        _ => throw new ArgumentOutOfRangeException(nameof(index), index, "TDX exit words are 0..4"),
    };

    /// <summary><c>ret</c>: the TDVMCALL status returned to the guest; set it before the next Run.</summary>
    public ulong Return
    {
        get { _writer.Begin(); try { return _tdx.unknown.ret; } finally { _writer.End(); } }
        set { _writer.Begin(); try { _tdx.unknown.ret = value; } finally { _writer.End(); } }
    }
}

/// <summary>A <c>KVM_EXIT_SNP_REQ_CERTS</c> (x86 SEV-SNP, <c>kvm_run.snp_req_certs</c>): the guest's extended guest
/// request wants the certificate table written at <see cref="Gpa"/>; <see cref="Return"/> is checked current.</summary>
public readonly ref struct SnpReqCertsExit
{
    private readonly ref kvm_exit_snp_req_certs _req;
    private readonly ExitWriter _writer;

    internal SnpReqCertsExit(ref kvm_exit_snp_req_certs req, ExitWriter writer)
    {
        _req = ref req;
        _writer = writer;
        Gpa = req.gpa;
        Pages = req.npages;
    }

    /// <summary>Guest-physical address of the certificate buffer.</summary>
    public ulong Gpa { get; }

    /// <summary>Its size in 4 KiB pages.</summary>
    public ulong Pages { get; }

    /// <summary><c>ret</c> returned to the guest; set it before the next Run.</summary>
    public ulong Return
    {
        get { _writer.Begin(); try { return _req.ret; } finally { _writer.End(); } }
        set { _writer.Begin(); try { _req.ret = value; } finally { _writer.End(); } }
    }
}
