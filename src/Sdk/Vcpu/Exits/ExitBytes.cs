using System.Diagnostics.CodeAnalysis;

namespace Kvm;

/// <summary>The data bytes of a port I/O or MMIO exit, copied into a <see cref="VcpuExitSnapshot"/>: up to
/// <see cref="Capacity"/> bytes inline (no allocation). <see cref="TotalLength"/> is the exit's full length; string I/O
/// can move more than fits, and then only the first <see cref="Capacity"/> bytes are kept
/// (<see cref="IsTruncated"/>).</summary>
public readonly struct ExitBytes : IEquatable<ExitBytes>
{
    /// <summary>Bytes kept inline: 16 (an MMIO access is at most 8, a single port access at most 4).</summary>
    public const int Capacity = 16;

    private readonly ExitBytes16 _bytes;

    internal ExitBytes(ReadOnlySpan<byte> source, int totalLength)
    {
        TotalLength = totalLength;
        Length = Math.Min(source.Length, Capacity);
        source[..Length].CopyTo(_bytes);
    }

    /// <summary>Bytes kept (at most <see cref="Capacity"/>).</summary>
    public int Length { get; }

    /// <summary>The exit's data length (<c>size × count</c> for port I/O, <c>len</c> for MMIO).</summary>
    public int TotalLength { get; }

    /// <summary>True when the exit moved more than <see cref="Capacity"/> bytes.</summary>
    public bool IsTruncated => TotalLength > Length;

    /// <summary>Byte <paramref name="index"/> (0 ≤ index &lt; <see cref="Length"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Outside the bytes kept.</exception>
    public byte this[int index] => (uint)index < (uint)Length
        ? _bytes[index]
        : throw new ArgumentOutOfRangeException(nameof(index), index, $"the snapshot keeps {Length} data bytes");

    /// <summary>The bytes kept, as a span over this value (keep the value in a variable to take it).</summary>
    [UnscopedRef]
    public ReadOnlySpan<byte> Span => ((ReadOnlySpan<byte>)_bytes)[..Length];

    /// <summary>Copies the bytes kept to <paramref name="destination"/>; returns how many.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="Length"/>.</exception>
    public int CopyTo(Span<byte> destination)
    {
        if (destination.Length < Length)
            Fail.Argument(nameof(destination), $"the destination holds {destination.Length} bytes; the snapshot keeps {Length}");
        ((ReadOnlySpan<byte>)_bytes)[..Length].CopyTo(destination);
        return Length;
    }

    /// <summary>The bytes kept as little-endian unsigned integer (up to 8 bytes; the MMIO/port value).</summary>
    public ulong ToUInt64()
    {
        ulong v = 0;
        for (var i = Math.Min(Length, 8) - 1; i >= 0; i--)
            v = (v << 8) | _bytes[i];
        return v;
    }

    /// <inheritdoc />
    public bool Equals(ExitBytes other) => TotalLength == other.TotalLength && Span.SequenceEqual(other.Span);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is ExitBytes b && Equals(b);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var h = new HashCode();
        h.Add(TotalLength);
        h.AddBytes(Span);
        return h.ToHashCode();
    }

    /// <summary>Hex bytes, e.g. <c>42 00</c>, with <c>…(+n)</c> when truncated.</summary>
    public override string ToString()
    {
        var s = Convert.ToHexString(Span);
        var spaced = string.Join(' ', Enumerable.Range(0, s.Length / 2).Select(i => s.Substring(i * 2, 2)));
        return IsTruncated ? $"{spaced} …(+{TotalLength - Length})" : spaced;
    }

    /// <summary>Value equality.</summary>
    public static bool operator ==(ExitBytes a, ExitBytes b) => a.Equals(b);

    /// <summary>Value inequality.</summary>
    public static bool operator !=(ExitBytes a, ExitBytes b) => !a.Equals(b);
}
