namespace Kvm;

/// <summary>
/// One piece of a guest-physical range conversion: the part of the range that lies in one memslot (or, for the
/// VM-level backend, in a gap between memslots, <see cref="Slot"/> null). In-place backends convert each piece with one
/// <c>KVM_SET_MEMORY_ATTRIBUTES2</c> on that slot's guest_memfd fd, at <see cref="GuestMemfdOffset"/>.
/// </summary>
/// <param name="Gpa">Guest-physical start, page aligned.</param>
/// <param name="Size">Bytes, page aligned, non-zero.</param>
/// <param name="To">The state the piece is converted to.</param>
/// <param name="Slot">The memslot the piece lies in; null in a gap (VM-level backend only).</param>
public sealed record ConversionPiece(ulong Gpa, ulong Size, PageState To, SlotHandle? Slot)
{
    /// <summary>The piece's offset in the slot's guest_memfd file; null when the slot has no guest_memfd.</summary>
    public ulong? GuestMemfdOffset => Slot?.GuestMemfd is null ? null : Slot.GuestMemfdOffset + (Gpa - Slot.GuestPhysicalAddress);

    /// <inheritdoc />
    public override string ToString() =>
        $"[0x{Gpa:X}, 0x{Gpa + Size:X}) -> {To}" + (GuestMemfdOffset is { } o ? $" (guest_memfd+0x{o:X})" : "");
}

/// <summary>
/// Told about every piece of a <see cref="GuestRangeConverter"/> conversion, in order, on the converting thread: the
/// shape a VFIO/IOMMU layer needs (unmap a range from the IOMMU before it goes private, map it again after it went
/// shared), and the place to drop page references when the kernel answers EAGAIN.
/// </summary>
public interface IConversionListener
{
    /// <summary>Before the piece's ioctl. An exception here stops the conversion before that piece (no syscall).</summary>
    void Before(ConversionPiece piece);

    /// <summary>After the piece's last attempt, with the kernel's answer.</summary>
    void After(ConversionPiece piece, KvmResult result);

    /// <summary>The kernel answered EAGAIN: a page at <paramref name="errorOffset"/> (guest_memfd file offset) is still
    /// referenced, e.g. pinned for DMA. Release the references; return true to have the piece retried.</summary>
    /// <param name="piece">The piece.</param>
    /// <param name="errorOffset">The kernel's <c>error_offset</c>.</param>
    /// <param name="attempt">1 for the first EAGAIN of this piece.</param>
    bool OnBusy(ConversionPiece piece, ulong errorOffset, int attempt) => false;
}

/// <summary>How far a <see cref="GuestRangeConverter"/> conversion got.</summary>
/// <param name="Gpa">The requested start.</param>
/// <param name="Size">The requested size.</param>
/// <param name="Converted">Bytes converted from <paramref name="Gpa"/> before the failing piece (all of
/// <paramref name="Size"/> on success). Pieces are converted in address order, so [Gpa, Gpa + Converted) is in the new
/// state and nothing after it was attempted except <paramref name="FailedPiece"/>.</param>
/// <param name="Error">The kernel's refusal of <paramref name="FailedPiece"/> (with its error_offset); success when complete.</param>
/// <param name="FailedPiece">The piece the kernel refused; null on success.</param>
/// <param name="Retries">EAGAIN retries made in total.</param>
/// <param name="Discarded">Bytes discarded by <see cref="DiscardPolicy.DiscardUnusedSide"/>.</param>
public readonly record struct RangeConversionResult(ulong Gpa, ulong Size, ulong Converted, KvmResult Error,
    ConversionPiece? FailedPiece, int Retries, ulong Discarded)
{
    /// <summary>True when the whole range was converted.</summary>
    public bool IsComplete => Error.IsSuccess && Converted == Size;

    /// <inheritdoc />
    public override string ToString() => IsComplete
        ? $"converted [0x{Gpa:X}, 0x{Gpa + Size:X})"
        : $"converted 0x{Converted:X} of 0x{Size:X} bytes from 0x{Gpa:X}; {FailedPiece} failed: {Error}" +
          (Error.ErrorOffset is { } eo ? $" at guest_memfd offset 0x{eo:X}" : "");
}
