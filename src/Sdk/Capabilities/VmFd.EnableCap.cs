using Kvm.Interop;

namespace Kvm;

public sealed partial class VmFd
{
    // KVM_CREATE_VCPU calls ever made through this VM; the kernel's created_vcpus never goes down while the VM lives,
    // so disposing a vCPU does not reopen the "before any vCPU" window.
    private int _vcpusCreated;

    internal void NoteVcpuCreated() => Interlocked.Increment(ref _vcpusCreated);

    /// <summary>True once a vCPU was created on this VM through the SDK (disposing it does not undo that for the
    /// kernel). Capabilities that must precede vCPU creation are refused from then on.</summary>
    public bool HasCreatedVcpus => Volatile.Read(ref _vcpusCreated) != 0;

    /// <summary>
    /// <c>KVM_ENABLE_CAP</c> on the VM fd with <c>args[0..3]</c> (and <c>flags</c> 0, which x86 requires). The capability
    /// is checked first with <c>KVM_CHECK_EXTENSION</c> on this VM, and the kernel must report
    /// <c>KVM_CAP_ENABLE_CAP_VM</c>. Prefer the typed helpers (<see cref="DisableExits"/>,
    /// <see cref="EnableSplitIrqchip"/>, <see cref="EnableExitHypercall"/>, <see cref="EnableManualDirtyLogProtect"/>),
    /// which check each capability's own rules.
    /// </summary>
    /// <exception cref="ArgumentException">This VM does not report <paramref name="cap"/>.</exception>
    /// <exception cref="NotSupportedException">The kernel lacks <c>KVM_CAP_ENABLE_CAP_VM</c>.</exception>
    /// <exception cref="KvmException">The kernel refused (EINVAL: an argument or the order, e.g. after vCPU creation;
    /// EEXIST/EBUSY for caps that can be enabled once).</exception>
    /// <exception cref="ObjectDisposedException">The VM was disposed.</exception>
    public void EnableCap(KvmCap cap, ulong arg0 = 0, ulong arg1 = 0, ulong arg2 = 0, ulong arg3 = 0)
    {
        var r = TryEnableCap(cap, arg0, arg1, arg2, arg3);
        if (!r.IsSuccess)
            FailEnableCap(r, cap, null);
    }

    /// <summary><see cref="EnableCap"/> returning the kernel's refusal as a value (the capability is still checked
    /// first, with an exception).</summary>
    public KvmResult TryEnableCap(KvmCap cap, ulong arg0 = 0, ulong arg1 = 0, ulong arg2 = 0, ulong arg3 = 0)
    {
        if (!Capabilities.Has(KvmCap.KVM_CAP_ENABLE_CAP_VM))
            throw new NotSupportedException("KVM_ENABLE_CAP on a VM needs KVM_CAP_ENABLE_CAP_VM, which this kernel does not report");
        EnableCapCall.RequireReported(Capabilities, cap, "VM");
        var rc = EnableCapCall.Invoke(Fd, _sys, cap, arg0, arg1, arg2, arg3);
        return rc < 0 ? new KvmResult((Errno)(-rc)) : KvmResult.Success;
    }

    /// <summary>The exits this host lets <see cref="DisableExits"/> turn off: <c>KVM_CHECK_EXTENSION(KVM_CAP_X86_DISABLE_EXITS)</c>
    /// on this VM (<see cref="X86DisableExits.None"/> where the capability is absent).</summary>
    public X86DisableExits SupportedDisableExits => (X86DisableExits)Capabilities.CheckMask(KvmCap.KVM_CAP_X86_DISABLE_EXITS);

    /// <summary>x86: <c>KVM_ENABLE_CAP(KVM_CAP_X86_DISABLE_EXITS, exits)</c>: the guest runs MWAIT/HLT/PAUSE/C-states
    /// without exiting. Must precede vCPU creation (the kernel answers EINVAL afterwards).</summary>
    /// <exception cref="ArgumentException"><paramref name="exits"/> is empty or has bits outside
    /// <see cref="SupportedDisableExits"/>; or a vCPU was already created.</exception>
    /// <exception cref="KvmException">The kernel refused.</exception>
    public void DisableExits(X86DisableExits exits)
    {
        var supported = SupportedDisableExits;
        if (exits == 0 || (exits & ~supported) != 0)
            Fail.Argument(nameof(exits), $"exits {exits} must be a non-empty subset of KVM_CAP_X86_DISABLE_EXITS = {supported} on this VM");
        RequireNoVcpus(KvmCap.KVM_CAP_X86_DISABLE_EXITS, "EINVAL");
        EnableCap(KvmCap.KVM_CAP_X86_DISABLE_EXITS, (ulong)exits);
    }

