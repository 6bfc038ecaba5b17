using Kvm.Interop;
using Kvm.Syscalls;

namespace Kvm;

/// <summary>
/// The in-kernel interrupt controller of one VM (<see cref="VmFd.Irqchip"/>): exists only when
/// <c>KVM_CHECK_EXTENSION(KVM_CAP_IRQCHIP)</c> on the VM is non-zero. On x86 <see cref="CreateIrqchip"/> creates the
/// PIC pair, the IOAPIC and (with each vCPU) a LAPIC, installs the default GSI routing (GSI 0..15 → PIC and IOAPIC,
/// 16..23 → IOAPIC), and enables <see cref="SetIrqLine"/>, <see cref="SetGsiRouting"/>, <see cref="SignalMsi"/>,
/// irqfds and the PIT. The split irqchip (LAPIC only, <c>KVM_CAP_SPLIT_IRQCHIP</c> through <c>KVM_ENABLE_CAP</c>)
/// is not created here.
/// </summary>
public sealed unsafe partial class IrqchipFeature
{
    private readonly VmFd _vm;
    private readonly IKvmSyscalls _sys;
    private int _created;

    internal IrqchipFeature(VmFd vm, IKvmSyscalls sys)
    {
        _vm = vm;
        _sys = sys;
        var routes = vm.Capabilities.Check(KvmCap.KVM_CAP_IRQ_ROUTING);
        MaxRoutes = routes;
        SupportsLineStatus = vm.Capabilities.Has(KvmCap.KVM_CAP_IRQ_INJECT_STATUS);
        SupportsPit2 = vm.Capabilities.Has(KvmCap.KVM_CAP_PIT2);
        SupportsSignalMsi = vm.Capabilities.Has(KvmCap.KVM_CAP_SIGNAL_MSI);
        SupportsMsiDevid = vm.Capabilities.Has(KvmCap.KVM_CAP_MSI_DEVID);
    }

    /// <summary>True after <see cref="CreateIrqchip"/> succeeded on this VM.</summary>
    public bool IsCreated => Volatile.Read(ref _created) != 0;

    /// <summary><c>KVM_CAP_IRQ_ROUTING</c>: the number of GSI routes the kernel accepts (<c>KVM_MAX_IRQ_ROUTES</c>,
    /// 4096 on x86); 0 when the kernel has no GSI routing.</summary>
    public int MaxRoutes { get; }

    /// <summary><c>KVM_CAP_IRQ_INJECT_STATUS</c>: <see cref="SetIrqLine"/> uses <c>KVM_IRQ_LINE_STATUS</c> and reports
    /// the delivery status.</summary>
    public bool SupportsLineStatus { get; }

    /// <summary><c>KVM_CAP_PIT2</c> (x86): <see cref="CreatePit2"/> is available.</summary>
    public bool SupportsPit2 { get; }

    /// <summary><c>KVM_CAP_SIGNAL_MSI</c>: <see cref="SignalMsi"/> is available.</summary>
    public bool SupportsSignalMsi { get; }

    /// <summary><c>KVM_CAP_MSI_DEVID</c> (arm64 ITS): MSIs and MSI routes may carry a device id
    /// (<c>KVM_MSI_VALID_DEVID</c>); never on x86.</summary>
    public bool SupportsMsiDevid { get; }

