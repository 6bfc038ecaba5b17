using System.Runtime.CompilerServices;
using Kvm.Interop;
using Kvm.Syscalls;

namespace Kvm;

/// <summary>
/// An owned vCPU fd (<c>KVM_CREATE_VCPU</c>, close-on-exec) with its <c>kvm_run</c> mapped
/// (<c>KVM_GET_VCPU_MMAP_SIZE</c> bytes). One thread at a time may be inside <see cref="Run"/> (a second concurrent
/// call throws); any thread may kick it (<see cref="RequestImmediateExit"/>) or dispose it, which stops a running
/// guest first. The vCPU holds a kernel reference to its VM; <see cref="VmFd.Dispose"/> disposes the VM's vCPUs.
/// </summary>
public sealed unsafe partial class VcpuFd : IDisposable
{
    private readonly SafeHandleRef _fd;
    private readonly IKvmSyscalls _sys;
    private readonly byte* _run;
    private readonly int _runSize;
    private readonly TimeSpan _stopTimeout;

    internal VcpuFd(VmFd vm, int id, KvmFdHandle handle, IKvmSyscalls sys, byte* run, int runSize, KvmOptions options)
    {
        Vm = vm;
        vm.NoteVcpuCreated();
        Id = id;
        _fd = new SafeHandleRef(handle, nameof(VcpuFd));
        _sys = sys;
        _run = run;
        _runSize = runSize;
        _stopTimeout = options.VcpuStopTimeout;
        _gate = new VcpuRunGate((byte*)Unsafe.AsPointer(ref ImmediateExitRef), options.KickSignal);
    }

    /// <summary>The VM.</summary>
    public VmFd Vm { get; }

    private bool _hasRun; // touched only by the thread that runs this vCPU

    /// <summary>The vCPU id passed to <c>KVM_CREATE_VCPU</c>.</summary>
    public int Id { get; }

    /// <summary>True after <see cref="Dispose"/>.</summary>
    public bool IsDisposed => _fd.IsClosed;

    /// <summary><c>KVM_RUN</c>: enters the guest until an exit userspace must handle. Allocation-free.
    /// <c>KVM_EXIT_MEMORY_FAULT</c> arrives as <c>-1</c> with EFAULT/EHWPOISON and is returned as
    /// <see cref="VcpuExitReason.MemoryFault"/>; EINTR caused by <see cref="RequestImmediateExit"/> (or by a
    /// concurrent <see cref="Dispose"/>) as <see cref="VcpuExitReason.Interrupted"/>. The guest runs with every signal
    /// but <see cref="KickSignal"/> blocked (<c>KVM_SET_SIGNAL_MASK</c>, set at the first Run), so other signals wait
    /// for the next exit instead of ending the run. The first Run on a thread blocks <see cref="KickSignal"/> on that
    /// thread and leaves it blocked (see <see cref="VcpuThread"/>), so without a kick the only syscall per call is
    /// <c>KVM_RUN</c>. EAGAIN (x86: a vCPU in the wait-for-SIPI state was woken, e.g. by INIT) re-enters
    /// <c>KVM_RUN</c>. The returned exit is valid until the next Run or Dispose.</summary>
    /// <exception cref="KvmException">Any other failure of <c>KVM_RUN</c> (e.g. ENOEXEC for an arm64 vCPU without
    /// <c>KVM_ARM_VCPU_INIT</c>, EFAULT without a memory-fault exit). Where the errno has a known cause the message
    /// names it: in a pKVM protected VM, EIO means a slot's <c>userspace_addr</c> pages could not be pinned, which
    /// is what a guest_memfd slot gets on 7.3 (see <see cref="VmType.Arm64Protected"/>).</exception>
    /// <exception cref="InvalidOperationException">Another thread is inside Run on this vCPU.</exception>
    /// <exception cref="ObjectDisposedException">Disposed (or being disposed).</exception>
    public VcpuExit Run()
    {
        var h = _fd.Enter();
        try
        {
            if (!_hasRun)
            {
                _hasRun = true;
                Vm.MarkRun();   // once per vCPU: the VM-wide flag stays off the hot path
            }
            var rc = RunCore(h.Fd, out var generation);
            // x86: an application processor waiting for INIT/SIPI sleeps inside KVM_RUN and returns EAGAIN when an
            // event woke it: it may be runnable now, and the kernel expects KVM_RUN again (QEMU re-enters too).
            while (rc == -(int)Errno.EAGAIN)
                rc = RunCore(h.Fd, out generation);
            var raw = ExitReasonRef;
            if (rc < 0)
            {
                var errno = (Errno)(-rc);
                if (errno == Errno.EINTR)
                    return new VcpuExit(this, generation, VcpuExitReason.Interrupted, raw, _run, _runSize);
                if ((errno == Errno.EFAULT || errno == Errno.EHWPOISON) && raw == (uint)KvmExit.KVM_EXIT_MEMORY_FAULT)
                    return new VcpuExit(this, generation, VcpuExitReason.MemoryFault, raw, _run, _runSize);
                Fail.Ioctl(rc, KvmIoctls.KVM_RUN.Name, KvmIoctls.KVM_RUN.Value, KvmFdKind.Vcpu, ExplainRunFailure(errno));
            }
            return new VcpuExit(this, generation, Decode(raw), raw, _run, _runSize);
        }
        finally
        {
            _fd.Exit();
        }
    }

