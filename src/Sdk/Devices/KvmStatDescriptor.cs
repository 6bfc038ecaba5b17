using C = Kvm.Interop.KvmConstants;

namespace Kvm;

/// <summary>How a KVM statistic accumulates (<c>KVM_STATS_TYPE_*</c>, bits 3:0 of <c>kvm_stats_desc.flags</c>).</summary>
public enum KvmStatType
{
    /// <summary><c>KVM_STATS_TYPE_CUMULATIVE</c>: a counter that only grows.</summary>
    Cumulative = C.KVM_STATS_TYPE_CUMULATIVE,
    /// <summary><c>KVM_STATS_TYPE_INSTANT</c>: the current value of something.</summary>
    Instant = C.KVM_STATS_TYPE_INSTANT,
    /// <summary><c>KVM_STATS_TYPE_PEAK</c>: the highest value seen.</summary>
    Peak = C.KVM_STATS_TYPE_PEAK,
    /// <summary><c>KVM_STATS_TYPE_LINEAR_HIST</c>: a histogram with buckets of <see cref="KvmStatDescriptor.BucketSize"/>.</summary>
    LinearHistogram = C.KVM_STATS_TYPE_LINEAR_HIST,
    /// <summary><c>KVM_STATS_TYPE_LOG_HIST</c>: a histogram with power-of-two buckets.</summary>
    LogHistogram = C.KVM_STATS_TYPE_LOG_HIST,
}

/// <summary>The unit of a KVM statistic (<c>KVM_STATS_UNIT_*</c>, bits 7:4 of the flags, kept shifted as in C).</summary>
public enum KvmStatUnit
{
    /// <summary><c>KVM_STATS_UNIT_NONE</c>: a plain count.</summary>
    None = C.KVM_STATS_UNIT_NONE,
    /// <summary><c>KVM_STATS_UNIT_BYTES</c>.</summary>
    Bytes = C.KVM_STATS_UNIT_BYTES,
    /// <summary><c>KVM_STATS_UNIT_SECONDS</c> (scaled by the exponent, e.g. 10^-9: nanoseconds).</summary>
    Seconds = C.KVM_STATS_UNIT_SECONDS,
    /// <summary><c>KVM_STATS_UNIT_CYCLES</c>.</summary>
    Cycles = C.KVM_STATS_UNIT_CYCLES,
    /// <summary><c>KVM_STATS_UNIT_BOOLEAN</c>: 0 or 1.</summary>
    Boolean = C.KVM_STATS_UNIT_BOOLEAN,
}

/// <summary>The base of a statistic's exponent (<c>KVM_STATS_BASE_*</c>, bits 11:8 of the flags, kept shifted).</summary>
public enum KvmStatBase
{
    /// <summary><c>KVM_STATS_BASE_POW10</c>: value × 10^exponent.</summary>
    Pow10 = C.KVM_STATS_BASE_POW10,
    /// <summary><c>KVM_STATS_BASE_POW2</c>: value × 2^exponent.</summary>
    Pow2 = C.KVM_STATS_BASE_POW2,
}

/// <summary>
/// One statistic of a binary stats fd (<c>struct kvm_stats_desc</c> decoded): its name, how to read it, and where its
/// value(s) are in the data block. Values are u64s; <see cref="Index"/> and <see cref="Size"/> locate them in the
/// buffer <see cref="KvmStatsFd.ReadValues"/> fills.
/// </summary>
/// <param name="Name">The statistic's name, e.g. <c>remote_tlb_flush</c>, <c>exits</c>.</param>
/// <param name="Type">How it accumulates.</param>
/// <param name="Unit">Its unit.</param>
/// <param name="Base">The base of <paramref name="Exponent"/>.</param>
/// <param name="Exponent">The scale: value × base^exponent is in <paramref name="Unit"/>.</param>
/// <param name="Size">The number of u64 values (1, or the bucket count of a histogram).</param>
/// <param name="Offset">Byte offset of the first value in the data block (<c>kvm_stats_desc.offset</c>).</param>
/// <param name="BucketSize">Bucket width of a linear histogram; 0 otherwise.</param>
public sealed record KvmStatDescriptor(string Name, KvmStatType Type, KvmStatUnit Unit, KvmStatBase Base, int Exponent,
    int Size, int Offset, int BucketSize)
{
    /// <summary>Index of the first value in the u64 buffer <see cref="KvmStatsFd.ReadValues"/> fills (Offset / 8).</summary>
    public int Index => Offset / sizeof(ulong);

    /// <summary>The (first) value in a buffer filled by <see cref="KvmStatsFd.ReadValues"/>.</summary>
    public ulong Value(ReadOnlySpan<ulong> values) => values[Index];

    /// <summary>All <see cref="Size"/> values (the buckets of a histogram) in such a buffer.</summary>
    public ReadOnlySpan<ulong> Values(ReadOnlySpan<ulong> values) => values.Slice(Index, Size);

    /// <summary>Decodes the flags word of <c>kvm_stats_desc</c>.</summary>
    internal static (KvmStatType, KvmStatUnit, KvmStatBase) DecodeFlags(uint flags) => (
        (KvmStatType)(flags & C.KVM_STATS_TYPE_MASK),
        (KvmStatUnit)(flags & C.KVM_STATS_UNIT_MASK),
        (KvmStatBase)(flags & C.KVM_STATS_BASE_MASK));
}
