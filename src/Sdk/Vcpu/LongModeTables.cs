using System.Buffers.Binary;

namespace Kvm;

/// <summary>
/// Where a 64-bit guest's GDT and identity page tables live in guest-physical memory, for
/// <see cref="VcpuFd.EnterLongMode"/>. Either describe tables you wrote yourself, or let <see cref="Write(HostMapping, ulong, ulong, ulong, ulong)"/>
/// write a minimal set: a GDT with the Linux 64-bit boot protocol's selectors (<see cref="BootCodeSelector"/> 0x10, a
/// 64-bit code segment; <see cref="BootDataSelector"/> 0x18, a flat data segment) and page tables that identity-map
/// the first <c>identityBytes</c> of guest-physical memory with 2 MiB pages (PML4 → PDPT → page directories).
/// </summary>
/// <param name="GdtAddress">Guest-physical address of the GDT.</param>
/// <param name="GdtLimit">GDT limit (size in bytes − 1).</param>
/// <param name="Pml4Address">Guest-physical address of the PML4 (CR3), 4 KiB aligned.</param>
/// <param name="CodeSelector">The 64-bit code segment's selector.</param>
/// <param name="DataSelector">The flat data segment's selector (DS, ES, FS, GS, SS).</param>
public readonly record struct LongModeTables(ulong GdtAddress, ushort GdtLimit, ulong Pml4Address,
    ushort CodeSelector = LongModeTables.BootCodeSelector, ushort DataSelector = LongModeTables.BootDataSelector)
{
    /// <summary><c>__BOOT_CS</c> of the Linux boot protocol: GDT entry 2.</summary>
    public const ushort BootCodeSelector = 0x10;

    /// <summary><c>__BOOT_DS</c> of the Linux boot protocol: GDT entry 3.</summary>
    public const ushort BootDataSelector = 0x18;

    /// <summary>Bytes of the GDT <see cref="Write(HostMapping, ulong, ulong, ulong, ulong)"/> writes: null, unused,
    /// code (0x10), data (0x18).</summary>
    public const int GdtSize = 4 * 8;

    /// <summary>The default identity-mapped range: the first 1 GiB.</summary>
    public const ulong DefaultIdentityBytes = 1UL << 30;

    private const ulong Page = 4096, Huge = 2UL << 20, GiB = 1UL << 30;

    // Flat 4 GiB descriptors (base 0, limit 0xFFFFF, G=1): code P|S|execute/read/accessed with L=1 (64-bit) and D=0;
    // data P|S|read/write/accessed with D/B=1.
    internal const ulong Code64Descriptor = 0x00AF_9B00_0000_FFFF;
    internal const ulong DataDescriptor = 0x00CF_9300_0000_FFFF;

    // Page-table entry bits: present, writable, page size (a 2 MiB page in a page directory).
    private const ulong Present = 1, Writable = 2, PageSize = 0x80;

    /// <summary>Bytes the page tables for <paramref name="identityBytes"/> take: a PML4, a PDPT and one page directory
    /// per started GiB, 4 KiB each, contiguous from the PML4.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="identityBytes"/> is not a non-zero multiple of
    /// 2 MiB up to 512 GiB (one PML4 entry).</exception>
    public static ulong PageTablesSize(ulong identityBytes)
    {
        if (identityBytes == 0 || identityBytes % Huge != 0 || identityBytes > 512 * GiB)
            Fail.Range(nameof(identityBytes), identityBytes, "the identity-mapped size must be a non-zero multiple of 2 MiB, at most 512 GiB");
        return (2 + (identityBytes + GiB - 1) / GiB) * Page;
    }

    /// <summary>
    /// Writes the GDT at <paramref name="gdtAddress"/> and identity page tables at <paramref name="pml4Address"/> into
    /// <paramref name="memory"/>, whose byte 0 is guest-physical <paramref name="memoryAddress"/>, through leases (so a
    /// private guest_memfd page is refused, never touched).
    /// </summary>
    /// <exception cref="ArgumentException">An address is misaligned (GDT: 8 bytes; PML4: 4 KiB), the two ranges
    /// overlap, or a range lies outside <paramref name="memory"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A bad <paramref name="identityBytes"/> (see <see cref="PageTablesSize"/>).</exception>
    /// <exception cref="InvalidOperationException">A range covers pages the SDK knows are private.</exception>
    public static LongModeTables Write(HostMapping memory, ulong memoryAddress, ulong gdtAddress, ulong pml4Address,
        ulong identityBytes = DefaultIdentityBytes)
    {
        ArgumentNullException.ThrowIfNull(memory);
        var tablesSize = PageTablesSize(identityBytes);
        if (gdtAddress % 8 != 0)
            Fail.Argument(nameof(gdtAddress), $"the GDT at 0x{gdtAddress:X} must be 8-byte aligned");
        if (pml4Address % Page != 0)
            Fail.Argument(nameof(pml4Address), $"the PML4 at 0x{pml4Address:X} must be 4 KiB aligned (CR3)");
        if (gdtAddress < pml4Address + tablesSize && pml4Address < gdtAddress + GdtSize)
            Fail.Argument(nameof(gdtAddress), $"the GDT [0x{gdtAddress:X}, +{GdtSize}) overlaps the page tables [0x{pml4Address:X}, +0x{tablesSize:X})");
        var gdtOffset = OffsetIn(memory, memoryAddress, gdtAddress, GdtSize, nameof(gdtAddress));
        var tablesOffset = OffsetIn(memory, memoryAddress, pml4Address, tablesSize, nameof(pml4Address));

        using (var gdt = memory.Lease(gdtOffset, GdtSize))
        {
            var g = gdt.Span;
            g.Clear();
            BinaryPrimitives.WriteUInt64LittleEndian(g[(BootCodeSelector)..], Code64Descriptor);
            BinaryPrimitives.WriteUInt64LittleEndian(g[(BootDataSelector)..], DataDescriptor);
        }
        using (var tables = memory.Lease(tablesOffset, (int)tablesSize))
        {
            var t = tables.Span;
            t.Clear();
            var pdpt = pml4Address + Page;
            BinaryPrimitives.WriteUInt64LittleEndian(t, pdpt | Present | Writable);
            var pages = identityBytes / Huge;
            for (ulong i = 0; i < pages; i++)
            {
                var pd = pml4Address + (2 + i / 512) * Page;
                if (i % 512 == 0)
                    BinaryPrimitives.WriteUInt64LittleEndian(t[(int)(Page + i / 512 * 8)..], pd | Present | Writable);
                BinaryPrimitives.WriteUInt64LittleEndian(t[(int)(pd - pml4Address + i % 512 * 8)..], i * Huge | Present | Writable | PageSize);
            }
        }
        return new LongModeTables(gdtAddress, GdtSize - 1, pml4Address);
    }

    /// <summary><see cref="Write(HostMapping, ulong, ulong, ulong, ulong)"/> into the host memory of
    /// <paramref name="slot"/> (both ranges must lie in the slot).</summary>
    /// <exception cref="ArgumentException">The slot has no SDK-owned host memory, or a range is outside it.</exception>
    public static LongModeTables Write(SlotHandle slot, ulong gdtAddress, ulong pml4Address, ulong identityBytes = DefaultIdentityBytes)
    {
        ArgumentNullException.ThrowIfNull(slot);
        var memory = slot.HostMemory;
        if (memory is null)
            Fail.Argument(nameof(slot), $"{slot} has no SDK-owned host memory to write the tables into");
        var tablesSize = PageTablesSize(identityBytes);
        if (!slot.Contains(gdtAddress) || !slot.Contains(gdtAddress + GdtSize - 1))
            Fail.Argument(nameof(gdtAddress), $"the GDT [0x{gdtAddress:X}, +{GdtSize}) is not inside {slot}");
        if (!slot.Contains(pml4Address) || !slot.Contains(pml4Address + tablesSize - 1))
            Fail.Argument(nameof(pml4Address), $"the page tables [0x{pml4Address:X}, +0x{tablesSize:X}) are not inside {slot}");
        // Byte 0 of the mapping sits HostMemoryOffset bytes before the slot's first guest-physical byte.
        return Write(memory, slot.GuestPhysicalAddress - slot.HostMemoryOffset, gdtAddress, pml4Address, identityBytes);
    }

    private static ulong OffsetIn(HostMapping memory, ulong memoryAddress, ulong gpa, ulong size, string paramName)
    {
        if (gpa < memoryAddress || gpa - memoryAddress > memory.Length || size > memory.Length - (gpa - memoryAddress))
            Fail.Argument(paramName, $"[0x{gpa:X}, +0x{size:X}) is outside the {memory.Length}-byte mapping at guest-physical 0x{memoryAddress:X}");
        return gpa - memoryAddress;
    }
}