    /// <summary>Begins a read of kvm_run for an exit of run <paramref name="generation"/>: throws unless the exit is
    /// still current, and holds a handle reference until <see cref="EndExitRead"/>, so a concurrent Dispose cannot
    /// retire kvm_run between the check and the read.</summary>
    internal void BeginExitRead(long generation)
    {
        try
        {
            _fd.Enter();
        }
        catch (ObjectDisposedException)
        {
            throw new ObjectDisposedException(nameof(VcpuFd), "the vCPU was disposed after this exit: its kvm_run is gone");
        }
        if (_gate.Generation != generation)
        {
            _fd.Exit();
            throw new InvalidOperationException("this exit is stale: the vCPU has run again since, and kvm_run holds the newer exit");
        }
    }

    internal void EndExitRead() => _fd.Exit();

    /// <summary>
    /// Runs, servicing <c>KVM_EXIT_MEMORY_FAULT</c> exits by converting the faulting range with
    /// <paramref name="conversion"/> (to private when the access was private, else to shared; a size of 0 means one
    /// page) and re-entering; returns the first other exit. Gives up with <see cref="InvalidOperationException"/> after
    /// <paramref name="maxConversions"/> conversions in one call (a guest that keeps faulting on the same range).
    /// </summary>
    /// <exception cref="KvmException">KVM_RUN or the conversion failed.</exception>
    public VcpuExit RunServicingMemoryFaults(IGuestMemoryConversion conversion, int maxConversions = 64)
    {
        ArgumentNullException.ThrowIfNull(conversion);
        for (var i = 0; ; i++)
        {
            var exit = Run();
            if (exit.Reason != VcpuExitReason.MemoryFault)
                return exit;
            if (i >= maxConversions)
                throw new InvalidOperationException($"the guest faulted {i} times in one call; last fault {exit.MemoryFault}");
            var mf = exit.MemoryFault;
            var page = (ulong)Pages.Size;
            var start = mf.Gpa & ~(page - 1);
            var end = mf.Size == 0 ? start + page : (mf.Gpa + mf.Size + page - 1) & ~(page - 1);
            if (mf.IsPrivate)
                conversion.ToPrivate(start, end - start);
            else
                conversion.ToShared(start, end - start);
        }
    }

    private ref uint ExitReasonRef => ref VmArchitectureInfo.Current == VmArchitecture.Arm64
        ? ref ((Interop.Arm64.kvm_run*)_run)->exit_reason
        : ref ((Interop.X86_64.kvm_run*)_run)->exit_reason;

