namespace Kvm;

/// <summary>One write the kernel coalesced (a copy of a <c>struct kvm_coalesced_mmio</c> ring entry).</summary>
/// <param name="Address">The guest-physical address (MMIO) or port (PIO) written.</param>
/// <param name="Length">Bytes written, 1..8.</param>
/// <param name="IsPio">True for a port write (<c>KVM_CAP_COALESCED_PIO</c> zone).</param>
/// <param name="Data">The written bytes, little-endian in the low <paramref name="Length"/> bytes.</param>
public readonly record struct CoalescedMmioEntry(ulong Address, int Length, bool IsPio, ulong Data);
