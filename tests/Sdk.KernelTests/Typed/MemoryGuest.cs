using static Kvm.KernelTests.Typed.KernelFacts;

namespace Kvm.KernelTests.Typed;

/// <summary>Tiny guests for the memory-tracking tests, run from guest-physical 0 (<see cref="TypedGuest"/>): x86 real
/// mode ending in <c>hlt</c>, or arm64 with the MMU off ending in PSCI SYSTEM_OFF; <see cref="Done"/> is that last
/// exit. x86 programs reach a 64 KiB window through a data segment, arm64 ones through a 32-bit address in x0.</summary>
internal static class MemoryGuest
{
    /// <summary>Where the tests put the second (data) slot: guest-physical 64 KiB, right after the code slot.</summary>
    public const ulong DataGpa = 0x10000;

    /// <summary>The exit that ends every program here.</summary>
    public static VcpuExitReason Done => IsX86 ? VcpuExitReason.Hlt : VcpuExitReason.SystemEvent;

    /// <summary>Writes one byte (the page number + 1) at the start of each page of <paramref name="pages"/> from
    /// <paramref name="windowGpa"/>, then ends.</summary>
    public static byte[] WritePages(ulong windowGpa, params int[] pages)
    {
        if (!IsX86)
        {
            var words = new List<uint>();
            foreach (var p in pages)
            {
                words.AddRange(LoadX0(windowGpa + (ulong)p * Page));
                words.Add(MovW1((ushort)(p + 1)));
                words.Add(0x39000001);                                  // strb w1, [x0]
            }
            return Arm64(words);
        }
        var code = new List<byte>(Segment(windowGpa));
        foreach (var p in pages)
        {
            var offset = (ulong)p * Page;
            code.AddRange([0xC6, 0x06, (byte)offset, (byte)(offset >> 8), (byte)(p + 1)]); // mov byte [offset], p+1
        }
        code.Add(0xF4);
        return code.ToArray();
    }

    /// <summary>x86: reads the byte at <paramref name="gpa"/> (below 1 MiB) and writes it to port 0x10, then <c>hlt</c>.</summary>
    public static byte[] ReadToPort(ulong gpa) =>
        [.. Segment(gpa & ~0xFFFFUL), 0xA0, (byte)gpa, (byte)(gpa >> 8), 0xE6, 0x10, 0xF4]; // mov al, [off] ; out 0x10, al

    /// <summary>Byte writes 0x11, 0x22 to <paramref name="gpa"/> and +1, a 16-bit write 0x4433 to +2, then ends.</summary>
    public static byte[] MmioWrites(ulong gpa)
    {
        if (!IsX86)
            return Arm64([.. LoadX0(gpa),
                MovW1(0x11), 0x39000001,                                // strb w1, [x0]
                MovW1(0x22), 0x39000401,                                // strb w1, [x0, #1]
                MovW1(0x4433), 0x79000401]);                            // strh w1, [x0, #2]
        var o = gpa & 0xFFFF;
        return [.. Segment(gpa & ~0xFFFFUL),
            0xC6, 0x06, (byte)o, (byte)(o >> 8), 0x11,
            0xC6, 0x06, (byte)(o + 1), (byte)((o + 1) >> 8), 0x22,
            0xC7, 0x06, (byte)(o + 2), (byte)((o + 2) >> 8), 0x33, 0x44,
            0xF4];
    }

    /// <summary>x86: <c>mov al, 0x55 ; out port, al ; mov al, 0x66 ; out port, al ; hlt</c>.</summary>
    public static byte[] PortWrites(byte port) => [0xB0, 0x55, 0xE6, port, 0xB0, 0x66, 0xE6, port, 0xF4];

    /// <summary>vCPU 0, ready for <see cref="RunFromStart"/> (arm64: initialised with PSCI 0.2).</summary>
    public static VcpuFd NewVcpu(VmFd vm)
    {
        var vcpu = vm.CreateVcpu(0);
        if (!IsX86)
            vcpu.InitArm64(Interop.Arm64.ArchConstants.KVM_ARM_VCPU_PSCI_0_2);
        return vcpu;
    }

    /// <summary>Loads <paramref name="code"/> at guest-physical 0 of <paramref name="codeSlot"/> and runs
    /// <paramref name="vcpu"/> from there; returns the first exit's reason.</summary>
    public static VcpuExitReason RunFromStart(VcpuFd vcpu, SlotHandle codeSlot, byte[] code)
    {
        Start(vcpu, codeSlot, code);
        return vcpu.Run().Reason;
    }

    /// <summary>Loads <paramref name="code"/> at guest-physical 0 and points <paramref name="vcpu"/> at it.</summary>
    public static void Start(VcpuFd vcpu, SlotHandle codeSlot, byte[] code)
    {
        codeSlot.HostMemory!.Write(0, code);
        if (IsX86)
        {
            vcpu.EnterRealMode();
            return;
        }
        // SYSTEM_OFF powered the vCPU off: KVM_ARM_VCPU_INIT again resets it to a runnable initial state.
        vcpu.InitArm64(Interop.Arm64.ArchConstants.KVM_ARM_VCPU_PSCI_0_2);
        vcpu.SetOneReg(Arm64Registers.Pc, 0);
    }

    /// <summary>The dirty page indices of a bitmap, as a sorted array.</summary>
    public static ulong[] Dirty(DirtyBitmap bitmap)
    {
        var pages = new List<ulong>();
        foreach (var p in bitmap)
            pages.Add(p);
        return pages.ToArray();
    }

    /// <summary>x86: <c>mov ax, seg ; mov ds, ax</c>.</summary>
    private static IEnumerable<byte> Segment(ulong windowGpa) =>
        [0xB8, (byte)(windowGpa >> 4), (byte)(windowGpa >> 12), 0x8E, 0xD8];

    /// <summary>arm64: <c>movz x0, #lo ; movk x0, #hi, lsl #16</c> (an address below 4 GiB).</summary>
    private static uint[] LoadX0(ulong address) =>
        [0xD2800000u | ((uint)(address & 0xFFFF) << 5), 0xF2A00000u | ((uint)((address >> 16) & 0xFFFF) << 5)];

    /// <summary>arm64: <c>mov w1, #imm16</c>.</summary>
    private static uint MovW1(ushort value) => 0x52800001u | ((uint)value << 5);

    /// <summary>arm64 words followed by PSCI SYSTEM_OFF (<c>movz x0, #8 ; movk x0, #0x8400, lsl #16 ; hvc #0</c>).</summary>
    private static byte[] Arm64(IEnumerable<uint> words) =>
        [.. words.Concat([0xD2800100u, 0xF2B08000u, 0xD4000002u]).SelectMany(BitConverter.GetBytes)];
}
