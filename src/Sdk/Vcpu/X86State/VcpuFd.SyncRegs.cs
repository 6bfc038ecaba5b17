using Kvm.Interop;
using Kvm.Interop.X86_64;

namespace Kvm;

/// <summary>x86 register sets that <c>KVM_RUN</c> can copy to and from <c>kvm_run.s.regs</c>
/// (<c>KVM_CAP_SYNC_REGS</c>), saving a <c>KVM_GET_*</c>/<c>KVM_SET_*</c> ioctl per exit.</summary>
[Flags]
public enum SyncRegSets : ulong
{
    /// <summary>None: every exit leaves <c>kvm_run.s.regs</c> alone.</summary>
    None = 0,
    /// <summary><c>KVM_SYNC_X86_REGS</c>: the general registers (<c>kvm_regs</c>).</summary>
    Regs = 1 << 0,
    /// <summary><c>KVM_SYNC_X86_SREGS</c>: the segment and control registers (<c>kvm_sregs</c>).</summary>
    Sregs = 1 << 1,
    /// <summary><c>KVM_SYNC_X86_EVENTS</c>: pending exceptions, interrupts and NMIs (<c>kvm_vcpu_events</c>).</summary>
    Events = 1 << 2,
}

public sealed unsafe partial class VcpuFd
{
    private SyncRegSets _synced;              // what kvm_valid_regs asks for
    private long _syncedSince = long.MaxValue; // the run generation when it was set: reads need a later run

    /// <summary>x86: the register sets this kernel can sync through <c>kvm_run</c> (<c>KVM_CAP_SYNC_REGS</c>; none on
    /// other architectures and kernels without it).</summary>
    public SyncRegSets SupportedSyncRegs =>
        VmArchitectureInfo.Current == VmArchitecture.X86_64 ? (SyncRegSets)Vm.Capabilities.Check(KvmCap.KVM_CAP_SYNC_REGS) : SyncRegSets.None;

    /// <summary>x86: which register sets every following <c>KVM_RUN</c> copies into <c>kvm_run.s.regs</c> on exit
    /// (<c>kvm_run.kvm_valid_regs</c>). Read them with <see cref="GetSyncedRegs"/> and its siblings instead of
    /// <c>KVM_GET_REGS</c>; write them with <see cref="SetSyncedRegs"/> and its siblings, which mark them in
    /// <c>kvm_dirty_regs</c> so that the next <c>KVM_RUN</c> loads them. Set it between runs.</summary>
    /// <exception cref="NotSupportedException">A set outside <see cref="SupportedSyncRegs"/> (<c>KVM_RUN</c> would answer
    /// EINVAL).</exception>
    /// <exception cref="InvalidOperationException">The vCPU is running.</exception>
    public SyncRegSets SyncedRegs
    {
        get => _synced;
        set
        {
            var unsupported = value & ~SupportedSyncRegs;
            if (unsupported != 0)
                throw new NotSupportedException($"KVM_CAP_SYNC_REGS does not offer {unsupported} here (supported: {SupportedSyncRegs}); KVM_RUN would answer EINVAL");
            var run = EnterRunArea();
            try
            {
                run->kvm_valid_regs = (ulong)value;
                (_synced, _syncedSince) = (value, _gate.Generation);
            }
            finally
            {
                _fd.Exit();
            }
        }
    }

    /// <summary>x86: the general registers as the last <c>KVM_RUN</c> left them in <c>kvm_run.s.regs</c> (no ioctl), or
    /// as <see cref="SetSyncedRegs"/> wrote them since.</summary>
    /// <exception cref="InvalidOperationException"><see cref="SyncRegSets.Regs"/> is not in <see cref="SyncedRegs"/>, the
    /// vCPU has not run since it was put there, or the vCPU is running.</exception>
    public kvm_regs GetSyncedRegs()
    {
        var run = EnterSynced(SyncRegSets.Regs, forWrite: false);
        try { return run->s.regs.regs; } finally { _fd.Exit(); }
    }

    /// <summary>x86: writes the general registers into <c>kvm_run.s.regs</c> and marks them dirty, so the next
    /// <c>KVM_RUN</c> loads them before it enters the guest (as <c>KVM_SET_REGS</c> would).</summary>
    /// <exception cref="InvalidOperationException"><see cref="SyncRegSets.Regs"/> is not in <see cref="SyncedRegs"/>, or
    /// the vCPU is running.</exception>
    public void SetSyncedRegs(in kvm_regs regs)
    {
        var run = EnterSynced(SyncRegSets.Regs, forWrite: true);
        try { run->s.regs.regs = regs; run->kvm_dirty_regs |= (ulong)SyncRegSets.Regs; } finally { _fd.Exit(); }
    }