    /// <summary>
    /// <c>KVM_CREATE_IRQCHIP</c>: creates the in-kernel interrupt controllers (x86: PIC master/slave and IOAPIC, with a
    /// LAPIC per vCPU created afterwards) and the default GSI routing.
    /// </summary>
    /// <exception cref="InvalidOperationException">A vCPU of this VM was already created (the kernel answers EINVAL:
    /// the irqchip must exist before the first <c>KVM_CREATE_VCPU</c>, and disposing vCPUs does not undo that).</exception>
    /// <exception cref="KvmException">The kernel refused: EEXIST when an irqchip (full or split) already exists,
    /// EINVAL when a vCPU was created behind the SDK's back, ENOMEM.</exception>
    /// <exception cref="ObjectDisposedException">The VM was disposed.</exception>
    public void CreateIrqchip()
    {
        if (_vm.HasCreatedVcpus)
            throw new InvalidOperationException(
                "KVM_CREATE_IRQCHIP must come before the VM's first KVM_CREATE_VCPU (the kernel answers EINVAL once a vCPU exists, even a disposed one)");
        var rc = _vm.VmIoctl(KvmIoctls.KVM_CREATE_IRQCHIP.Value, 0);
        if (rc < 0)
            Fail.Ioctl(rc, KvmIoctls.KVM_CREATE_IRQCHIP.Name, KvmIoctls.KVM_CREATE_IRQCHIP.Value, KvmFdKind.Vm,
                rc == -(int)Errno.EEXIST ? "this VM already has an in-kernel irqchip (full or split)" : null);
        Volatile.Write(ref _created, 1);
    }

    /// <summary>x86: <c>KVM_CREATE_PIT2</c>, the in-kernel i8254 timer (ports 0x40..0x43, IRQ 0), optionally with a
    /// dummy speaker port (<see cref="PitConfigFlags.SpeakerDummy"/>). Needs the full irqchip (<see cref="CreateIrqchip"/>).</summary>
    /// <exception cref="NotSupportedException"><c>KVM_CAP_PIT2</c> is 0 on this VM.</exception>
    /// <exception cref="ArgumentException"><paramref name="flags"/> has bits other than <c>KVM_PIT_SPEAKER_DUMMY</c> (EINVAL).</exception>
    /// <exception cref="KvmException">ENOENT: no in-kernel PIC (create the irqchip first; the split irqchip has none);
    /// EEXIST: the VM already has a PIT; ENOMEM.</exception>
    /// <exception cref="ObjectDisposedException">The VM was disposed.</exception>
    public void CreatePit2(PitConfigFlags flags = PitConfigFlags.None)
    {
        if (!SupportsPit2)
            throw new NotSupportedException("KVM_CREATE_PIT2 needs KVM_CAP_PIT2, which this VM does not report (x86 only)");
        if ((flags & ~PitConfigFlags.SpeakerDummy) != 0)
            Fail.Argument(nameof(flags), $"kvm_pit_config.flags {flags} has bits other than KVM_PIT_SPEAKER_DUMMY (EINVAL)");
        var config = new kvm_pit_config { flags = (uint)flags };
        // SAFETY: `config` is a zero-initialised stack local of the 64-byte layout KVM_CREATE_PIT2 encodes; the kernel reads it.
        var rc = _vm.VmIoctl(KvmIoctls.KVM_CREATE_PIT2.Value, &config);
        if (rc < 0)
            Fail.Ioctl(rc, KvmIoctls.KVM_CREATE_PIT2.Name, KvmIoctls.KVM_CREATE_PIT2.Value, KvmFdKind.Vm, rc switch
            {
                -(int)Errno.ENOENT => "the PIT needs the in-kernel PIC: call CreateIrqchip first (the split irqchip has no PIC)",
                -(int)Errno.EEXIST => "this VM already has a PIT",
                _ => null,
            });
    }

