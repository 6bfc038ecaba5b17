using System.Buffers.Binary;
using System.Text;

namespace Kvm.Fdt;

/// <summary>Encodes property values as the device tree stores them: cells are big-endian 32-bit, a 64-bit value is two
/// cells (high first), a string is NUL-terminated ASCII, a string list is the strings back to back.</summary>
internal static class FdtValue
{
    public static byte[] Cells(ReadOnlySpan<uint> cells)
    {
        var bytes = new byte[cells.Length * 4];
        for (var i = 0; i < cells.Length; i++)
            BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(i * 4), cells[i]);
        return bytes;
    }

    public static byte[] Longs(ReadOnlySpan<ulong> values)
    {
        var bytes = new byte[values.Length * 8];
        for (var i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(i * 8), values[i]);
        return bytes;
    }

    public static byte[] Strings(ReadOnlySpan<string> values)
    {
        var bytes = new List<byte>();
        foreach (var s in values)
        {
            bytes.AddRange(Encoding.ASCII.GetBytes(s));
            bytes.Add(0);
        }
        return [.. bytes];
    }
}
