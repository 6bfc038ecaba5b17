using System.Buffers.Binary;

namespace LinuxVmm;

/// <summary>
/// boot_params ("the zero page"), the 4 KiB block the 64-bit boot protocol hands the kernel in RSI: the setup header
/// from the bzImage plus what the loader fills in — where the command line and initramfs are, and the e820 memory
/// map, which this VMM builds from its own memslots.
/// </summary>
internal sealed class ZeroPage
{
    private const int E820EntriesOffset = 0x1E8;
    private const int TypeOfLoaderOffset = 0x210;
    private const int LoadFlagsOffset = 0x211;
    private const int RamdiskImageOffset = 0x218;
    private const int RamdiskSizeOffset = 0x21C;
    private const int HeapEndPtrOffset = 0x224;
    private const int CmdLinePtrOffset = 0x228;
    private const int E820TableOffset = 0x2D0;
    private const int E820EntrySize = 20;                 // u64 addr, u64 size, u32 type
    private const int E820MaxEntries = 128;
    private const byte CanUseHeap = 1 << 7;

    /// <summary>e820 types.</summary>
    public const uint E820Ram = 1, E820Reserved = 2;

    private readonly byte[] _page = new byte[4096];
    private int _e820Count;

    /// <summary>The zero page for a bzImage: its own setup header, then the loader's fields.</summary>
    public ZeroPage(BzImage kernel) : this()
    {
        kernel.SetupHeader.CopyTo(_page.AsSpan(BzImage.SetupHeaderOffset));
        _page[TypeOfLoaderOffset] = 0xFF;                  // "undefined" loader
        _page[LoadFlagsOffset] |= CanUseHeap;
    }

    /// <summary>The zero page for a vmlinux, which has no setup header of its own: the fields the kernel checks.</summary>
    public ZeroPage(uint kernelAlignment) : this()
    {
        BinaryPrimitives.WriteUInt16LittleEndian(_page.AsSpan(0x1FE), 0xAA55);         // boot_flag
        BinaryPrimitives.WriteUInt32LittleEndian(_page.AsSpan(0x202), 0x53726448);     // "HdrS"
        BinaryPrimitives.WriteUInt16LittleEndian(_page.AsSpan(0x206), 0x020F);         // protocol 2.15
        _page[TypeOfLoaderOffset] = 0xFF;
        _page[LoadFlagsOffset] = 1 | CanUseHeap;                                      // LOADED_HIGH
        BinaryPrimitives.WriteUInt32LittleEndian(_page.AsSpan(0x230), kernelAlignment);
        BinaryPrimitives.WriteUInt32LittleEndian(_page.AsSpan(0x238), 2047);           // cmdline_size
    }

    private ZeroPage()
    {
        BinaryPrimitives.WriteUInt16LittleEndian(_page.AsSpan(HeapEndPtrOffset), 0xFE00);
    }

    public ReadOnlySpan<byte> Bytes => _page;

    public void SetCommandLine(ulong address) =>
        BinaryPrimitives.WriteUInt32LittleEndian(_page.AsSpan(CmdLinePtrOffset), checked((uint)address));

    public void SetInitramfs(ulong address, ulong size)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_page.AsSpan(RamdiskImageOffset), checked((uint)address));
        BinaryPrimitives.WriteUInt32LittleEndian(_page.AsSpan(RamdiskSizeOffset), checked((uint)size));
    }

    public void AddMemory(ulong address, ulong size, uint type)
    {
        if (_e820Count == E820MaxEntries)
            throw new InvalidOperationException("the zero page holds at most 128 e820 entries");
        var entry = _page.AsSpan(E820TableOffset + _e820Count * E820EntrySize, E820EntrySize);
        BinaryPrimitives.WriteUInt64LittleEndian(entry, address);
        BinaryPrimitives.WriteUInt64LittleEndian(entry[8..], size);
        BinaryPrimitives.WriteUInt32LittleEndian(entry[16..], type);
        _page[E820EntriesOffset] = (byte)++_e820Count;
    }
}