    /// <summary>
    /// Drives interrupt line <paramref name="irq"/> (a GSI on x86) high or low: <c>KVM_IRQ_LINE_STATUS</c> when
    /// <see cref="SupportsLineStatus"/>, else <c>KVM_IRQ_LINE</c>. An edge-triggered line needs high then low.
    /// </summary>
    /// <returns>With <c>KVM_IRQ_LINE_STATUS</c>, the kernel's status: &gt; 0 the number of CPUs it was delivered to,
    /// 0 coalesced (the previous interrupt is still pending), &lt; 0 masked or not routed. Null with plain
    /// <c>KVM_IRQ_LINE</c>, which reports nothing.</returns>
    /// <exception cref="KvmException">ENXIO: no in-kernel irqchip (create it first); EFAULT.</exception>
    /// <exception cref="ObjectDisposedException">The VM was disposed.</exception>
    public int? SetIrqLine(uint irq, bool level)
    {
        var line = new kvm_irq_level { irq = irq, level = level ? 1u : 0u };
        var (name, request) = SupportsLineStatus
            ? (KvmIoctls.KVM_IRQ_LINE_STATUS.Name, KvmIoctls.KVM_IRQ_LINE_STATUS.Value)
            : (KvmIoctls.KVM_IRQ_LINE.Name, KvmIoctls.KVM_IRQ_LINE.Value);
        // SAFETY: `line` is an 8-byte stack local of kvm_irq_level; KVM_IRQ_LINE_STATUS writes `status` back into it.
        var rc = _vm.VmIoctl(request, &line);
        if (rc < 0)
            Fail.Ioctl(rc, name, request, KvmFdKind.Vm, rc == -(int)Errno.ENXIO
                ? "there is no in-kernel irqchip: call CreateIrqchip (or enable the split irqchip) first"
                : $"irq {irq}, level {(level ? 1 : 0)}");
        return SupportsLineStatus ? line.status : null;
    }

    /// <summary>
    /// <c>KVM_SET_GSI_ROUTING</c>: replaces the whole GSI routing table with <paramref name="table"/> (passed as
    /// <c>struct kvm_irq_routing</c> followed by its entries). The table checked its entries as they were added;
    /// here the count and GSIs are checked against <see cref="MaxRoutes"/>.
    /// </summary>
    /// <exception cref="NotSupportedException"><c>KVM_CAP_IRQ_ROUTING</c> is 0 on this VM.</exception>
    /// <exception cref="ArgumentException">More entries than <see cref="MaxRoutes"/>, a GSI at or above it, or an
    /// MSI device id without <c>KVM_CAP_MSI_DEVID</c> (all EINVAL).</exception>
    /// <exception cref="KvmException">EINVAL: no in-kernel irqchip (x86 sets routes only with one), irqchip routes on
    /// a split irqchip, or an entry the kernel refuses; ENOMEM.</exception>
    /// <exception cref="ObjectDisposedException">The VM was disposed.</exception>
    public void SetGsiRouting(GsiRoutingTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        if (MaxRoutes <= 0)
            throw new NotSupportedException("KVM_SET_GSI_ROUTING needs KVM_CAP_IRQ_ROUTING, which this VM does not report");
        var entries = table.EntriesSpan;
        if (entries.Length > MaxRoutes)
            Fail.Argument(nameof(table), $"{entries.Length} routes exceed KVM_CAP_IRQ_ROUTING = {MaxRoutes} (EINVAL)");
        foreach (ref readonly var e in entries)
        {
            if (e.gsi >= (uint)MaxRoutes)
                Fail.Argument(nameof(table), $"GSI {e.gsi} is not below KVM_CAP_IRQ_ROUTING = {MaxRoutes} (EINVAL)");
            if (e.flags != 0 && !SupportsMsiDevid)
                Fail.Argument(nameof(table), $"the route of GSI {e.gsi} has a device id (KVM_MSI_VALID_DEVID), which needs KVM_CAP_MSI_DEVID (EINVAL)");
        }

        var bytes = (nuint)(sizeof(kvm_irq_routing) + entries.Length * sizeof(kvm_irq_routing_entry));
        var buffer = System.Runtime.InteropServices.NativeMemory.AllocZeroed(bytes);
        try
        {
            ref var header = ref *(kvm_irq_routing*)buffer;
            header.nr = (uint)entries.Length;
            entries.CopyTo(kvm_irq_routing.entries(ref header, entries.Length));
            // SAFETY: `buffer` holds the header plus exactly `nr` entries (sized above from the generated layouts) and
            // lives until the finally block; the kernel reads header.nr entries after the 8-byte header.
            var rc = _vm.VmIoctl(KvmIoctls.KVM_SET_GSI_ROUTING.Value, buffer);
            if (rc < 0)
                Fail.Ioctl(rc, KvmIoctls.KVM_SET_GSI_ROUTING.Name, KvmIoctls.KVM_SET_GSI_ROUTING.Value, KvmFdKind.Vm,
                    rc == -(int)Errno.EINVAL
                        ? $"{entries.Length} routes; x86 accepts routes only with an in-kernel irqchip, and irqchip routes only with the full one"
                        : $"{entries.Length} routes");
        }
        finally
        {
            System.Runtime.InteropServices.NativeMemory.Free(buffer);
        }
    }

