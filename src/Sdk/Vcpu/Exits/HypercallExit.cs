using Kvm.Interop;

namespace Kvm;

/// <summary>A <c>KVM_EXIT_HYPERCALL</c>.</summary>
public readonly ref struct HypercallExit
{
    /// <summary><c>KVM_HC_MAP_GPA_RANGE</c> = 12 (x86 <c>asm/kvm_para.h</c>, not in the bindings' header set).</summary>
    public const ulong KVM_HC_MAP_GPA_RANGE = 12;

    /// <summary><c>KVM_MAP_GPA_RANGE_ENCRYPTED</c> = <c>KVM_MAP_GPA_RANGE_ENC_STAT(1)</c> = 1 &lt;&lt; 4 (x86 <c>asm/kvm_para.h</c>).</summary>
    public const ulong KVM_MAP_GPA_RANGE_ENCRYPTED = 1UL << 4;

    private readonly ref kvm_run_hypercall _hc;
    private readonly ExitWriter _writer;
    private readonly ulong _a0, _a1, _a2, _a3, _a4, _a5;

    internal HypercallExit(ref kvm_run_hypercall hc, ExitWriter writer)
    {
        _hc = ref hc;
        _writer = writer;
        Nr = hc.nr;
        Flags = hc.flags;
        ReadOnlySpan<ulong> a = hc.args;
        (_a0, _a1, _a2, _a3, _a4, _a5) = (a[0], a[1], a[2], a[3], a[4], a[5]);
    }

    /// <summary>The hypercall number (copied when the view is made).</summary>
    public ulong Nr { get; }

    /// <summary>Argument <paramref name="index"/> (0..5; copied when the view is made).</summary>
    public ulong Arg(int index) => index switch
    {
        0 => _a0, 1 => _a1, 2 => _a2, 3 => _a3, 4 => _a4, 5 => _a5,
        _ => throw new ArgumentOutOfRangeException(nameof(index), index, "hypercall arguments are 0..5"),
    };

    /// <summary><c>flags</c> (copied): x86 sets <c>KVM_EXIT_HYPERCALL_LONG_MODE</c> for a hypercall from 64-bit code
    /// (older kernels: <c>longmode</c>, the same bit).</summary>
    public ulong Flags { get; }

    /// <summary>x86: the hypercall came from 64-bit code (<c>KVM_EXIT_HYPERCALL_LONG_MODE</c>).</summary>
    public bool IsLongMode => (Flags & Interop.X86_64.ArchConstants.KVM_EXIT_HYPERCALL_LONG_MODE) != 0;

    /// <summary>The value returned to the guest; set it before the next Run. Both directions check that the exit is
    /// still current (<see cref="InvalidOperationException"/> after another Run, <see cref="ObjectDisposedException"/>
    /// after Dispose), so a late write cannot land in a newer exit.</summary>
    public ulong Return
    {
        get { _writer.Begin(); try { return _hc.ret; } finally { _writer.End(); } }
        set { _writer.Begin(); try { _hc.ret = value; } finally { _writer.End(); } }
    }

    /// <summary>True for <c>KVM_HC_MAP_GPA_RANGE</c> (guest-requested private/shared conversion, needs
    /// <c>KVM_CAP_EXIT_HYPERCALL</c>).</summary>
    public bool IsMapGpaRange => Nr == KVM_HC_MAP_GPA_RANGE;

    /// <summary>For <c>KVM_HC_MAP_GPA_RANGE</c>: the range start (args[0]).</summary>
    public ulong MapGpa => Arg(0);

    /// <summary>For <c>KVM_HC_MAP_GPA_RANGE</c>: the range length in 4 KiB pages (args[1]).</summary>
    public ulong MapPages => Arg(1);

    /// <summary>For <c>KVM_HC_MAP_GPA_RANGE</c>: true when the guest asks for private (encrypted) memory (args[2]).</summary>
    public bool MapToPrivate => (Arg(2) & KVM_MAP_GPA_RANGE_ENCRYPTED) != 0;
}
