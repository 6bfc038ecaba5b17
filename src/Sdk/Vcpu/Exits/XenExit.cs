using Kvm.Interop;

namespace Kvm;

/// <summary>A <c>KVM_EXIT_XEN</c> (x86, <c>kvm_run.xen</c>; <c>KVM_CAP_XEN_HVM</c> with
/// <c>KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL</c>): a Xen hypercall. Type, mode, CPL, input and parameters are copied when
/// the view is made; <see cref="Result"/> is checked current.</summary>
public readonly ref struct XenExit
{
    /// <summary><c>KVM_EXIT_XEN_HCALL</c>, the only type the headers define.</summary>
    public const uint HcallType = KvmConstants.KVM_EXIT_XEN_HCALL;

    private readonly ref kvm_xen_exit _xen;
    private readonly ExitWriter _writer;
    private readonly ulong _p0, _p1, _p2, _p3, _p4, _p5;

    internal XenExit(ref kvm_xen_exit xen, ExitWriter writer)
    {
        _xen = ref xen;
        _writer = writer;
        Type = xen.type;
        ref var h = ref xen.u.hcall;
        (IsLongMode, Cpl, Input) = (h.longmode != 0, h.cpl, h.input);
        ReadOnlySpan<ulong> p = h.@params;
        (_p0, _p1, _p2, _p3, _p4, _p5) = (p[0], p[1], p[2], p[3], p[4], p[5]);
    }

    /// <summary><c>type</c> (<see cref="HcallType"/>).</summary>
    public uint Type { get; }

    /// <summary>The hypercall came from 64-bit code.</summary>
    public bool IsLongMode { get; }

    /// <summary>The guest's CPL.</summary>
    public uint Cpl { get; }

    /// <summary>The hypercall number.</summary>
    public ulong Input { get; }

    /// <summary>Parameter <paramref name="index"/> (0..5).</summary>
    public ulong Param(int index) => index switch
    {
        0 => _p0, 1 => _p1, 2 => _p2, 3 => _p3, 4 => _p4, 5 => _p5,
        _ => throw new ArgumentOutOfRangeException(nameof(index), index, "Xen hypercall parameters are 0..5"),
    };

    /// <summary>The result returned to the guest; set it before the next Run.</summary>
    public ulong Result
    {
        get { _writer.Begin(); try { return _xen.u.hcall.result; } finally { _writer.End(); } }
        set { _writer.Begin(); try { _xen.u.hcall.result = value; } finally { _writer.End(); } }
    }
}