    internal static VcpuExitReason Decode(uint raw) => (KvmExit)raw switch
    {
        KvmExit.KVM_EXIT_UNKNOWN => VcpuExitReason.Unknown,
        KvmExit.KVM_EXIT_IO => VcpuExitReason.Io,
        KvmExit.KVM_EXIT_MMIO => VcpuExitReason.Mmio,
        KvmExit.KVM_EXIT_HLT => VcpuExitReason.Hlt,
        KvmExit.KVM_EXIT_SHUTDOWN => VcpuExitReason.Shutdown,
        KvmExit.KVM_EXIT_FAIL_ENTRY => VcpuExitReason.FailEntry,
        KvmExit.KVM_EXIT_INTERNAL_ERROR => VcpuExitReason.InternalError,
        KvmExit.KVM_EXIT_SYSTEM_EVENT => VcpuExitReason.SystemEvent,
        KvmExit.KVM_EXIT_HYPERCALL => VcpuExitReason.Hypercall,
        KvmExit.KVM_EXIT_MEMORY_FAULT => VcpuExitReason.MemoryFault,
        KvmExit.KVM_EXIT_INTR => VcpuExitReason.Interrupted,
        KvmExit.KVM_EXIT_EXCEPTION => VcpuExitReason.Exception,
        KvmExit.KVM_EXIT_DEBUG => VcpuExitReason.Debug,
        KvmExit.KVM_EXIT_IRQ_WINDOW_OPEN => VcpuExitReason.IrqWindowOpen,
        KvmExit.KVM_EXIT_TPR_ACCESS => VcpuExitReason.TprAccess,
        KvmExit.KVM_EXIT_NMI => VcpuExitReason.Nmi,
        KvmExit.KVM_EXIT_IOAPIC_EOI => VcpuExitReason.IoapicEoi,
        KvmExit.KVM_EXIT_HYPERV => VcpuExitReason.Hyperv,
        KvmExit.KVM_EXIT_ARM_NISV => VcpuExitReason.ArmNisv,
        KvmExit.KVM_EXIT_X86_RDMSR => VcpuExitReason.X86Rdmsr,
        KvmExit.KVM_EXIT_X86_WRMSR => VcpuExitReason.X86Wrmsr,
        KvmExit.KVM_EXIT_DIRTY_RING_FULL => VcpuExitReason.DirtyRingFull,
        KvmExit.KVM_EXIT_AP_RESET_HOLD => VcpuExitReason.ApResetHold,
        KvmExit.KVM_EXIT_X86_BUS_LOCK => VcpuExitReason.X86BusLock,
        KvmExit.KVM_EXIT_XEN => VcpuExitReason.Xen,
        KvmExit.KVM_EXIT_NOTIFY => VcpuExitReason.Notify,
        KvmExit.KVM_EXIT_TDX => VcpuExitReason.Tdx,
        KvmExit.KVM_EXIT_ARM_SEA => VcpuExitReason.ArmSea,
        KvmExit.KVM_EXIT_ARM_LDST64B => VcpuExitReason.ArmLdst64b,
        KvmExit.KVM_EXIT_SNP_REQ_CERTS => VcpuExitReason.SnpReqCerts,
        _ => VcpuExitReason.Other,
    };

    /// <summary>x86: <c>KVM_GET_REGS</c>.</summary>
    /// <exception cref="PlatformNotSupportedException">Not x86_64.</exception>
    /// <exception cref="KvmException">The ioctl failed.</exception>
    public Interop.X86_64.kvm_regs GetRegs()
    {
        RequireX86();
        Interop.X86_64.kvm_regs regs;
        // SAFETY: `regs` is a stack local of the layout KVM_GET_REGS encodes; the kernel fills it.
        IoctlOut(Interop.X86_64.ArchIoctls.KVM_GET_REGS.Value, Interop.X86_64.ArchIoctls.KVM_GET_REGS.Name, &regs);
        return regs;
    }

    /// <summary>x86: <c>KVM_SET_REGS</c>.</summary>
    /// <exception cref="PlatformNotSupportedException">Not x86_64.</exception>
    /// <exception cref="KvmException">The ioctl failed.</exception>
    public void SetRegs(in Interop.X86_64.kvm_regs regs)
    {
        RequireX86();
        // SAFETY: `regs` is pinned for the call; the kernel reads sizeof(kvm_regs) bytes, the size KVM_SET_REGS encodes.
        fixed (Interop.X86_64.kvm_regs* p = &regs)
            IoctlOut(Interop.X86_64.ArchIoctls.KVM_SET_REGS.Value, Interop.X86_64.ArchIoctls.KVM_SET_REGS.Name, p);
    }