    /// <summary><c>KVM_SIGNAL_MSI</c>: injects one message-signalled interrupt (x86: <paramref name="address"/> in the
    /// 0xFEExxxxx LAPIC window, destination in bits 19:12; vector and delivery mode in <paramref name="data"/>).</summary>
    /// <param name="address">The MSI address (address_hi:address_lo).</param>
    /// <param name="data">The MSI data.</param>
    /// <param name="deviceId">A device id (<c>KVM_MSI_VALID_DEVID</c>), arm64 ITS only.</param>
    /// <returns>&gt; 0: delivered to that many vCPUs; 0: a vCPU's LAPIC took it but did not accept it (e.g. the
    /// LAPIC is software-disabled, as after reset); -1: no vCPU matched the destination (for example before any vCPU
    /// exists) — the kernel returns -1 from the ioctl, which reaches userspace as EPERM and is mapped back here.</returns>
    /// <exception cref="NotSupportedException"><c>KVM_CAP_SIGNAL_MSI</c> is 0 on this VM.</exception>
    /// <exception cref="ArgumentException"><paramref name="deviceId"/> without <c>KVM_CAP_MSI_DEVID</c> (EINVAL).</exception>
    /// <exception cref="KvmException">EINVAL: no in-kernel irqchip (full or split); other errors of the delivery.</exception>
    /// <exception cref="ObjectDisposedException">The VM was disposed.</exception>
    public int SignalMsi(ulong address, uint data, uint? deviceId = null)
    {
        if (!SupportsSignalMsi)
            throw new NotSupportedException("KVM_SIGNAL_MSI needs KVM_CAP_SIGNAL_MSI, which this VM does not report");
        if (deviceId is not null && !SupportsMsiDevid)
            Fail.Argument(nameof(deviceId), "an MSI device id (KVM_MSI_VALID_DEVID) needs KVM_CAP_MSI_DEVID, which this VM does not report (EINVAL)");
        var msi = new kvm_msi
        {
            address_lo = (uint)address,
            address_hi = (uint)(address >> 32),
            data = data,
            flags = deviceId is null ? 0 : KvmConstants.KVM_MSI_VALID_DEVID,
            devid = deviceId ?? 0,
        };
        // SAFETY: `msi` is a zero-initialised 32-byte stack local of kvm_msi (pad zero); the kernel reads it.
        var rc = _vm.VmIoctl(KvmIoctls.KVM_SIGNAL_MSI.Value, &msi);
        // The kernel returns the delivery result -1 ("no vCPU took it") as the ioctl's value, which libc reports as
        // EPERM; the ioctl has no other source of EPERM.
        if (rc == -(int)Errno.EPERM)
            return -1;
        if (rc < 0)
            Fail.Ioctl(rc, KvmIoctls.KVM_SIGNAL_MSI.Name, KvmIoctls.KVM_SIGNAL_MSI.Value, KvmFdKind.Vm, rc == -(int)Errno.EINVAL
                ? "MSIs need an in-kernel irqchip: call CreateIrqchip (or enable the split irqchip) first"
                : $"address 0x{address:X}, data 0x{data:X}");
        return rc;
    }
}
