namespace LinuxVmm;

/// <summary>
/// The port I/O a Linux guest does on a PC without PCI or ACPI, and what this VMM answers: COM1 is the UART; the
/// i8042 "pulse reset line" command (0xFE to port 0x64, what <c>reboot=k</c> makes Linux do) ends the VM; CMOS, PCI
/// configuration and absent devices read as nothing there. The PIC, PIT and IOAPIC are KVM's in-kernel ones.
/// </summary>
internal sealed class PortBus(Serial16550 serial)
{
    private const ushort I8042Command = 0x64, I8042Data = 0x60;
    private const byte I8042PulseReset = 0xFE;
    private const ushort CmosIndex = 0x70, CmosData = 0x71;

    /// <summary>Set when the guest asked the platform to reset (Linux's reboot and poweroff with reboot=k).</summary>
    public bool ResetRequested { get; private set; }

    public void Out(ushort port, ReadOnlySpan<byte> data)
    {
        if (port >= Serial16550.Base && port < Serial16550.Base + 8)
            serial.Write(port - Serial16550.Base, data[0]);
        else if (port == I8042Command && data[0] == I8042PulseReset)
            ResetRequested = true;
        // Everything else (POST codes at 0x80, CMOS index, PCI address, VGA) is accepted and ignored.
    }

    public void In(ushort port, Span<byte> data)
    {
        if (port >= Serial16550.Base && port < Serial16550.Base + 8)
            data[0] = serial.Read(port - Serial16550.Base);
        else if (port is I8042Command or I8042Data or CmosIndex or CmosData)
            data.Clear();                       // no keyboard controller busy, an empty CMOS
        else
            data.Fill(0xFF);                    // nothing here; PCI config data (0xCFC) reads 0xFFFFFFFF: no devices
    }
}
