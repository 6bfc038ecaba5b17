namespace Kvm;

/// <summary>An owned coalesced MMIO or PIO zone (<see cref="CoalescedMmioFeature.Register"/>):
/// <see cref="Dispose"/> unregisters it with <c>KVM_UNREGISTER_COALESCED_MMIO</c>.</summary>
public sealed class CoalescedZone : IDisposable
{
    private readonly CoalescedMmioFeature _feature;

    internal CoalescedZone(CoalescedMmioFeature feature, ulong address, uint size, bool pio)
    {
        _feature = feature;
        Address = address;
        Size = size;
        IsPio = pio;
    }

    /// <summary>First guest-physical address (or port).</summary>
    public ulong Address { get; }

    /// <summary>Bytes (or ports) covered.</summary>
    public uint Size { get; }

    /// <summary>True for a port-I/O zone.</summary>
    public bool IsPio { get; }

    /// <summary>True once unregistered (disposed, or its VM disposed).</summary>
    public bool IsUnregistered { get; internal set; }

    /// <summary><c>KVM_UNREGISTER_COALESCED_MMIO</c> of this zone: writes to it exit to userspace again. Entries it
    /// already put in the ring stay there for <see cref="CoalescedMmioFeature.Drain"/>. Idempotent; after the VM's
    /// Dispose it does nothing.</summary>
    /// <exception cref="KvmException">The kernel refused.</exception>
    public void Dispose() => _feature.Unregister(this);

    /// <inheritdoc />
    public override string ToString() => $"coalesced {(IsPio ? "PIO" : "MMIO")} [0x{Address:X}, +0x{Size:X})";
}
