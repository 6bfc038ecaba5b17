using Kvm.Interop.X86_64;
using static Kvm.KernelTests.Typed.KernelFacts;

namespace Kvm.KernelTests.Typed;

/// <summary>A 64-bit guest entered straight in long mode through the SDK's GDT and identity page tables.</summary>
public class LongModeTests
{
    // 64-bit code: mov al, 0x42 ; out 0x10, al ; hlt
    private static readonly byte[] Code = [0xB0, 0x42, 0xE6, 0x10, 0xF4];
    private const ulong Entry = 0x8000, Gdt = 0x500, Pml4 = 0x1000;

    [Fact]
    public void LongModeGuestWritesAPortAndHalts()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        var (vm, memory, slot) = TypedGuest.With(kvm, []);
        using (vm) using (memory) using (slot)
        using (var vcpu = vm.CreateVcpu(0))
        {
            slot.HostMemory!.Write(Entry, Code);
            var tables = LongModeTables.Write(slot, Gdt, Pml4);
            Assert.Equal(new LongModeTables(Gdt, LongModeTables.GdtSize - 1, Pml4), tables);
            vcpu.SetCpuid2(kvm.GetSupportedCpuid()); // a long-mode guest needs LM in its CPUID
            vcpu.EnterLongMode(tables, Entry, rsi: 0x7000, rsp: 0x7FF0);

            var sregs = vcpu.GetSregs();
            Assert.NotEqual(0UL, sregs.efer & X86Bits.EferLMA);
            Assert.Equal(LongModeTables.BootCodeSelector, sregs.cs.selector);
            Assert.Equal(1, sregs.cs.l);

            var exit = vcpu.Run();
            Assert.True(exit.Reason == VcpuExitReason.Io, $"exit {exit.Reason} (raw {exit.RawExitReason}), rip 0x{vcpu.GetRegs().rip:X}");
            Assert.Equal(IoDirection.Out, exit.Io.Direction);
            Assert.Equal(0x10, exit.Io.Port);
            Assert.Equal(0x42, exit.Io.Data[0]);
            Assert.Equal(VcpuExitReason.Hlt, vcpu.Run().Reason);

            var regs = vcpu.GetRegs();
            Assert.Equal(Entry + (ulong)Code.Length, regs.rip);
            Assert.Equal(0x7000UL, regs.rsi);
            sregs = vcpu.GetSregs();
            Assert.NotEqual(0UL, sregs.efer & X86Bits.EferLMA);
            Assert.NotEqual(0UL, sregs.cr0 & X86Bits.Cr0PG);
            Assert.Equal(Pml4, sregs.cr3 & ~0xFFFUL);
        }
    }

    [Fact]
    public void PageTablesIdentityMapWith2MiBPages()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        using var host = kvm.AllocateHostMemory(1 << 20);
        LongModeTables.Write(host, 0, Gdt, Pml4, identityBytes: 3UL << 30); // three page directories
        var b = new byte[8];
        ulong At(ulong gpa) { host.Read(gpa, b); return BitConverter.ToUInt64(b); }
        Assert.Equal(0x2000UL | 3, At(Pml4));                           // PML4[0] -> PDPT
        Assert.Equal(0x3000UL | 3, At(0x2000));                         // PDPT[0] -> PD 0
        Assert.Equal(0x5000UL | 3, At(0x2000 + 2 * 8));                 // PDPT[2] -> PD 2
        Assert.Equal(0UL, At(0x2000 + 3 * 8));                          // nothing past 3 GiB
        Assert.Equal((1UL << 21) | 0x83, At(0x3000 + 8));               // 2 MiB page 1
        Assert.Equal((2UL << 30) + (511UL << 21) | 0x83, At(0x5000 + 511 * 8)); // the last 2 MiB below 3 GiB
        Assert.Equal(LongModeTables.Code64Descriptor, At(Gdt + 0x10));
        Assert.Equal(LongModeTables.DataDescriptor, At(Gdt + 0x18));
    }
}