    /// <summary>x86: the segment and control registers from <c>kvm_run.s.regs</c> (see <see cref="GetSyncedRegs"/>).</summary>
    /// <exception cref="InvalidOperationException">As for <see cref="GetSyncedRegs"/>, for <see cref="SyncRegSets.Sregs"/>.</exception>
    public kvm_sregs GetSyncedSregs()
    {
        var run = EnterSynced(SyncRegSets.Sregs, forWrite: false);
        try { return run->s.regs.sregs; } finally { _fd.Exit(); }
    }

    /// <summary>x86: writes the segment and control registers for the next <c>KVM_RUN</c>, which checks them as
    /// <c>KVM_SET_SREGS</c> does: an invalid combination makes that <c>KVM_RUN</c> fail with EINVAL.</summary>
    /// <exception cref="InvalidOperationException">As for <see cref="SetSyncedRegs"/>, for <see cref="SyncRegSets.Sregs"/>.</exception>
    public void SetSyncedSregs(in kvm_sregs sregs)
    {
        var run = EnterSynced(SyncRegSets.Sregs, forWrite: true);
        try { run->s.regs.sregs = sregs; run->kvm_dirty_regs |= (ulong)SyncRegSets.Sregs; } finally { _fd.Exit(); }
    }

    /// <summary>x86: the pending exceptions, interrupts and NMIs from <c>kvm_run.s.regs</c> (see
    /// <see cref="GetSyncedRegs"/>).</summary>
    /// <exception cref="InvalidOperationException">As for <see cref="GetSyncedRegs"/>, for <see cref="SyncRegSets.Events"/>.</exception>
    public kvm_vcpu_events GetSyncedEvents()
    {
        var run = EnterSynced(SyncRegSets.Events, forWrite: false);
        try { return run->s.regs.events; } finally { _fd.Exit(); }
    }

    /// <summary>x86: writes the pending events for the next <c>KVM_RUN</c>, which checks them as
    /// <c>KVM_SET_VCPU_EVENTS</c> does (EINVAL from that run when invalid).</summary>
    /// <exception cref="InvalidOperationException">As for <see cref="SetSyncedRegs"/>, for <see cref="SyncRegSets.Events"/>.</exception>
    public void SetSyncedEvents(in kvm_vcpu_events events)
    {
        var run = EnterSynced(SyncRegSets.Events, forWrite: true);
        try { run->s.regs.events = events; run->kvm_dirty_regs |= (ulong)SyncRegSets.Events; } finally { _fd.Exit(); }
    }

    private Interop.X86_64.kvm_run* EnterSynced(SyncRegSets set, bool forWrite)
    {
        if ((_synced & set) == 0)
            throw new InvalidOperationException($"{set} is not synced through kvm_run: include it in SyncedRegs first");
        var run = EnterRunArea();
        // A write since the last run counts as content too: the kernel has not touched s.regs since.
        if (!forWrite && _gate.Generation <= _syncedSince && (run->kvm_dirty_regs & (ulong)set) == 0)
        {
            _fd.Exit();
            throw new InvalidOperationException($"the vCPU has not run since {set} was put in SyncedRegs: kvm_run.s.regs holds none yet");
        }
        return run;
    }

    // This vCPU's kvm_run with the handle held (the caller releases it with _fd.Exit()): Dispose cannot retire the
    // mapping meanwhile. Refused while a KVM_RUN is in progress, which reads and writes s.regs itself.
    private Interop.X86_64.kvm_run* EnterRunArea()
    {
        RequireX86();
        _fd.Enter();
        if (IsRunning)
        {
            _fd.Exit();
            throw new InvalidOperationException("the vCPU is running: kvm_run.s.regs belongs to KVM_RUN until it returns");
        }
        // SAFETY: the handle reference taken above keeps the vCPU undisposed, so _run is its live kvm_run mapping (at
        // least sizeof(kvm_run) bytes, checked when it was mapped) and no KVM_RUN is using it (checked above). A Run
        // started concurrently on another thread is the caller's race, as with any pair of vCPU ioctls.
        return (Interop.X86_64.kvm_run*)_run;
    }
}
