namespace Kvm.KernelTests.Typed;

/// <summary>A real-mode guest that takes PIC interrupt 5: programs the master 8259 (vector base 0x20, only IRQ5
/// unmasked), enables interrupts, says "ready" with <c>out 0x10</c> and halts; the handler for vector 0x25 reports
/// with <c>out 0x11, 0x42</c>. With the in-kernel irqchip HLT does not exit, so the only way out after "ready" is
/// the interrupt.</summary>
internal static class InterruptGuest
{
    public const ushort ReadyPort = 0x10;
    public const ushort HandlerPort = 0x11;
    public const byte HandlerValue = 0x42;
    public const uint Gsi = 5;

    public static byte[] Image()
    {
        var m = new byte[0x200];
        byte[] main =
        [
            0xFA,                   // cli
            0x31, 0xC0,             // xor ax, ax
            0x8E, 0xD0,             // mov ss, ax
            0xBC, 0x00, 0x80,       // mov sp, 0x8000
            0xB0, 0x11, 0xE6, 0x20, // ICW1: edge, cascade, ICW4 follows
            0xB0, 0x20, 0xE6, 0x21, // ICW2: vectors 0x20..0x27
            0xB0, 0x04, 0xE6, 0x21, // ICW3: slave on IRQ2
            0xB0, 0x01, 0xE6, 0x21, // ICW4: 8086 mode
            0xB0, 0xDF, 0xE6, 0x21, // OCW1: mask all but IRQ5
            0xFB,                   // sti
            0xE6, (byte)ReadyPort,  // out 0x10, al: ready
            0xF4,                   // hlt
            0xEB, 0xFD,             // jmp hlt
        ];
        main.CopyTo(m, 0);
        // IVT entry 0x25 at 0x94: offset 0x0100, segment 0.
        m[0x94] = 0x00; m[0x95] = 0x01; m[0x96] = 0x00; m[0x97] = 0x00;
        byte[] handler = [0xB0, HandlerValue, 0xE6, (byte)HandlerPort, 0xF4, 0xEB, 0xFD];
        handler.CopyTo(m, 0x100);
        return m;
    }

    /// <summary>Runs to "ready", calls <paramref name="raise"/>, runs again and returns the port of the next Io
    /// exit (the handler's when the interrupt arrived); a 5 s watchdog kick makes a lost interrupt fail instead of hang.</summary>
    public static (ushort Port, byte Value) RunUntilInterrupt(VcpuFd vcpu, Action raise)
    {
        var ready = vcpu.Run();
        Assert.Equal(VcpuExitReason.Io, ready.Reason);
        Assert.Equal(ReadyPort, ready.Io.Port);
        raise();
        using var watchdog = new Timer(_ => vcpu.RequestImmediateExit(), null, 5000, Timeout.Infinite);
        var exit = vcpu.Run();
        Assert.True(exit.Reason == VcpuExitReason.Io, $"expected the handler's port I/O, got {exit.Reason} (the interrupt never came)");
        return (exit.Io.Port, exit.Io.Data[0]);
    }
}

/// <summary>The interrupt, device and stats tests create many vCPUs, eventfds and fds; they run alone, after the
/// parallel classes, so they never move the address-space and fd facts the soundness tests read from /proc.</summary>
[CollectionDefinition(nameof(InterruptsSerial), DisableParallelization = true)]
public sealed class InterruptsSerial;