    /// <summary>x86: <c>KVM_GET_SREGS</c>.</summary>
    /// <exception cref="PlatformNotSupportedException">Not x86_64.</exception>
    /// <exception cref="KvmException">The ioctl failed.</exception>
    public Interop.X86_64.kvm_sregs GetSregs()
    {
        RequireX86();
        Interop.X86_64.kvm_sregs sregs;
        // SAFETY: `sregs` is a stack local of the layout KVM_GET_SREGS encodes; the kernel fills it.
        IoctlOut(Interop.X86_64.ArchIoctls.KVM_GET_SREGS.Value, Interop.X86_64.ArchIoctls.KVM_GET_SREGS.Name, &sregs);
        return sregs;
    }

    /// <summary>x86: <c>KVM_SET_SREGS</c>.</summary>
    /// <exception cref="ArgumentException">CR0/CR4/EFER/CS.L break the kernel's consistency rules (long mode needs
    /// CR4.PAE and EFER.LMA; EFER.LMA and CS.L need long mode; CR0.PG needs CR0.PE…): the message names the rule.</exception>
    /// <exception cref="PlatformNotSupportedException">Not x86_64.</exception>
    /// <exception cref="KvmException">The ioctl failed.</exception>
    public void SetSregs(in Interop.X86_64.kvm_sregs sregs)
    {
        RequireX86();
        if (SregsRules.Refusal(sregs.cr0, sregs.cr4, sregs.efer, sregs.cs.l) is { } why)
            Fail.Argument(nameof(sregs), why);
        // SAFETY: `sregs` is pinned for the call; the kernel reads sizeof(kvm_sregs) bytes.
        fixed (Interop.X86_64.kvm_sregs* p = &sregs)
            IoctlOut(Interop.X86_64.ArchIoctls.KVM_SET_SREGS.Value, Interop.X86_64.ArchIoctls.KVM_SET_SREGS.Name, p);
    }

    /// <summary><c>KVM_GET_ONE_REG</c> of a 64-bit register (arm64 ids from <see cref="Arm64Registers"/>).</summary>
    /// <exception cref="ArgumentException">The id does not encode a 64-bit register (<c>KVM_REG_SIZE_U64</c>).</exception>
    /// <exception cref="KvmException">The ioctl failed (ENOENT: no such register; ENOEXEC: arm64 vCPU not initialised).</exception>
    public ulong GetOneReg(ulong id)
    {
        RequireU64(id);
        ulong value = 0;
        var reg = new kvm_one_reg { id = id, addr = (ulong)&value };
        // SAFETY: `reg` and `value` are stack locals; the id encodes an 8-byte register, so the kernel writes 8 bytes
        // at `addr`.
        IoctlOut(KvmIoctls.KVM_GET_ONE_REG.Value, KvmIoctls.KVM_GET_ONE_REG.Name, &reg);
        return value;
    }

    /// <summary><c>KVM_SET_ONE_REG</c> of a 64-bit register.</summary>
    /// <exception cref="ArgumentException">The id does not encode a 64-bit register.</exception>
    /// <exception cref="KvmException">The ioctl failed.</exception>
    public void SetOneReg(ulong id, ulong value)
    {
        RequireU64(id);
        var reg = new kvm_one_reg { id = id, addr = (ulong)&value };
        // SAFETY: `reg` and the parameter `value` live on the stack; the kernel reads 8 bytes at `addr`.
        IoctlOut(KvmIoctls.KVM_SET_ONE_REG.Value, KvmIoctls.KVM_SET_ONE_REG.Name, &reg);
    }

