using Kvm.Interop;

namespace Kvm;

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
