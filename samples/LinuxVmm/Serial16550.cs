namespace LinuxVmm;

/// <summary>
/// A 16550-style UART at COM1 (ports 0x3F8–0x3FF), output only: enough for Linux's 8250 driver to probe it, print the
/// console through it, and drive userspace output by its transmit-empty interrupt. The transmitter is always empty
/// (each byte goes straight to <see cref="Output"/>), so the interrupt is pending whenever the guest enables it and has
/// not yet read IIR since the last write. <see cref="RaiseIrq"/> is called on each rising edge.
/// </summary>
internal sealed class Serial16550(Stream output, Action raiseIrq)
{
    public const ushort Base = 0x3F8;
    public const int Irq = 4;

    private const byte IerThri = 0x02;          // interrupt when the transmit holding register is empty
    private const byte IirNone = 0x01, IirThri = 0x02;
    private const byte LcrDlab = 0x80;          // divisor latch access
    private const byte McrLoop = 0x10;
    private const byte LsrThreTemt = 0x60;      // transmitter empty, both the holding register and the shifter
    private const byte MsrNoLoop = 0xB0;        // DCD, DSR, CTS: a modem that is always there

    private byte _ier, _lcr, _mcr, _scr, _dll = 1, _dlm;
    private bool _thrEmptyPending;

    public Stream Output { get; } = output;

    public void Write(int offset, byte value)
    {
        switch (offset)
        {
            case 0 when (_lcr & LcrDlab) != 0: _dll = value; break;
            case 0:
                if ((_mcr & McrLoop) == 0)
                    Output.WriteByte(value);
                Update(() => _thrEmptyPending = true);
                break;
            case 1 when (_lcr & LcrDlab) != 0: _dlm = value; break;
            case 1:
                // Enabling the interrupt with the transmitter empty raises it at once.
                Update(() => (_ier, _thrEmptyPending) = ((byte)(value & 0x0F), true));
                break;
            case 3: _lcr = value; break;
            case 4: _mcr = (byte)(value & 0x1F); break;
            case 7: _scr = value; break;
        }
    }

    public byte Read(int offset)
    {
        switch (offset)
        {
            case 0: return (_lcr & LcrDlab) != 0 ? _dll : (byte)0;
            case 1: return (_lcr & LcrDlab) != 0 ? _dlm : _ier;
            case 2:
                if (_thrEmptyPending && (_ier & IerThri) != 0)
                {
                    _thrEmptyPending = false;   // reading IIR acknowledges the transmit-empty interrupt
                    return IirThri;
                }
                return IirNone;
            case 3: return _lcr;
            case 4: return _mcr;
            case 5: return LsrThreTemt;
            case 6: return ModemStatus();
            case 7: return _scr;
            default: return 0xFF;
        }
    }

    // In loopback the modem outputs appear as inputs: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. Linux checks this when it
    // probes the port.
    private byte ModemStatus() => (_mcr & McrLoop) == 0
        ? MsrNoLoop
        : (byte)(((_mcr & 0x01) << 5) | ((_mcr & 0x02) << 3) | ((_mcr & 0x04) << 4) | ((_mcr & 0x08) << 4));

    // The UART's interrupt line is up while the transmit-empty interrupt is both pending and enabled; a change that
    // raises it is an edge for the interrupt controller. (The line must be compared before and after the whole change:
    // enabling THRI over a long-pending transmit-empty state is a rising edge too.)
    private bool Line => _thrEmptyPending && (_ier & IerThri) != 0;

    private void Update(Action change)
    {
        var before = Line;
        change();
        if (!before && Line)
            raiseIrq();
    }
}
