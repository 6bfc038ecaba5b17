using System.Buffers.Binary;
using System.IO.Compression;

namespace LinuxVmm.Arm64;

/// <summary>
/// An arm64 Linux kernel <c>Image</c> (Documentation/arch/arm64/booting.rst): a 64-byte header (branch, text_offset at
/// byte 8, image_size at 16, flags at 24, the magic "ARM\x64" at 56), loaded <c>text_offset</c> bytes above a 2 MiB
/// aligned base and entered at its first byte with the MMU off and X0 = the device tree's address. Debian ships it
/// gzip-compressed as vmlinuz: that is undone here.
/// </summary>
internal sealed class Arm64Image
{
    private const uint Magic = 0x644d_5241;   // "ARM\x64", little-endian

    private Arm64Image(byte[] bytes, ulong textOffset, ulong imageSize, ulong flags)
    {
        Bytes = bytes;
        TextOffset = textOffset;
        ImageSize = imageSize;
        Flags = flags;
    }

    /// <summary>The uncompressed Image.</summary>
    public byte[] Bytes { get; }

    /// <summary>Where the Image goes above its 2 MiB aligned base.</summary>
    public ulong TextOffset { get; }

    /// <summary>How much memory the kernel claims from its load address (its .bss included): nothing else may sit there.</summary>
    public ulong ImageSize { get; }

    /// <summary>Header flags: bit 0 big-endian, bits 2:1 page size, bit 3 "may be placed anywhere in RAM".</summary>
    public ulong Flags { get; }

    /// <summary>Parses an Image or a gzip-compressed one.</summary>
    /// <exception cref="InvalidDataException">Not an arm64 Image (no magic), or a big-endian one.</exception>
    public static Arm64Image Parse(byte[] file)
    {
        var bytes = file.Length > 2 && file[0] == 0x1f && file[1] == 0x8b ? Gunzip(file) : file;
        if (bytes.Length < 64 || BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(56)) != Magic)
            throw new InvalidDataException("not an arm64 Linux Image (no \"ARM\\x64\" magic at byte 56)");
        var textOffset = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(8));
        var imageSize = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(16));
        var flags = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(24));
        if ((flags & 1) != 0)
            throw new InvalidDataException("a big-endian arm64 kernel; this VMM runs little-endian guests");
        // image_size 0: a kernel older than 3.17, whose text_offset is 0x80000 and whose size is unknown.
        return new Arm64Image(bytes, textOffset, imageSize == 0 ? (ulong)bytes.Length : imageSize, flags);
    }

    private static byte[] Gunzip(byte[] file)
    {
        using var input = new GZipStream(new MemoryStream(file), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }
}
