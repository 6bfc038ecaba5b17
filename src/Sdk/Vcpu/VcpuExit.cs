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
        BeginAny();
    }

    private void Begin(VcpuExitReason r1, VcpuExitReason r2)
    {
        if (Reason != r1 && Reason != r2)
            throw new InvalidOperationException($"the exit is {Reason}, not {r1} or {r2}");
        BeginAny();
    }

    private void BeginAny()
    {
        if (_vcpu is null)
            throw new InvalidOperationException("this VcpuExit is default: it did not come from VcpuFd.Run");
        _vcpu.BeginExitRead(_generation);
    }

    /// <summary>Offset of the exit union in <c>kvm_run</c> on x86_64 and arm64 (only s390 puts its PSW before it).</summary>
    internal const int UnionOffset = 32;

    /// <summary>The exit union as <typeparamref name="T"/>; call only between Begin and End.</summary>
    private ref T Union<T>() where T : unmanaged => ref *(T*)(_run + UnionOffset);

    private ExitWriter Writer => new(_vcpu, _generation);

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
                return new HypercallExit(ref Union<kvm_run_hypercall>(), Writer);
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
                return new SystemEventExit(in Union<kvm_run_system_event>());
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
                return new InternalErrorExit(in Union<kvm_run_internal>());
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

    /// <summary>x86 <c>KVM_EXIT_EXCEPTION</c> (<c>kvm_run.ex</c>).</summary>
    public ExceptionExit Exception
    {
        get
        {
            Begin(VcpuExitReason.Exception);
            // SAFETY: as for Io; ex lies inside kvm_run's exit union.
            try { return ExceptionExit.From(in Union<kvm_run_ex>()); } finally { End(); }
        }
    }

    /// <summary><c>KVM_EXIT_DEBUG</c> (<c>kvm_run.debug.arch</c>, decoded per architecture: x86 exception/pc/dr6/dr7,
    /// arm64 hsr/far).</summary>
    public DebugExit Debug
    {
        get
        {
            Begin(VcpuExitReason.Debug);
            try
            {
                // SAFETY: as for Io; each architecture's kvm_run.debug lies inside its kvm_run.
                return IsArm ? DebugExit.From(in RunArm.debug.arch, RunArm.flags) : DebugExit.From(in Run86.debug.arch);
            }
            finally { End(); }
        }
    }

    /// <summary>x86 <c>KVM_EXIT_TPR_ACCESS</c> (<c>kvm_run.tpr_access</c>).</summary>
    public TprAccessExit TprAccess
    {
        get
        {
            Begin(VcpuExitReason.TprAccess);
            // SAFETY: as for Io.
            try { return TprAccessExit.From(in Union<kvm_run_tpr_access>()); } finally { End(); }
        }
    }

    /// <summary>x86 <c>KVM_EXIT_IOAPIC_EOI</c> (<c>kvm_run.eoi</c>).</summary>
    public IoapicEoiExit IoapicEoi
    {
        get
        {
            Begin(VcpuExitReason.IoapicEoi);
            // SAFETY: as for Io.
            try { return new IoapicEoiExit(Union<kvm_run_eoi>().vector); } finally { End(); }
        }
    }

    /// <summary>x86 <c>KVM_EXIT_X86_RDMSR</c> / <c>KVM_EXIT_X86_WRMSR</c> (<c>kvm_run.msr</c>); answer a read with
    /// <see cref="MsrExit.Data"/>, refuse either with <see cref="MsrExit.Error"/> (#GP).</summary>
    public MsrExit Msr
    {
        get
        {
            Begin(VcpuExitReason.X86Rdmsr, VcpuExitReason.X86Wrmsr);
            // SAFETY: as for Io; the view's later reads and writes re-check currency through its ExitWriter.
            try { return new MsrExit(ref Union<kvm_run_msr>(), Reason == VcpuExitReason.X86Wrmsr, Writer); } finally { End(); }
        }
    }

    /// <summary>x86 <c>KVM_EXIT_HYPERV</c> (<c>kvm_run.hyperv</c>).</summary>
    public HypervExit Hyperv
    {
        get
        {
            Begin(VcpuExitReason.Hyperv);
            // SAFETY: as for Msr.
            try { return new HypervExit(ref Union<kvm_hyperv_exit>(), Writer); } finally { End(); }
        }
    }

    /// <summary>x86 <c>KVM_EXIT_XEN</c> (<c>kvm_run.xen</c>).</summary>
    public XenExit Xen
    {
        get
        {
            Begin(VcpuExitReason.Xen);
            // SAFETY: as for Msr.
            try { return new XenExit(ref Union<kvm_xen_exit>(), Writer); } finally { End(); }
        }
    }

    /// <summary>x86 <c>KVM_EXIT_NOTIFY</c> (<c>kvm_run.notify</c>).</summary>
    public NotifyExit Notify
    {
        get
        {
            Begin(VcpuExitReason.Notify);
            // SAFETY: as for Io.
            try { return new NotifyExit((NotifyExitFlags)Union<kvm_run_notify>().flags); } finally { End(); }
        }
    }

    /// <summary>arm64 <c>KVM_EXIT_ARM_NISV</c> and <c>KVM_EXIT_ARM_LDST64B</c> (<c>kvm_run.arm_nisv</c>).</summary>
    public ArmNisvExit ArmNisv
    {
        get
        {
            Begin(VcpuExitReason.ArmNisv, VcpuExitReason.ArmLdst64b);
            // SAFETY: as for Io.
            try { return ArmNisvExit.From(in Union<kvm_run_arm_nisv>()); } finally { End(); }
        }
    }

    /// <summary>arm64 <c>KVM_EXIT_ARM_SEA</c> (<c>kvm_run.arm_sea</c>).</summary>
    public ArmSeaExit ArmSea
    {
        get
        {
            Begin(VcpuExitReason.ArmSea);
            // SAFETY: as for Io.
            try { return ArmSeaExit.From(in Union<kvm_run_arm_sea>()); } finally { End(); }
        }
    }

    /// <summary>x86 <c>KVM_EXIT_TDX</c> (<c>kvm_run.tdx</c>).</summary>
    public TdxExit Tdx
    {
        get
        {
            Begin(VcpuExitReason.Tdx);
            // SAFETY: as for Msr.
            try { return new TdxExit(ref Union<kvm_run_tdx>(), Writer); } finally { End(); }
        }
    }

    /// <summary>x86 <c>KVM_EXIT_SNP_REQ_CERTS</c> (<c>kvm_run.snp_req_certs</c>).</summary>
    public SnpReqCertsExit SnpRequestCertificates
    {
        get
        {
            Begin(VcpuExitReason.SnpReqCerts);
            // SAFETY: as for Msr.
            try { return new SnpReqCertsExit(ref Union<kvm_exit_snp_req_certs>(), Writer); } finally { End(); }
        }
    }

    /// <summary><c>KVM_EXIT_UNKNOWN</c>: the vendor's exit reason (<c>kvm_run.hw.hardware_exit_reason</c>).</summary>
    public ulong HardwareExitReason
    {
        get
        {
            Begin(VcpuExitReason.Unknown);
            // SAFETY: as for Io.
            try { return Union<kvm_run_hw>().hardware_exit_reason; } finally { End(); }
        }
    }

    /// <summary><c>kvm_run.ready_for_interrupt_injection</c> (x86 without an in-kernel irqchip): the VMM may inject an
    /// interrupt with <c>KVM_INTERRUPT</c> now. Readable for any exit; checked current.</summary>
    public bool ReadyForInterruptInjection => Header(12) != 0;

    /// <summary><c>kvm_run.if_flag</c> (x86): the guest's RFLAGS.IF at the exit. Readable for any exit; checked current.</summary>
    public bool InterruptFlag => Header(13) != 0;

    /// <summary><c>kvm_run.flags</c>: x86 <c>KVM_RUN_X86_SMM</c>, <c>KVM_RUN_X86_BUS_LOCK</c>,
    /// <c>KVM_RUN_X86_GUEST_MODE</c>; arm64 <c>KVM_DEBUG_ARCH_HSR_HIGH_VALID</c>. Readable for any exit; checked current.</summary>
    public ushort RunFlags
    {
        get
        {
            BeginAny();
            // SAFETY: as for Io; flags is at offset 14 of kvm_run on both architectures.
            try { return IsArm ? RunArm.flags : Run86.flags; } finally { End(); }
        }
    }

    private byte Header(int offset)
    {
        BeginAny();
        // SAFETY: as for Io; offsets 12 and 13 (ready_for_interrupt_injection, if_flag) lie in kvm_run's header on both
        // architectures.
        try { return _run[offset]; } finally { End(); }
    }

    /// <summary>A copy of this exit that can be kept, queued or logged after the vCPU runs again (no allocation): the
    /// reason, the header flags, the exit union's first 136 bytes and up to 16 data bytes of a port I/O or MMIO exit.
    /// Its typed members decode the copy the way this exit's accessors decode kvm_run.</summary>
    /// <exception cref="InvalidOperationException">The exit is stale (the vCPU ran again).</exception>
    /// <exception cref="ObjectDisposedException">The vCPU was disposed.</exception>
    public VcpuExitSnapshot ToSnapshot()
    {
        BeginAny();
        try
        {
            // SAFETY: BeginAny checked the exit current and holds the vCPU's handle, so _run is its live kvm_run
            // mapping of _runSize (≥ 2352) bytes; the copy reads the header and the union's first 136 bytes only, and
            // the I/O data range is checked against _runSize before it is read.
            return VcpuExitSnapshot.Capture(_vcpu.Id, Reason, RawExitReason, new ReadOnlySpan<byte>(_run, _runSize), IsArm);
        }
        finally
        {
            End();
        }
    }

    /// <inheritdoc />
    public override string ToString() => Reason == VcpuExitReason.Other ? $"Other ({(KvmExit)RawExitReason})" : Reason.ToString();
}