    /// <summary>arm64: <c>KVM_ARM_PREFERRED_TARGET</c> then <c>KVM_ARM_VCPU_INIT</c> with the given feature bits
    /// (<c>KVM_ARM_VCPU_*</c> numbers from <c>ArchConstants</c>). Required before the first Run on arm64.</summary>
    /// <exception cref="PlatformNotSupportedException">Not arm64.</exception>
    /// <exception cref="KvmException">An ioctl failed.</exception>
    public void InitArm64(params ReadOnlySpan<int> features)
    {
        if (VmArchitectureInfo.Current != VmArchitecture.Arm64)
            throw new PlatformNotSupportedException("KVM_ARM_VCPU_INIT exists only on arm64");
        var vmh = Vm.Fd.Enter();
        Interop.Arm64.kvm_vcpu_init init;
        try
        {
            // SAFETY: `init` is a stack local of the 32-byte kvm_vcpu_init layout; the kernel fills it.
            var rc = _sys.Ioctl(vmh.Fd, Interop.Arm64.ArchIoctls.KVM_ARM_PREFERRED_TARGET.Value, &init);
            if (rc < 0)
                Fail.Ioctl(rc, Interop.Arm64.ArchIoctls.KVM_ARM_PREFERRED_TARGET.Name, Interop.Arm64.ArchIoctls.KVM_ARM_PREFERRED_TARGET.Value, KvmFdKind.Vm);
        }
        finally
        {
            Vm.Fd.Exit();
        }
        foreach (var f in features)
        {
            if (f < 0 || f >= 7 * 32)
                Fail.Range(nameof(features), f, "arm64 vCPU feature bits are 0..223 (kvm_vcpu_init.features[7])");
            init.features[f / 32] |= 1u << (f % 32);
        }
        // SAFETY: `init` is a stack local the kernel reads.
        IoctlOut(Interop.Arm64.ArchIoctls.KVM_ARM_VCPU_INIT.Value, Interop.Arm64.ArchIoctls.KVM_ARM_VCPU_INIT.Name, &init);
    }

    /// <summary>The cause behind a KVM_RUN errno, where the errno alone would leave the caller guessing.</summary>
    private string? ExplainRunFailure(Errno errno)
    {
        if (Vm.Type.Architecture != VmArchitecture.Arm64)
            return null;
        if (errno == Errno.ENOEXEC)
            return "an arm64 vCPU runs only after KVM_ARM_VCPU_INIT (VcpuFd.InitArm64)";
        if (errno != Errno.EIO || !Vm.Type.IsArm64Protected)
            return null;
        // pkvm_mem_abort pins the page at userspace_addr, guest_memfd slot or not, and accepts only swap-backed
        // (anonymous, memfd/shmem) pages.
        var gmemSlot = Vm.Memslots.Slots.FirstOrDefault(s => s.GuestMemfd is not null);
        return "pKVM maps a protected VM's memory by pinning each memslot's userspace_addr pages, and only anonymous or "
            + "memfd pages can be pinned" + (gmemSlot is null
                ? ""
                : $"; {gmemSlot} is backed by guest_memfd, whose pages cannot (EIO on 7.3): back protected-VM slots with "
                  + "KvmSystem.AllocateHostMemory");
    }

    private static void RequireX86()
    {
        if (VmArchitectureInfo.Current != VmArchitecture.X86_64)
            throw new PlatformNotSupportedException("this register set exists only on x86_64; use GetOneReg");
    }

    private static void RequireU64(ulong id)
    {
        if ((id & 0x00F0000000000000UL) != KvmConstants.KVM_REG_SIZE_U64)
            Fail.Argument(nameof(id), $"register id 0x{id:X} does not encode a 64-bit register (KVM_REG_SIZE_U64)");
    }

    private void IoctlOut(nuint request, string name, void* arg)
    {
        var h = _fd.Enter();
        try
        {
            // SAFETY: callers pass a stack local or pinned value of the struct the request encodes (see each call site).
            var rc = _sys.Ioctl(h.Fd, request, arg);
            if (rc < 0)
                Fail.Ioctl(rc, name, request, KvmFdKind.Vcpu);
        }
        finally
        {
            _fd.Exit();
        }
    }

    /// <summary>Stops and closes the vCPU. If a thread is inside <see cref="Run"/>, kicks it (its Run returns
    /// <see cref="VcpuExitReason.Interrupted"/>) and waits for it to leave, up to <see cref="KvmOptions.VcpuStopTimeout"/>;
    /// then closes the fd. kvm_run is retired (replaced by zero pages, never reused) once no Run holds it, so an exit or
    /// span that outlives the vCPU cannot reach anyone else's memory. Later calls throw <see cref="ObjectDisposedException"/>.
    /// Idempotent; safe from any thread.</summary>
    public void Dispose()
    {
        if (_fd.IsClosed)
            return;
        _gate.Close(_stopTimeout);
        _fd.Dispose();
        Vm.ForgetVcpu(this);
    }

    internal long RunGeneration => _gate.Generation;

    /// <summary>True while a thread is inside <see cref="Run"/> on this vCPU.</summary>
    public bool IsRunning => _gate.RunnerTid != 0;
}
