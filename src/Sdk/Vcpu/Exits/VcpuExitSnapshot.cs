using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using Kvm.Interop;

namespace Kvm;

/// <summary>
/// A copy of one <see cref="VcpuExit"/> (<see cref="VcpuExit.ToSnapshot"/>) that can outlive it: stored, queued to
/// another thread, logged. A readonly value (about 200 bytes, no allocation): the reason, <c>kvm_run</c>'s header flags,
/// the first 136 bytes of the exit union and up to 16 data bytes of a port I/O or MMIO exit. The typed members decode
/// the copy as <see cref="VcpuExit"/> decodes <c>kvm_run</c> and throw <see cref="InvalidOperationException"/> for an
/// exit of another kind. Writing answers back (I/O reads, MSR data, hypercall returns) still goes through the live
/// <see cref="VcpuExit"/> before the next Run.
/// </summary>
public readonly struct VcpuExitSnapshot : IEquatable<VcpuExitSnapshot>
{
    private readonly ExitPayload _payload;
    private readonly ExitBytes _data;
    private readonly bool _isArm64;

    private VcpuExitSnapshot(int vcpuId, VcpuExitReason reason, uint raw, ushort flags, bool ready, bool ifFlag, bool isArm64,
        in ExitPayload payload, in ExitBytes data)
    {
        VcpuId = vcpuId;
        Reason = reason;
        RawExitReason = raw;
        RunFlags = flags;
        ReadyForInterruptInjection = ready;
        InterruptFlag = ifFlag;
        _isArm64 = isArm64;
        _payload = payload;
        _data = data;
    }

    /// <summary>Copies an exit out of a <c>kvm_run</c> image (<paramref name="run"/> is the whole mapping or a test's
    /// buffer of at least the union's end).</summary>
    internal static VcpuExitSnapshot Capture(int vcpuId, VcpuExitReason reason, uint raw, ReadOnlySpan<byte> run, bool isArm64)
    {
        var union = run.Slice(VcpuExit.UnionOffset, ExitPayload.Bytes);
        var payload = new ExitPayload();
        union.CopyTo(MemoryMarshal.AsBytes((Span<ulong>)payload));
        var data = default(ExitBytes);
        if (reason == VcpuExitReason.Io)
        {
            ref readonly var io = ref MemoryMarshal.AsRef<kvm_run_io>(union);
            var len = (ulong)io.size * io.count;
            if (io.data_offset > (ulong)run.Length || len > (ulong)run.Length - io.data_offset)
                throw new InvalidOperationException($"kvm_run.io data [{io.data_offset}, +{len}) is outside the {run.Length}-byte mapping");
            var keep = (int)Math.Min(len, ExitBytes.Capacity);
            data = new ExitBytes(run.Slice((int)io.data_offset, keep), (int)len);
        }
        else if (reason == VcpuExitReason.Mmio)
        {
            ref readonly var mmio = ref MemoryMarshal.AsRef<kvm_run_mmio>(union);
            var len = (int)Math.Min(mmio.len, 8u);
            data = new ExitBytes(((ReadOnlySpan<byte>)mmio.data)[..len], len);
        }
        return new VcpuExitSnapshot(vcpuId, reason, raw, MemoryMarshal.Read<ushort>(run[14..]), run[12] != 0, run[13] != 0,
            isArm64, payload, data);
    }

    /// <summary>The vCPU's id (<see cref="VcpuFd.Id"/>).</summary>
    public int VcpuId { get; }

    /// <summary>The decoded reason (<see cref="VcpuExit.Reason"/>).</summary>
    public VcpuExitReason Reason { get; }

    /// <summary>The raw <c>kvm_run.exit_reason</c>.</summary>
    public uint RawExitReason { get; }

    /// <summary><c>kvm_run.flags</c> at the exit.</summary>
    public ushort RunFlags { get; }

    /// <summary><c>kvm_run.ready_for_interrupt_injection</c> at the exit (x86).</summary>
    public bool ReadyForInterruptInjection { get; }

    /// <summary><c>kvm_run.if_flag</c> at the exit (x86).</summary>
    public bool InterruptFlag { get; }

    /// <summary>Word <paramref name="index"/> (0..16) of the copied exit union, for exits without a typed member here
    /// (<c>KVM_EXIT_HYPERV</c>, <c>KVM_EXIT_XEN</c>, <c>KVM_EXIT_TDX</c>, other architectures' exits).</summary>
    public ulong PayloadWord(int index) => (uint)index < ExitPayload.Words
        ? _payload[index]
        : throw new ArgumentOutOfRangeException(nameof(index), index, $"the snapshot keeps {ExitPayload.Words} words of the exit union");

    [UnscopedRef]
    private ref readonly T As<T>(VcpuExitReason r) where T : unmanaged
    {
        Require(r);
        return ref Payload<T>();
    }

    [UnscopedRef]
    private ref readonly T Payload<T>() where T : unmanaged =>
        ref MemoryMarshal.AsRef<T>(MemoryMarshal.AsBytes((ReadOnlySpan<ulong>)_payload));

    private void Require(VcpuExitReason r)
    {
        if (Reason != r)
            throw new InvalidOperationException($"the snapshot is of a {Reason} exit, not {r}");
    }

    /// <summary>The port I/O exit.</summary>
    public IoSnapshot Io
    {
        get
        {
            ref readonly var io = ref As<kvm_run_io>(VcpuExitReason.Io);
            return new IoSnapshot((IoDirection)io.direction, io.size, io.port, io.count, _data);
        }
    }

    /// <summary>The MMIO exit.</summary>
    public MmioSnapshot Mmio => new(As<kvm_run_mmio>(VcpuExitReason.Mmio).phys_addr, Payload<kvm_run_mmio>().is_write != 0, _data);

    /// <summary>The memory-fault exit.</summary>
    public MemoryFaultExit MemoryFault
    {
        get
        {
            ref readonly var mf = ref As<kvm_run_memory_fault>(VcpuExitReason.MemoryFault);
            return new MemoryFaultExit(mf.gpa, mf.size, (KvmMemoryExitFlags)mf.flags);
        }
    }

    /// <summary>The hypercall exit.</summary>
    public HypercallSnapshot Hypercall
    {
        get
        {
            ref readonly var hc = ref As<kvm_run_hypercall>(VcpuExitReason.Hypercall);
            ReadOnlySpan<ulong> a = hc.args;
            return new HypercallSnapshot(hc.nr, hc.flags, a[0], a[1], a[2], a[3], a[4], a[5]);
        }
    }

    /// <summary>The system event, with all its data words.</summary>
    public SystemEventExit SystemEvent => new(in As<kvm_run_system_event>(VcpuExitReason.SystemEvent));

    /// <summary>The internal error, with all its data words.</summary>
    public InternalErrorExit InternalError => new(in As<kvm_run_internal>(VcpuExitReason.InternalError));

    /// <summary>The failed entry.</summary>
    public FailEntryExit FailEntry
    {
        get
        {
            ref readonly var fe = ref As<kvm_run_fail_entry>(VcpuExitReason.FailEntry);
            return new FailEntryExit(fe.hardware_entry_failure_reason, fe.cpu);
        }
    }

    /// <summary>The x86 exception exit.</summary>
    public ExceptionExit Exception => ExceptionExit.From(in As<kvm_run_ex>(VcpuExitReason.Exception));

    /// <summary>The debug exit, decoded for the architecture it came from.</summary>
    public DebugExit Debug
    {
        get
        {
            Require(VcpuExitReason.Debug);
            return _isArm64
                ? DebugExit.From(in Payload<Interop.Arm64.kvm_debug_exit_arch>(), RunFlags)
                : DebugExit.From(in Payload<Interop.X86_64.kvm_debug_exit_arch>());
        }
    }

    /// <summary>The TPR access.</summary>
    public TprAccessExit TprAccess => TprAccessExit.From(in As<kvm_run_tpr_access>(VcpuExitReason.TprAccess));

    /// <summary>The IOAPIC EOI.</summary>
    public IoapicEoiExit IoapicEoi => new(As<kvm_run_eoi>(VcpuExitReason.IoapicEoi).vector);

    /// <summary>The MSR access (RDMSR or WRMSR).</summary>
    public MsrSnapshot Msr
    {
        get
        {
            if (Reason != VcpuExitReason.X86Rdmsr && Reason != VcpuExitReason.X86Wrmsr)
                throw new InvalidOperationException($"the snapshot is of a {Reason} exit, not X86Rdmsr or X86Wrmsr");
            ref readonly var m = ref Payload<kvm_run_msr>();
            return new MsrSnapshot(Reason == VcpuExitReason.X86Wrmsr, (MsrExitReasons)m.reason, m.index, m.data);
        }
    }

    /// <summary>The notify exit.</summary>
    public NotifyExit Notify => new((NotifyExitFlags)As<kvm_run_notify>(VcpuExitReason.Notify).flags);

    /// <summary>The arm64 NISV (or LD64B/ST64B) exit.</summary>
    public ArmNisvExit ArmNisv
    {
        get
        {
            if (Reason != VcpuExitReason.ArmNisv && Reason != VcpuExitReason.ArmLdst64b)
                throw new InvalidOperationException($"the snapshot is of a {Reason} exit, not ArmNisv or ArmLdst64b");
            return ArmNisvExit.From(in Payload<kvm_run_arm_nisv>());
        }
    }

    /// <summary>The arm64 synchronous external abort.</summary>
    public ArmSeaExit ArmSea => ArmSeaExit.From(in As<kvm_run_arm_sea>(VcpuExitReason.ArmSea));

    /// <summary><c>KVM_EXIT_UNKNOWN</c>'s hardware exit reason.</summary>
    public ulong HardwareExitReason => As<kvm_run_hw>(VcpuExitReason.Unknown).hardware_exit_reason;

    /// <summary>The details of the exit's kind, as text (empty for exits without a payload).</summary>
    public string Details => Reason switch
    {
        VcpuExitReason.Io => Io.ToString(),
        VcpuExitReason.Mmio => Mmio.ToString(),
        VcpuExitReason.MemoryFault => MemoryFault.ToString(),
        VcpuExitReason.Hypercall => Hypercall.ToString(),
        VcpuExitReason.SystemEvent => SystemEvent.ToString(),
        VcpuExitReason.InternalError => InternalError.ToString(),
        VcpuExitReason.FailEntry => FailEntry.ToString(),
        VcpuExitReason.Exception => Exception.ToString(),
        VcpuExitReason.Debug => _isArm64
            ? $"hsr 0x{Debug.Syndrome:X} far 0x{Debug.FaultAddress:X}"
            : $"exception {Debug.Exception} pc 0x{Debug.Pc:X} dr6 0x{Debug.Dr6:X} dr7 0x{Debug.Dr7:X}",
        VcpuExitReason.TprAccess => TprAccess.ToString(),
        VcpuExitReason.IoapicEoi => IoapicEoi.ToString(),
        VcpuExitReason.X86Rdmsr or VcpuExitReason.X86Wrmsr => Msr.ToString(),
        VcpuExitReason.Notify => Notify.ToString(),
        VcpuExitReason.ArmNisv or VcpuExitReason.ArmLdst64b => ArmNisv.ToString(),
        VcpuExitReason.ArmSea => ArmSea.ToString(),
        VcpuExitReason.Unknown => $"hardware exit reason 0x{HardwareExitReason:X}",
        VcpuExitReason.Other => $"{(KvmExit)RawExitReason} (raw {RawExitReason})",
        _ => "",
    };

    /// <summary><c>vCPU {id} {reason}: {details}</c>, e.g. <c>vCPU 0 Io: Out port 0x10 size 1 count 1 data [42]</c>.</summary>
    public override string ToString()
    {
        var d = Details;
        return d.Length == 0 ? $"vCPU {VcpuId} {Reason}" : $"vCPU {VcpuId} {Reason}: {d}";
    }

    /// <inheritdoc />
    public bool Equals(VcpuExitSnapshot other) =>
        VcpuId == other.VcpuId && Reason == other.Reason && RawExitReason == other.RawExitReason && RunFlags == other.RunFlags
        && ReadyForInterruptInjection == other.ReadyForInterruptInjection && InterruptFlag == other.InterruptFlag
        && _isArm64 == other._isArm64 && _data.Equals(other._data)
        && ((ReadOnlySpan<ulong>)_payload).SequenceEqual((ReadOnlySpan<ulong>)other._payload);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is VcpuExitSnapshot s && Equals(s);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(VcpuId, Reason, RawExitReason, _payload[0], _payload[1], _data);

    /// <summary>Value equality.</summary>
    public static bool operator ==(VcpuExitSnapshot a, VcpuExitSnapshot b) => a.Equals(b);

    /// <summary>Value inequality.</summary>
    public static bool operator !=(VcpuExitSnapshot a, VcpuExitSnapshot b) => !a.Equals(b);
}
