using System.Runtime.InteropServices;
using Kvm.Interop;
using X86 = Kvm.Interop.X86_64.ArchConstants;

namespace Kvm;

/// <summary>
/// A GSI routing table for <see cref="IrqchipFeature.SetGsiRouting"/> (<c>KVM_SET_GSI_ROUTING</c>), built from typed
/// irqchip and MSI routes (<c>kvm_irq_routing_entry</c>). Each <c>Add</c> checks the kernel's per-entry rules first,
/// naming the rule: x86 PIC pins 0..7, IOAPIC pins 0..23; a GSI may go to several irqchips but to each irqchip once,
/// and a GSI with an MSI route has no other route (all EINVAL in the kernel). Limits that depend on the VM
/// (<c>KVM_CAP_IRQ_ROUTING</c>) are checked by <see cref="IrqchipFeature.SetGsiRouting"/>.
/// </summary>
public sealed class GsiRoutingTable
{
    private readonly List<kvm_irq_routing_entry> _entries = new();

    /// <summary>Number of routes.</summary>
    public int Count => _entries.Count;

    /// <summary>The routes in order, as the kernel will read them.</summary>
    public IReadOnlyList<kvm_irq_routing_entry> Entries => _entries;

    internal ReadOnlySpan<kvm_irq_routing_entry> EntriesSpan => CollectionsMarshal.AsSpan(_entries);

    /// <summary>The routing x86 KVM installs with <c>KVM_CREATE_IRQCHIP</c>: GSI 0..15 to the PIC (master pins 0..7,
    /// slave pins 0..7) and to IOAPIC pin = GSI; GSI 16..23 to the IOAPIC only. Start from it to add MSI routes
    /// without losing the legacy lines.</summary>
    public static GsiRoutingTable X86Default()
    {
        var t = new GsiRoutingTable();
        for (uint gsi = 0; gsi < X86.KVM_IOAPIC_NUM_PINS; gsi++)
        {
            if (gsi < 8)
                t.AddIrqchip(gsi, IrqchipKind.PicMaster, gsi);
            else if (gsi < 16)
                t.AddIrqchip(gsi, IrqchipKind.PicSlave, gsi - 8);
            t.AddIrqchip(gsi, IrqchipKind.Ioapic, gsi);
        }
        return t;
    }

    /// <summary>Routes <paramref name="gsi"/> to <paramref name="pin"/> of an x86 in-kernel irqchip
    /// (<c>KVM_IRQ_ROUTING_IRQCHIP</c>).</summary>
    /// <exception cref="ArgumentException">The chip is unknown, the pin is out of range (PIC 0..7, IOAPIC 0..23), the
    /// GSI already routes to this chip, or it has an MSI route (all EINVAL in the kernel).</exception>
    public GsiRoutingTable AddIrqchip(uint gsi, IrqchipKind chip, uint pin)
    {
        var pins = chip switch
        {
            IrqchipKind.PicMaster or IrqchipKind.PicSlave => 8u,
            IrqchipKind.Ioapic => (uint)X86.KVM_IOAPIC_NUM_PINS,
            _ => 0u,
        };
        if (pins == 0)
            Fail.Argument(nameof(chip), $"irqchip {(uint)chip} is not below KVM_NR_IRQCHIPS = {X86.KVM_NR_IRQCHIPS} (EINVAL)");
        if (pin >= pins)
            Fail.Range(nameof(pin), pin, $"{chip} pins are 0..{pins - 1} (EINVAL)");
        foreach (var e in _entries)
        {
            if (e.gsi != gsi)
                continue;
            if (e.type != KvmConstants.KVM_IRQ_ROUTING_IRQCHIP)
                Fail.Argument(nameof(gsi), $"GSI {gsi} already has an MSI route; a GSI with a non-irqchip route has no other route (EINVAL)");
            if (e.u.irqchip.irqchip == (uint)chip)
                Fail.Argument(nameof(gsi), $"GSI {gsi} already routes to {chip}; a GSI goes to each irqchip at most once (EINVAL)");
        }
        var entry = new kvm_irq_routing_entry { gsi = gsi, type = KvmConstants.KVM_IRQ_ROUTING_IRQCHIP };
        entry.u.irqchip.irqchip = (uint)chip;
        entry.u.irqchip.pin = pin;
        _entries.Add(entry);
        return this;
    }

    /// <summary>Routes <paramref name="gsi"/> to a message-signalled interrupt (<c>KVM_IRQ_ROUTING_MSI</c>): an irqfd
    /// or <see cref="IrqchipFeature.SetIrqLine"/> on the GSI then sends this MSI.</summary>
    /// <param name="gsi">The GSI.</param>
    /// <param name="address">The MSI address (address_hi:address_lo; x86: 0xFEExxxxx).</param>
    /// <param name="data">The MSI data (x86: vector and delivery mode).</param>
    /// <param name="deviceId">A device id (<c>KVM_MSI_VALID_DEVID</c>; arm64 ITS, needs <c>KVM_CAP_MSI_DEVID</c>).</param>
    /// <exception cref="ArgumentException">The GSI already has a route (EINVAL: a GSI with an MSI route has only that one).</exception>
    public GsiRoutingTable AddMsi(uint gsi, ulong address, uint data, uint? deviceId = null)
    {
        foreach (var e in _entries)
            if (e.gsi == gsi)
                Fail.Argument(nameof(gsi), $"GSI {gsi} already has a route; an MSI route must be the GSI's only route (EINVAL)");
        var entry = new kvm_irq_routing_entry
        {
            gsi = gsi,
            type = KvmConstants.KVM_IRQ_ROUTING_MSI,
            flags = deviceId is null ? 0 : KvmConstants.KVM_MSI_VALID_DEVID,
        };
        entry.u.msi.address_lo = (uint)address;
        entry.u.msi.address_hi = (uint)(address >> 32);
        entry.u.msi.data = data;
        entry.u.msi.devid = deviceId ?? 0;
        _entries.Add(entry);
        return this;
    }

    /// <summary>Removes every route of <paramref name="gsi"/>; the number removed.</summary>
    public int Remove(uint gsi) => _entries.RemoveAll(e => e.gsi == gsi);
}
