using System.Buffers.Binary;

namespace LinuxVmm;

/// <summary>
/// An uncompressed kernel (<c>vmlinux</c>, ELF64): its loadable segments go to their physical addresses and the vCPU
/// starts at the 64-bit entry (<c>startup_64</c>) with the zero page in RSI — the same protocol as a bzImage's 64-bit
/// entry, minus the in-guest decompressor. Firecracker boots x86 guests this way.
/// </summary>
internal sealed class VmlinuxElf
{
    private const uint PtLoad = 1;

    private VmlinuxElf(byte[] image, ulong entry, List<(ulong PhysicalAddress, int Offset, int FileSize, ulong MemorySize)> segments)
    {
        Image = image;
        Entry = entry;
        Segments = segments;
    }

    public byte[] Image { get; }

    /// <summary>The physical address of startup_64 (e_entry).</summary>
    public ulong Entry { get; }

    public IReadOnlyList<(ulong PhysicalAddress, int Offset, int FileSize, ulong MemorySize)> Segments { get; }

    /// <summary>The first byte past the highest segment: where the kernel's image ends in guest-physical memory.</summary>
    public ulong End => Segments.Max(s => s.PhysicalAddress + s.MemorySize);

    public static bool IsElf(byte[] image) => image.Length > 64 && image[0] == 0x7F && image[1] == (byte)'E' && image[2] == (byte)'L' && image[3] == (byte)'F';

    public static VmlinuxElf Parse(byte[] image)
    {
        if (!IsElf(image) || image[4] != 2 || image[5] != 1)
            throw new InvalidDataException("not a little-endian ELF64 vmlinux");
        var entry = BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(0x18));
        var phoff = (int)BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(0x20));
        var phentsize = BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(0x36));
        var phnum = BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(0x38));
        var segments = new List<(ulong, int, int, ulong)>();
        for (var i = 0; i < phnum; i++)
        {
            var ph = image.AsSpan(phoff + i * phentsize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(ph) != PtLoad)
                continue;
            var offset = (int)BinaryPrimitives.ReadUInt64LittleEndian(ph[0x08..]);
            var paddr = BinaryPrimitives.ReadUInt64LittleEndian(ph[0x18..]);
            var filesz = (int)BinaryPrimitives.ReadUInt64LittleEndian(ph[0x20..]);
            var memsz = BinaryPrimitives.ReadUInt64LittleEndian(ph[0x28..]);
            segments.Add((paddr, offset, filesz, memsz));
        }
        if (segments.Count == 0)
            throw new InvalidDataException("the ELF has no loadable segment");
        // e_entry is a virtual address in some builds and physical in others: make it physical through its segment.
        return new VmlinuxElf(image, entry >= 0xFFFF_FFFF_8000_0000 ? entry - 0xFFFF_FFFF_8000_0000 : entry, segments);
    }
}
