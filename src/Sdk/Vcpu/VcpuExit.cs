using Kvm.Interop;

namespace Kvm;

/// <summary>
/// The exit of one <see cref="VcpuFd.Run"/>: a view over the vCPU's mapped <c>kvm_run</c>, valid until the next
/// <c>Run</c> or the vCPU's Dispose (it is a <c>ref struct</c>, so it cannot be stored). Every typed accessor checks that the exit is still current: after another Run it throws
/// <see cref="InvalidOperationException"/>, after Dispose <see cref="ObjectDisposedException"/>; and
/// <see cref="InvalidOperationException"/> when the exit is of another kind. Nothing here allocates.
/// </summary>
/// <remarks>The exit keeps its vCPU reachable, so the GC cannot finalize the vCPU while the exit is in use. A span taken
/// from an accessor (<see cref="IoExit.Data"/>, <see cref="MmioExit.Data"/>) is not re-checked: used after Dispose it
/// reads zeros and writes into a dead page that the SDK never hands out again (see <c>RunMappingArena</c>), never into
/// other memory.</remarks>
public readonly unsafe ref struct VcpuExit
{
    private readonly VcpuFd _vcpu;
    private readonly long _generation;
    private readonly byte* _run;
    private readonly int _runSize;

    internal VcpuExit(VcpuFd vcpu, long generation, VcpuExitReason reason, uint raw, byte* run, int runSize)
    {
        _vcpu = vcpu;
        _generation = generation;
        Reason = reason;
        RawExitReason = raw;
        _run = run;
        _runSize = runSize;
    }

    /// <summary>The decoded reason.</summary>
    public VcpuExitReason Reason { get; }

    /// <summary>The raw <c>kvm_run.exit_reason</c> (a <see cref="KvmExit"/> value; meaningless for
    /// <see cref="VcpuExitReason.Interrupted"/>).</summary>
    public uint RawExitReason { get; }

    private ref Interop.X86_64.kvm_run Run86 => ref *(Interop.X86_64.kvm_run*)_run;

    private ref Interop.Arm64.kvm_run RunArm => ref *(Interop.Arm64.kvm_run*)_run;

    private static bool IsArm => VmArchitectureInfo.Current == VmArchitecture.Arm64;

    /// <summary>True while this exit may still be read: its vCPU has neither run again nor been disposed.</summary>
    public bool IsCurrent => _vcpu is not null && !_vcpu.IsDisposed && _vcpu.RunGeneration == _generation;

    // Every accessor reads kvm_run between Begin and End: the exit is checked current and the vCPU's handle is held, so
    // the values it copies out cannot come from a kvm_run retired in between.
    private void Begin(VcpuExitReason r)
    {
        if (Reason != r)
            throw new InvalidOperationException($"the exit is {Reason}, not {r}");
        _vcpu.BeginExitRead(_generation);
    }

    private void End() => _vcpu.EndExitRead();

    /// <summary>Port I/O (<c>kvm_run.io</c>).</summary>
    public IoExit Io
    {
        get
        {
            Begin(VcpuExitReason.Io);
            try
            {
                // SAFETY: Begin checked that the vCPU is not disposed and has not run again, and holds its handle, so _run
                // is its live kvm_run mapping of _runSize bytes while the fields are copied; the data span's address is
                // never unmapped, only retired to zero pages (RunMappingArena). Its range is bounds-checked in IoExit.
                ref var io = ref IsArm ? ref RunArm.io : ref Run86.io;
                return new IoExit(io, _run, _runSize);
            }
            finally
            {
                End();
            }
        }
    }

    /// <summary>MMIO (<c>kvm_run.mmio</c>); for reads, fill <see cref="MmioExit.Data"/> before the next Run.</summary>
    public MmioExit Mmio
    {
        get
        {
            Begin(VcpuExitReason.Mmio);
            try
            {
                // SAFETY: as for Io; the mmio member lies inside kvm_run.
                return new MmioExit(ref IsArm ? ref RunArm.mmio : ref Run86.mmio);
            }
            finally
            {
                End();
            }
        }
    }

    /// <summary>The memory-fault details (<c>kvm_run.memory_fault</c>).</summary>
    public MemoryFaultExit MemoryFault
    {
        get
        {
            Begin(VcpuExitReason.MemoryFault);
            try
            {
                // SAFETY: as for Io.
                ref var mf = ref IsArm ? ref RunArm.memory_fault : ref Run86.memory_fault;
                return new MemoryFaultExit(mf.gpa, mf.size, (KvmMemoryExitFlags)mf.flags);
            }
            finally
            {
                End();
            }
        }
    }

    /// <summary>The hypercall (<c>kvm_run.hypercall</c>); set <see cref="HypercallExit.Return"/> before the next Run.</summary>
    public HypercallExit Hypercall
    {
        get
        {
            Begin(VcpuExitReason.Hypercall);
            try
            {
                // SAFETY: as for Io.
                return new HypercallExit(ref IsArm ? ref RunArm.hypercall : ref Run86.hypercall);
            }
            finally
            {
                End();
            }
        }
    }

    /// <summary>The system event (<c>kvm_run.system_event</c>).</summary>
    public SystemEventExit SystemEvent
    {
        get
        {
            Begin(VcpuExitReason.SystemEvent);
            try
            {
                // SAFETY: as for Io.
                ref var se = ref IsArm ? ref RunArm.system_event : ref Run86.system_event;
                return new SystemEventExit((KvmSystemEvent)se.type, se.ndata, se.data[0], se.data[1]);
            }
            finally
            {
                End();
            }
        }
    }

    /// <summary>The internal error (<c>kvm_run.internal</c>).</summary>
    public InternalErrorExit InternalError
    {
        get
        {
            Begin(VcpuExitReason.InternalError);
            try
            {
                // SAFETY: as for Io.
                ref var ie = ref IsArm ? ref RunArm.@internal : ref Run86.@internal;
                return new InternalErrorExit(ie.suberror, ie.ndata, ie.data[0], ie.data[1]);
            }
            finally
            {
                End();
            }
        }
    }

    /// <summary>The failed entry (<c>kvm_run.fail_entry</c>).</summary>
    public FailEntryExit FailEntry
    {
        get
        {
            Begin(VcpuExitReason.FailEntry);
            try
            {
                // SAFETY: as for Io.
                ref var fe = ref IsArm ? ref RunArm.fail_entry : ref Run86.fail_entry;
                return new FailEntryExit(fe.hardware_entry_failure_reason, fe.cpu);
            }
            finally
            {
                End();
            }
        }
    }

    /// <inheritdoc />
    public override string ToString() => Reason == VcpuExitReason.Other ? $"Other ({(KvmExit)RawExitReason})" : Reason.ToString();
}

