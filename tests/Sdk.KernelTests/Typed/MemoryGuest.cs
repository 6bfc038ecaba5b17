using static Kvm.KernelTests.Typed.KernelFacts;

namespace Kvm.KernelTests.Typed;

/// <summary>Tiny x86 real-mode programs for the memory-tracking tests: the code runs from guest-physical 0
/// (<see cref="TypedGuest"/>), and a data segment selects the 64 KiB window the program touches.</summary>
internal static class MemoryGuest
{
    /// <summary>Where the tests put the second (data) slot: guest-physical 64 KiB, right after the code slot.</summary>
    public const ulong DataGpa = 0x10000;

    /// <summary><c>mov ax, seg ; mov ds, ax</c>.</summary>
    private static IEnumerable<byte> Segment(ulong windowGpa) =>
        [0xB8, (byte)(windowGpa >> 4), (byte)(windowGpa >> 12), 0x8E, 0xD8];

    /// <summary>Writes one byte (the page number + 1) at the start of each page of the 64 KiB window at
    /// <paramref name="windowGpa"/>, then <c>hlt</c>.</summary>
    public static byte[] WritePages(ulong windowGpa, params int[] pages)
    {
        var code = new List<byte>(Segment(windowGpa));
        foreach (var p in pages)
        {
            var offset = (ulong)p * Page;
            code.AddRange([0xC6, 0x06, (byte)offset, (byte)(offset >> 8), (byte)(p + 1)]); // mov byte [offset], p+1
        }
        code.Add(0xF4);
        return code.ToArray();
    }

    /// <summary>Reads the byte at <paramref name="gpa"/> (below 1 MiB) and writes it to port 0x10, then <c>hlt</c>.</summary>
    public static byte[] ReadToPort(ulong gpa) =>
        [.. Segment(gpa & ~0xFFFFUL), 0xA0, (byte)gpa, (byte)(gpa >> 8), 0xE6, 0x10, 0xF4]; // mov al, [off] ; out 0x10, al

    /// <summary>Byte writes 0x11, 0x22 to <paramref name="gpa"/> and +1, a word write 0x4433 to +2, then <c>hlt</c>.</summary>
    public static byte[] MmioWrites(ulong gpa)
    {
        var o = gpa & 0xFFFF;
        return [.. Segment(gpa & ~0xFFFFUL),
            0xC6, 0x06, (byte)o, (byte)(o >> 8), 0x11,
            0xC6, 0x06, (byte)(o + 1), (byte)((o + 1) >> 8), 0x22,
            0xC7, 0x06, (byte)(o + 2), (byte)((o + 2) >> 8), 0x33, 0x44,
            0xF4];
    }

    /// <summary><c>mov al, 0x55 ; out port, al ; mov al, 0x66 ; out port, al ; hlt</c>.</summary>
    public static byte[] PortWrites(byte port) => [0xB0, 0x55, 0xE6, port, 0xB0, 0x66, 0xE6, port, 0xF4];

    /// <summary>Loads <paramref name="code"/> at guest-physical 0 of <paramref name="codeSlot"/> and runs
    /// <paramref name="vcpu"/> from there in real mode; returns the first exit's reason.</summary>
    public static VcpuExitReason RunFromStart(VcpuFd vcpu, SlotHandle codeSlot, byte[] code)
    {
        codeSlot.HostMemory!.Write(0, code);
        vcpu.EnterRealMode();
        return vcpu.Run().Reason;
    }

    /// <summary>The dirty page indices of a bitmap, as a sorted array.</summary>
    public static ulong[] Dirty(DirtyBitmap bitmap)
    {
        var pages = new List<ulong>();
        foreach (var p in bitmap)
            pages.Add(p);
        return pages.ToArray();
    }
}
