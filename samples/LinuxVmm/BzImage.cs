using System.Buffers.Binary;

namespace LinuxVmm;

/// <summary>
/// A Linux x86 bzImage, read as the boot protocol (Documentation/arch/x86/boot.rst) describes it: the real-mode setup
/// sectors, whose header we copy into the zero page, and the protected-mode kernel that is loaded at 1 MiB and entered
/// in 64-bit mode at its start + 0x200.
/// </summary>
internal sealed class BzImage
{
    // Offsets in the image (and in boot_params, which embeds the same setup header at 0x1F1).
    public const int SetupHeaderOffset = 0x1F1;
    private const int SetupSectsOffset = 0x1F1;
    private const int HeaderMagicOffset = 0x202;          // "HdrS"
    private const int VersionOffset = 0x206;
    private const int LoadFlagsOffset = 0x211;
    private const int InitrdAddrMaxOffset = 0x22C;
    private const int XLoadFlagsOffset = 0x236;
    private const int CmdlineSizeOffset = 0x238;
    private const int InitSizeOffset = 0x260;
    private const ushort XlfKernel64 = 1 << 0;            // has the 64-bit entry point at +0x200
    private const byte LoadedHigh = 1 << 0;               // protected-mode code loads at 1 MiB

    private BzImage(byte[] image, int setupBytes)
    {
        Image = image;
        SetupBytes = setupBytes;
    }

    public byte[] Image { get; }

    /// <summary>Bytes of the real-mode part (boot sector + setup sectors).</summary>
    public int SetupBytes { get; }

    /// <summary>The setup header as it appears in the image: copied into boot_params from 0x1F1 on.</summary>
    public ReadOnlySpan<byte> SetupHeader => Image.AsSpan(SetupHeaderOffset, 0x268 - SetupHeaderOffset);

    /// <summary>The protected-mode kernel (compressed payload plus its decompressor).</summary>
    public ReadOnlySpan<byte> ProtectedModeKernel => Image.AsSpan(SetupBytes);

    public ushort Version => BinaryPrimitives.ReadUInt16LittleEndian(Image.AsSpan(VersionOffset));

    public uint InitrdAddrMax => BinaryPrimitives.ReadUInt32LittleEndian(Image.AsSpan(InitrdAddrMaxOffset));

    public uint CmdlineSize => BinaryPrimitives.ReadUInt32LittleEndian(Image.AsSpan(CmdlineSizeOffset));

    /// <summary>Memory the kernel needs from its load address while it decompresses and starts.</summary>
    public uint InitSize => BinaryPrimitives.ReadUInt32LittleEndian(Image.AsSpan(InitSizeOffset));

    public static BzImage Parse(byte[] image)
    {
        if (image.Length < 0x1000 || BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(HeaderMagicOffset)) != 0x53726448)
            throw new InvalidDataException("not a bzImage: no \"HdrS\" setup header at 0x202");
        var setupSects = image[SetupSectsOffset] == 0 ? 4 : image[SetupSectsOffset];
        var bz = new BzImage(image, (setupSects + 1) * 512);
        if (bz.Version < 0x020C)
            throw new InvalidDataException($"boot protocol {bz.Version >> 8}.{bz.Version & 0xFF} has no 64-bit entry (2.12 needed)");
        if ((BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(XLoadFlagsOffset)) & XlfKernel64) == 0)
            throw new InvalidDataException("the kernel has no 64-bit entry point (XLF_KERNEL_64)");
        if ((image[LoadFlagsOffset] & LoadedHigh) == 0)
            throw new InvalidDataException("a zImage (loaded low) cannot be booted; a bzImage is needed");
        return bz;
    }
}