/// <summary>Direction of a port I/O exit.</summary>
public enum IoDirection : byte
{
    /// <summary><c>KVM_EXIT_IO_IN</c>: the guest reads; fill <see cref="IoExit.Data"/>.</summary>
    In = 0,
    /// <summary><c>KVM_EXIT_IO_OUT</c>: the guest wrote <see cref="IoExit.Data"/>.</summary>
    Out = 1,
}

/// <summary>A port I/O exit. <see cref="Data"/> is the <c>size * count</c> bytes at <c>data_offset</c> in kvm_run.</summary>
public readonly unsafe ref struct IoExit
{
    internal IoExit(in kvm_run_io io, byte* run, int runSize)
    {
        Direction = (IoDirection)io.direction;
        Size = io.size;
        Port = io.port;
        Count = io.count;
        var len = (ulong)io.size * io.count;
        if (io.data_offset > (ulong)runSize || len > (ulong)runSize - io.data_offset)
            throw new InvalidOperationException($"kvm_run.io data [{io.data_offset}, +{len}) is outside the {runSize}-byte mapping");
        // SAFETY: the range was just checked to lie inside the kvm_run mapping, whose address stays this vCPU's for the
        // life of the process (retired to zero pages, never unmapped), so the span can never reach other memory.
        Data = new Span<byte>(run + io.data_offset, (int)len);
    }

    /// <summary>In or out.</summary>
    public IoDirection Direction { get; }

    /// <summary>Bytes per access (1, 2 or 4).</summary>
    public byte Size { get; }

    /// <summary>The port.</summary>
    public ushort Port { get; }

    /// <summary>Repetitions (string I/O).</summary>
    public uint Count { get; }

    /// <summary>The bytes written by the guest (out) or to be supplied to it (in).</summary>
    public Span<byte> Data { get; }
}