    /// <summary>x86: <c>KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP, ioapicPins)</c>: the local APICs are emulated in the
    /// kernel, the IOAPIC and PIC in userspace, with <paramref name="ioapicPins"/> GSI routes reserved for the
    /// userspace IOAPIC (24 for a standard one). Must precede vCPU creation and excludes <c>KVM_CREATE_IRQCHIP</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="ioapicPins"/> is negative or above
    /// <c>KVM_MAX_IRQ_ROUTES</c> (4096).</exception>
    /// <exception cref="ArgumentException">The VM lacks <c>KVM_CAP_SPLIT_IRQCHIP</c>, or a vCPU was already created.</exception>
    /// <exception cref="KvmException">EEXIST: an irqchip exists already (full or split) or vCPUs exist.</exception>
    public void EnableSplitIrqchip(int ioapicPins = 24)
    {
        // MAX_NR_RESERVED_IOAPIC_PINS is KVM_MAX_IRQ_ROUTES (4096) in the kernel, not in the uAPI headers.
        if (ioapicPins < 0 || ioapicPins > 4096)
            Fail.Range(nameof(ioapicPins), ioapicPins, "the IOAPIC pin count must be 0..4096 (KVM_MAX_IRQ_ROUTES)");
        RequireNoVcpus(KvmCap.KVM_CAP_SPLIT_IRQCHIP, "EEXIST");
        var r = TryEnableCap(KvmCap.KVM_CAP_SPLIT_IRQCHIP, (ulong)ioapicPins);
        if (!r.IsSuccess)
            FailEnableCap(r, KvmCap.KVM_CAP_SPLIT_IRQCHIP, r.Errno == Errno.EEXIST
                ? "a split irqchip needs a VM without an irqchip (KVM_CREATE_IRQCHIP or an earlier split) and without vCPUs"
                : null);
    }

    /// <summary>The hypercalls this kernel can forward to userspace: <c>KVM_CHECK_EXTENSION(KVM_CAP_EXIT_HYPERCALL)</c>
    /// on this VM.</summary>
    public ExitHypercalls SupportedExitHypercalls => (ExitHypercalls)Capabilities.CheckMask(KvmCap.KVM_CAP_EXIT_HYPERCALL);

    /// <summary>x86: <c>KVM_ENABLE_CAP(KVM_CAP_EXIT_HYPERCALL, hypercalls)</c>: these hypercalls leave
    /// <see cref="VcpuFd.Run"/> as <see cref="VcpuExitReason.Hypercall"/> (e.g. <c>KVM_HC_MAP_GPA_RANGE</c> for
    /// private/shared conversion requests). Replaces the previous mask; <see cref="ExitHypercalls.None"/> turns it off.</summary>
    /// <exception cref="ArgumentException">Bits outside <see cref="SupportedExitHypercalls"/>.</exception>
    /// <exception cref="KvmException">The kernel refused.</exception>
    public void EnableExitHypercall(ExitHypercalls hypercalls)
    {
        var supported = SupportedExitHypercalls;
        if ((hypercalls & ~supported) != 0)
            Fail.Argument(nameof(hypercalls), $"hypercalls {hypercalls} must be a subset of KVM_CAP_EXIT_HYPERCALL = {supported} on this VM");
        EnableCap(KvmCap.KVM_CAP_EXIT_HYPERCALL, (ulong)hypercalls);
    }

    /// <summary>The options <see cref="EnableManualDirtyLogProtect"/> accepts:
    /// <c>KVM_CHECK_EXTENSION(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2)</c> on this VM.</summary>
    public ManualDirtyLogProtect SupportedManualDirtyLogProtect =>
        (ManualDirtyLogProtect)Capabilities.CheckMask(KvmCap.KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);

    /// <summary><c>KVM_ENABLE_CAP(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, options)</c>: <c>KVM_GET_DIRTY_LOG</c> stops
    /// write-protecting what it reports; the VMM re-protects with <c>KVM_CLEAR_DIRTY_LOG</c>.</summary>
    /// <exception cref="ArgumentException">Options outside <see cref="SupportedManualDirtyLogProtect"/>, or
    /// <see cref="ManualDirtyLogProtect.InitiallySet"/> without <see cref="ManualDirtyLogProtect.Enable"/> (EINVAL).</exception>
    /// <exception cref="KvmException">The kernel refused.</exception>
    public void EnableManualDirtyLogProtect(ManualDirtyLogProtect options = ManualDirtyLogProtect.Enable)
    {
        var supported = SupportedManualDirtyLogProtect;
        if ((options & ~supported) != 0)
            Fail.Argument(nameof(options), $"options {options} must be a subset of KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 = {supported} on this VM");
        if ((options & ManualDirtyLogProtect.InitiallySet) != 0 && (options & ManualDirtyLogProtect.Enable) == 0)
            Fail.Argument(nameof(options), "KVM_DIRTY_LOG_INITIALLY_SET is accepted only together with KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE");
        EnableCap(KvmCap.KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, (ulong)options);
    }

    private void RequireNoVcpus(KvmCap cap, string errno)
    {
        if (HasCreatedVcpus)
            Fail.Argument(nameof(cap), $"{cap} must be enabled before the VM's first KVM_CREATE_VCPU (the kernel answers {errno} afterwards)");
    }

    private static void FailEnableCap(KvmResult r, KvmCap cap, string? detail) =>
        Fail.Ioctl(-(int)r.Errno, KvmIoctls.KVM_ENABLE_CAP.Name, KvmIoctls.KVM_ENABLE_CAP.Value, KvmFdKind.Vm,
            detail is null ? $"capability {cap}" : $"capability {cap}: {detail}");
}
