using Kvm.Interop.X86_64;

namespace Kvm;

public sealed partial class VcpuFd
{
    /// <summary>
    /// x86: puts the vCPU in 64-bit long mode at <paramref name="entry"/>, the state the Linux 64-bit boot protocol
    /// expects: CS = the 64-bit code segment (<see cref="LongModeTables.CodeSelector"/>, 0x10 by default), DS/ES/FS/GS/SS =
    /// the flat data segment (0x18), GDTR = the tables' GDT, CR0 = PE|ET|PG (caches on), CR4.PAE, EFER = LME|LMA,
    /// CR3 = the PML4, RFLAGS = 2 (interrupts off), RSI = <paramref name="rsi"/> (the <c>boot_params</c> address for
    /// Linux), RSP = <paramref name="rsp"/>; every other general register is 0, IDTR is empty (an exception shuts the
    /// guest down), TR keeps its reset value (a busy TSS, as VM entry wants). Uses <c>KVM_GET_SREGS</c>,
    /// <c>KVM_SET_SREGS</c> and <c>KVM_SET_REGS</c>. The tables must already be in guest memory
    /// (<see cref="LongModeTables.Write(HostMapping, ulong, ulong, ulong, ulong)"/> writes a minimal set) and map
    /// <paramref name="entry"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The PML4 is not 4 KiB aligned, a selector is not a GDT selector at ring 0
    /// (TI and RPL clear) within the GDT limit, or <paramref name="entry"/> is not canonical.</exception>
    /// <exception cref="PlatformNotSupportedException">Not x86_64.</exception>
    /// <exception cref="KvmException">An ioctl failed (EINVAL: e.g. CR3 above the guest's MAXPHYADDR).</exception>
    public void EnterLongMode(in LongModeTables tables, ulong entry, ulong rsi = 0, ulong rsp = 0)
    {
        RequireX86();
        if (tables.Pml4Address % 4096 != 0)
            Fail.Argument(nameof(tables), $"the PML4 at 0x{tables.Pml4Address:X} must be 4 KiB aligned (CR3)");
        RequireSelector(tables.CodeSelector, tables.GdtLimit, "code");
        RequireSelector(tables.DataSelector, tables.GdtLimit, "data");
        if ((ulong)((long)(entry << 16) >> 16) != entry)
            Fail.Argument(nameof(entry), $"the entry point 0x{entry:X} is not a canonical 48-bit address");

        var sregs = GetSregs();
        sregs.cs = Segment(tables.CodeSelector, type: 0xB, l: 1, db: 0);
        var data = Segment(tables.DataSelector, type: 0x3, l: 0, db: 1);
        sregs.ds = data;
        sregs.es = data;
        sregs.fs = data;
        sregs.gs = data;
        sregs.ss = data;
        sregs.gdt = new kvm_dtable { @base = tables.GdtAddress, limit = tables.GdtLimit };
        sregs.idt = new kvm_dtable();
        const ulong cacheDisable = (1UL << 30) | (1UL << 29); // CR0.CD | CR0.NW, set at reset
        sregs.cr0 = (sregs.cr0 & ~cacheDisable) | X86Bits.Cr0PE | X86Bits.Cr0ET | X86Bits.Cr0PG;
        sregs.cr4 |= X86Bits.Cr4PAE;
        sregs.cr3 = tables.Pml4Address;
        sregs.efer |= X86Bits.EferLME | X86Bits.EferLMA;
        SetSregs(sregs);
        SetRegs(new kvm_regs { rip = entry, rflags = 2, rsi = rsi, rsp = rsp });
    }

    private static kvm_segment Segment(ushort selector, byte type, byte l, byte db) => new()
    {
        @base = 0,
        limit = 0xFFFF_FFFF,
        selector = selector,
        type = type,
        present = 1,
        dpl = 0,
        db = db,
        s = 1,
        l = l,
        g = 1,
    };

    private static void RequireSelector(ushort selector, ushort gdtLimit, string what)
    {
        if ((selector & 7) != 0 || selector == 0 || selector + 7 > gdtLimit)
            Fail.Argument("tables", $"the {what} selector 0x{selector:X} must be a non-null ring-0 GDT selector (TI and RPL clear) "
                + $"whose 8-byte descriptor lies within the GDT limit 0x{gdtLimit:X}");
    }
}
