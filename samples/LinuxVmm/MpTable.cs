using System.Buffers.Binary;
using System.Text;

namespace LinuxVmm;

/// <summary>
/// The Intel MultiProcessor Specification 1.4 tables: how a PC without ACPI tells Linux how many CPUs it has, where
/// the IOAPIC is and how the ISA interrupts reach it. Linux looks for the floating pointer ("_MP_") in the last KiB
/// of base memory, among other places; the configuration table follows it. KVM's in-kernel IOAPIC has ISA IRQ n on
/// pin n, and its local APICs take the PIC's ExtINT on LINT0 and NMI on LINT1, which is what the entries say.
/// </summary>
internal static class MpTable
{
    /// <summary>639 KiB: the last KiB of conventional memory, which the e820 map reserves and Linux scans.</summary>
    public const ulong Address = 0x9_FC00;

    private const uint LocalApicAddress = 0xFEE0_0000, IoApicAddress = 0xFEC0_0000;
    private const byte EntryProcessor = 0, EntryBus = 1, EntryIoApic = 2, EntryIoInterrupt = 3, EntryLocalInterrupt = 4;
    private const byte InterruptInt = 0, InterruptNmi = 1, InterruptExtInt = 3;
    private const int IsaIrqs = 16;

    /// <summary>The floating pointer and the configuration table for <paramref name="cpus"/> CPUs with local APIC IDs
    /// 0..cpus-1 (CPU 0 the bootstrap processor), to be written at <see cref="Address"/>.</summary>
    public static byte[] Build(int cpus, uint cpuSignature, uint cpuFeatures)
    {
        var ioApicId = (byte)cpus;   // the first APIC ID no CPU uses
        var table = new List<byte>();
        var entries = 0;
        void Entry(params byte[] bytes) { table.AddRange(bytes); entries++; }

        for (var cpu = 0; cpu < cpus; cpu++)
        {
            var processor = new byte[20];
            processor[0] = EntryProcessor;
            processor[1] = (byte)cpu;                            // local APIC ID
            processor[2] = 0x14;                                 // local APIC version (integrated)
            processor[3] = (byte)(cpu == 0 ? 0b11 : 0b01);       // enabled, and bootstrap processor for CPU 0
            BinaryPrimitives.WriteUInt32LittleEndian(processor.AsSpan(4), cpuSignature);
            BinaryPrimitives.WriteUInt32LittleEndian(processor.AsSpan(8), cpuFeatures);
            Entry(processor);
        }
        Entry([EntryBus, 0, .. "ISA   "u8]);
        var ioApic = new byte[8];
        (ioApic[0], ioApic[1], ioApic[2], ioApic[3]) = (EntryIoApic, ioApicId, 0x11, 1);   // version 0x11, enabled
        BinaryPrimitives.WriteUInt32LittleEndian(ioApic.AsSpan(4), IoApicAddress);
        Entry(ioApic);
        for (byte irq = 0; irq < IsaIrqs; irq++)   // type, flags (conforming: 2 bytes), bus 0, IRQ, IOAPIC, pin
            Entry(EntryIoInterrupt, InterruptInt, 0, 0, 0, irq, ioApicId, irq);
        Entry(EntryLocalInterrupt, InterruptExtInt, 0, 0, 0, 0, 0xFF, 0);   // every local APIC: LINT0 = ExtINT
        Entry(EntryLocalInterrupt, InterruptNmi, 0, 0, 0, 0, 0xFF, 1);      //                   LINT1 = NMI

        const int FloatingLength = 16, HeaderLength = 44;
        var bytes = new byte[FloatingLength + HeaderLength + table.Count];
        var floating = bytes.AsSpan(0, FloatingLength);
        "_MP_"u8.CopyTo(floating);
        BinaryPrimitives.WriteUInt32LittleEndian(floating[4..], (uint)(Address + FloatingLength));
        (floating[8], floating[9]) = (1, 4);        // length in 16-byte units, specification revision 1.4
        floating[10] = Checksum(floating);          // feature bytes 0: the configuration table is present

        var config = bytes.AsSpan(FloatingLength);
        "PCMP"u8.CopyTo(config);
        BinaryPrimitives.WriteUInt16LittleEndian(config[4..], (ushort)(HeaderLength + table.Count));
        config[6] = 4;
        Encoding.ASCII.GetBytes("KVMSDK  ").CopyTo(config[8..]);
        Encoding.ASCII.GetBytes("LinuxVmm    ").CopyTo(config[16..]);
        BinaryPrimitives.WriteUInt16LittleEndian(config[34..], (ushort)entries);
        BinaryPrimitives.WriteUInt32LittleEndian(config[36..], LocalApicAddress);
        table.ToArray().CopyTo(config[HeaderLength..]);
        config[7] = Checksum(config);
        return bytes;
    }

    // The byte that makes the structure's bytes sum to zero (the checksum byte itself is still 0 when called).
    private static byte Checksum(ReadOnlySpan<byte> bytes)
    {
        byte sum = 0;
        foreach (var b in bytes)
            sum += b;
        return (byte)-sum;
    }
}
