namespace Kvm;

/// <summary>A half-open range [<see cref="Start"/>, <see cref="End"/>) of ulong offsets.</summary>
/// <param name="Start">First offset in the range.</param>
/// <param name="End">First offset past the range (exclusive, so a range can end at <see cref="ulong.MaxValue"/>
/// without overflow).</param>
internal readonly record struct Extent(ulong Start, ulong End)
{
    /// <summary>End − Start.</summary>
    public ulong Length => End - Start;

    /// <inheritdoc />
    public override string ToString() => $"[0x{Start:X}, 0x{End:X})";
}