/// <summary>An MMIO exit. Address, length and direction are copied when the view is made; <see cref="Data"/> is the
/// kvm_run buffer itself.</summary>
public readonly ref struct MmioExit
{
    private readonly ref kvm_run_mmio _mmio;

    internal MmioExit(ref kvm_run_mmio mmio)
    {
        _mmio = ref mmio;
        PhysicalAddress = mmio.phys_addr;
        Length = (int)Math.Min(mmio.len, 8u);
        IsWrite = mmio.is_write != 0;
    }

    /// <summary>The guest-physical address accessed.</summary>
    public ulong PhysicalAddress { get; }

    /// <summary>Access width in bytes (1..8).</summary>
    public int Length { get; }

    /// <summary>True for a guest write.</summary>
    public bool IsWrite { get; }

    /// <summary>The written bytes, or the buffer to fill for a read.</summary>
    public Span<byte> Data => ((Span<byte>)_mmio.data)[..Length];
}

/// <summary>A <c>KVM_EXIT_MEMORY_FAULT</c>: the guest accessed [<see cref="Gpa"/>, +<see cref="Size"/>) as
/// <see cref="IsPrivate"/> private or shared, which disagrees with the page's current attribute.</summary>
/// <param name="Gpa">Guest-physical address of the fault range.</param>
/// <param name="Size">Bytes (0 = unknown).</param>
/// <param name="Flags"><c>KVM_MEMORY_EXIT_FLAG_*</c>.</param>
public readonly record struct MemoryFaultExit(ulong Gpa, ulong Size, KvmMemoryExitFlags Flags)
{
    /// <summary><c>KVM_MEMORY_EXIT_FLAG_PRIVATE</c>: the access was private (convert the range to private to proceed).</summary>
    public bool IsPrivate => Flags.HasFlag(KvmMemoryExitFlags.KVM_MEMORY_EXIT_FLAG_PRIVATE);
}

/// <summary>A <c>KVM_EXIT_HYPERCALL</c>.</summary>
public readonly ref struct HypercallExit
{
    /// <summary><c>KVM_HC_MAP_GPA_RANGE</c> = 12 (x86 <c>asm/kvm_para.h</c>, not in the bindings' header set).</summary>
    public const ulong KVM_HC_MAP_GPA_RANGE = 12;

    /// <summary><c>KVM_MAP_GPA_RANGE_ENCRYPTED</c> = <c>KVM_MAP_GPA_RANGE_ENC_STAT(1)</c> = 1 &lt;&lt; 4 (x86 <c>asm/kvm_para.h</c>).</summary>
    public const ulong KVM_MAP_GPA_RANGE_ENCRYPTED = 1UL << 4;

    private readonly ref kvm_run_hypercall _hc;
    private readonly ulong _a0, _a1, _a2, _a3, _a4, _a5;

    internal HypercallExit(ref kvm_run_hypercall hc)
    {
        _hc = ref hc;
        Nr = hc.nr;
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

    /// <summary>The value returned to the guest; set it before the next Run.</summary>
    public ulong Return
    {
        get => _hc.ret;
        set => _hc.ret = value;
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

/// <summary>A <c>KVM_EXIT_SYSTEM_EVENT</c>.</summary>
/// <param name="Type">The event.</param>
/// <param name="DataCount"><c>ndata</c>.</param>
/// <param name="Data0">data[0] (flags on older kernels).</param>
/// <param name="Data1">data[1].</param>
public readonly record struct SystemEventExit(KvmSystemEvent Type, uint DataCount, ulong Data0, ulong Data1);

/// <summary>A <c>KVM_EXIT_INTERNAL_ERROR</c>.</summary>
/// <param name="Suberror"><c>KVM_INTERNAL_ERROR_*</c>.</param>
/// <param name="DataCount"><c>ndata</c>.</param>
/// <param name="Data0">data[0].</param>
/// <param name="Data1">data[1].</param>
public readonly record struct InternalErrorExit(uint Suberror, uint DataCount, ulong Data0, ulong Data1);

/// <summary>A <c>KVM_EXIT_FAIL_ENTRY</c>.</summary>
/// <param name="HardwareEntryFailureReason">Vendor reason code.</param>
/// <param name="Cpu">The host CPU.</param>
public readonly record struct FailEntryExit(ulong HardwareEntryFailureReason, uint Cpu);
