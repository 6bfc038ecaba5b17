namespace LinuxVmm.Arm64;

/// <summary>
/// An ARM PrimeCell UART (PL011) as far as Linux's console and tty need it: transmit only, a FIFO that empties at
/// once, and the interrupt line = raw status AND mask (a level-sensitive SPI). The transmit interrupt is raised while
/// the guest has it unmasked, since the FIFO is always below its level; Linux masks it when it has nothing to send.
/// The PrimeCell id registers let the AMBA bus match the driver.
/// </summary>
internal sealed class Pl011(Stream output, Action<bool> setIrqLine)
{
    public const ulong Size = 0x1000;

    private const uint Dr = 0x000, Fr = 0x018, Ibrd = 0x024, Fbrd = 0x028, LcrH = 0x02c, Cr = 0x030, Ifls = 0x034,
        Imsc = 0x038, Ris = 0x03c, Mis = 0x040, Icr = 0x044;
    private const uint CrLoopback = 1 << 7, FrTxfe = 1 << 7, FrRxfe = 1 << 4, IntTx = 1 << 5;
    private static readonly byte[] Id = [0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1];   // PeriphID0..3, PCellID0..3

    private uint _ibrd, _fbrd, _lcrh, _cr = 0x300, _ifls = 0x12, _imsc;
    private bool _line;

    public uint Read(ulong offset)
    {
        if (offset >= 0xfe0 && offset < 0x1000)
            return Id[(offset - 0xfe0) / 4];
        return (uint)offset switch
        {
            Fr => FrTxfe | FrRxfe,
            Ibrd => _ibrd,
            Fbrd => _fbrd,
            LcrH => _lcrh,
            Cr => _cr,
            Ifls => _ifls,
            Imsc => _imsc,
            Ris => IntTx,
            Mis => IntTx & _imsc,
            _ => 0,   // DR (nothing received) and the rest
        };
    }

    public void Write(ulong offset, uint value)
    {
        switch ((uint)offset)
        {
            case Dr:
                if ((_cr & CrLoopback) == 0)   // a byte sent in loopback (Linux provokes the TX interrupt so) is not output
                    output.WriteByte((byte)value);
                break;
            case Ibrd: _ibrd = value; break;
            case Fbrd: _fbrd = value; break;
            case LcrH: _lcrh = value; break;
            case Cr: _cr = value; break;
            case Ifls: _ifls = value; break;
            case Imsc: _imsc = value & 0x7ff; break;
            case Icr: break;   // the transmit condition persists: clearing it does not lower the line
        }
        UpdateLine();
    }

    private void UpdateLine()
    {
        var line = (IntTx & _imsc) != 0;
        if (line == _line)
            return;
        _line = line;
        setIrqLine(line);
    }
}
