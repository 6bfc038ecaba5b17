// LinuxVmm: boots an unmodified Linux bzImage with all guest RAM in guest_memfd, on Kvm.Sdk. Read it top to bottom:
// the VM and its in-kernel interrupt controllers, memory, the kernel and what the boot protocol wants beside it, the
// vCPU, the one device (a UART), and the run loop.
//
//   LinuxVmm --kernel vmlinuz --initrd initramfs.cpio.gz [--mem-mib 256] [--cmdline "..."] [--expect MARKER]
//
// Exit status: 0 when the guest rebooted (its way of powering off here) after printing MARKER (or with no --expect),
// 1 when it ended without the marker, 2 on a guest crash (triple fault, emulation failure), 3 on a usage error.
using System.Diagnostics;
using System.Text;
using Kvm;
using Kvm.Interop;
using LinuxVmm;

var options = Options.Parse(args);
if (options is null || (options.Protected && System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture != System.Runtime.InteropServices.Architecture.Arm64))
{
    Console.Error.WriteLine("usage: LinuxVmm --kernel vmlinuz --initrd initramfs.cpio.gz [--mem-mib 256] [--cmdline \"...\"] [--expect MARKER] [--protected (arm64 pKVM)]");
    return 3;
}
// arm64 is its own machine model (a GICv3, a device tree, a PL011): Arm64/Arm64Machine.cs reads the same way.
if (System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.Arm64)
    return LinuxVmm.Arm64.Arm64Machine.Run(options);
var clock = Stopwatch.StartNew();

// --- The VM. A PC's interrupt controllers (PIC, IOAPIC, local APICs) and its timer (PIT) are KVM's own: they must
// exist before the first vCPU. The TSS address is a three-page hole the kernel needs on Intel for real-mode emulation.
using var kvm = KvmSystem.Open();
using var vm = kvm.CreateVm();
var irqchip = vm.Irqchip ?? throw new NotSupportedException("this kernel has no in-kernel irqchip (KVM_CAP_IRQCHIP)");
vm.SetTssAddress(0xFFFB_D000);
irqchip.CreateIrqchip();
irqchip.CreatePit2(PitConfigFlags.SpeakerDummy);   // port 0x61 too: Linux calibrates the TSC with PIT channel 2 through it

// --- Memory: one slot of RAM at guest-physical 0. guest_memfd (MMAP | INIT_SHARED: shared with the host, since we
// write the kernel into it) where the kernel offers it; anonymous host memory on kernels without it (before 6.18).
var ramBytes = options.MemoryMiB << 20;
var gmemFlags = GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED;
HostMapping ram;
if (vm.GuestMemfd is { } gmemFeature && (gmemFeature.SupportedFlags & gmemFlags) == gmemFlags)
{
    using var gmem = gmemFeature.Create(ramBytes, gmemFlags);   // the mapping keeps the file; this object can go
    ram = gmem.Map();
}
else
{
    ram = kvm.AllocateHostMemory(ramBytes);
}
using var ramOwner = ram;
using var slot = vm.Memslots.Add(0, ram);
Console.Error.WriteLine($"linuxvmm: {options.MemoryMiB} MiB of RAM in {(ram is GmemMapping ? "guest_memfd" : "host memory")}, KVM of kernel {File.ReadAllText("/proc/sys/kernel/osrelease").Trim()}");

// --- The kernel and what the 64-bit boot protocol wants beside it (Documentation/arch/x86/boot.rst): the kernel (a
// bzImage's protected-mode part at 1 MiB, or a vmlinux's segments at their physical addresses), the command line, the
// initramfs high in RAM, the zero page with the e820 map, and page tables that identity-map the first GiB so the vCPU
// can start in long mode.
const ulong GdtAddress = 0x500, ZeroPageAddress = 0x7000, Pml4Address = 0x9000, CmdlineAddress = 0x20000;
const ulong BzImageAddress = 0x10_0000;
var image = File.ReadAllBytes(options.Kernel);
ulong entry, kernelEnd, initrdMax;
uint cmdlineMax;
ZeroPage zeroPage;
if (VmlinuxElf.IsElf(image))
{
    var elf = VmlinuxElf.Parse(image);
    foreach (var (physical, offset, fileSize, _) in elf.Segments)
        ram.Write(physical, image.AsSpan(offset, fileSize));   // the rest of each segment (.bss) is fresh, zero memory
    (entry, kernelEnd, initrdMax, cmdlineMax) = (elf.Entry, elf.End, 0x7FFF_FFFF, 2047);
    zeroPage = new ZeroPage(kernelAlignment: 0x20_0000);
}
else
{
    var bz = BzImage.Parse(image);
    ram.Write(BzImageAddress, bz.ProtectedModeKernel);
    (entry, kernelEnd, initrdMax, cmdlineMax) = (BzImageAddress + 0x200, BzImageAddress + bz.InitSize, bz.InitrdAddrMax, bz.CmdlineSize);
    zeroPage = new ZeroPage(bz);
}
var initrd = File.ReadAllBytes(options.Initrd);
var initrdAddress = (Math.Min(ramBytes, initrdMax + 1) - (ulong)initrd.Length) & ~0xF_FFFFUL;
if (initrdAddress < kernelEnd)
    throw new InvalidOperationException($"{options.MemoryMiB} MiB is too little for this kernel (it reaches 0x{kernelEnd:X}) and its initramfs");
ram.Write(initrdAddress, initrd);
var cmdline = Encoding.ASCII.GetBytes(options.CommandLine + "\0");
if ((uint)cmdline.Length > cmdlineMax + 1)
    throw new ArgumentException($"the command line is longer than this kernel's {cmdlineMax} bytes");
ram.Write(CmdlineAddress, cmdline);

zeroPage.SetCommandLine(CmdlineAddress);
zeroPage.SetInitramfs(initrdAddress, (ulong)initrd.Length);
zeroPage.AddMemory(0, 0x9_FC00, ZeroPage.E820Ram);                       // conventional memory
zeroPage.AddMemory(0x9_FC00, 0x10_0000 - 0x9_FC00, ZeroPage.E820Reserved); // EBDA, VGA, BIOS: nothing, but not RAM
zeroPage.AddMemory(0x10_0000, ramBytes - 0x10_0000, ZeroPage.E820Ram);
ram.Write(ZeroPageAddress, zeroPage.Bytes);
var tables = LongModeTables.Write(slot, GdtAddress, Pml4Address);

// --- The vCPU: the CPUID KVM supports on this host, then long mode at the kernel's 64-bit entry (+0x200), with the
// zero page in RSI as the protocol asks. XSAVE is hidden: nested under an emulator the extended-state leaves KVM
// reports can disagree with what the CPU below really saves, and the guest's FPU setup WARNs and then faults
// (seen with 7.3 nested under QEMU TCG). Without XSAVE the kernel uses FXSAVE, which every x86-64 CPU has.
using var vcpu = vm.CreateVcpu(0);
// The initial APIC ID in CPUID.1:EBX[31:24] must be the vCPU's (KVM reports the host's); the LAPIC's is the vCPU id.
// And the hypervisor bit must be set by the VMM (6.1's KVM does not report it): without it the guest finds no
// kvm-clock, tries to calibrate the TSC against the PIT, fails under emulation and stops.
var cpuid = kvm.GetSupportedCpuid();
if (cpuid.Contains(1))
{
    ref var leaf1 = ref cpuid.Find(1);
    leaf1.ecx &= ~((1u << 26) | (1u << 27) | (1u << 28));   // XSAVE, OSXSAVE, AVX
    leaf1.ecx |= 1u << 31;                                   // "a hypervisor is present": Linux then looks for
                                                             // KVM's leaves and takes its clock (kvm-clock) from them
    leaf1.ebx &= 0x00FF_FFFF;                                // APIC ID 0: vCPU 0
}
vcpu.SetCpuid2(cpuid);
vcpu.EnterLongMode(tables, entry, rsi: ZeroPageAddress);

// --- The console: a 16550 at COM1 whose transmit interrupt reaches IRQ 4 of the in-kernel PIC/IOAPIC through an
// irqfd (the write to the eventfd is KVM's cue to inject; no ioctl on the exit path).
var irqFds = vm.IrqFds ?? throw new NotSupportedException("this kernel has no irqfd (KVM_CAP_IRQFD)");
using var serialIrq = irqFds.Register(Serial16550.Irq);
var console = new MarkerWatch(Console.OpenStandardOutput(), options.Expect);
var bus = new PortBus(new Serial16550(console, serialIrq.Signal));

// --- The run loop: port I/O to the bus, MMIO reads as nothing there; the guest's reset (reboot=k) ends it.
var status = 0;
while (!bus.ResetRequested)
{
    var exit = vcpu.Run();
    switch (exit.Reason)
    {
        case VcpuExitReason.Io:
            var io = exit.Io;
            for (var i = 0; i < (int)io.Count; i++)
            {
                var data = io.Data.Slice(i * io.Size, io.Size);
                if (io.Direction == IoDirection.Out)
                    bus.Out(io.Port, data);
                else
                    bus.In(io.Port, data);
            }
            break;
        case VcpuExitReason.Mmio:
            var mmio = exit.Mmio;
            if (!mmio.IsWrite)
                mmio.Data.Fill(0xFF);
            break;
        case VcpuExitReason.Interrupted:
            break;
        case VcpuExitReason.Shutdown:
            Console.Error.WriteLine("linuxvmm: the guest triple-faulted (KVM_EXIT_SHUTDOWN)");
            status = 2;
            goto done;
        case VcpuExitReason.InternalError:
            Console.Error.WriteLine($"linuxvmm: KVM internal error {exit.InternalError}; rip 0x{vcpu.GetRegs().rip:X}");
            status = 2;
            goto done;
        default:
            Console.Error.WriteLine($"linuxvmm: unexpected exit {exit.ToString()}; rip 0x{vcpu.GetRegs().rip:X}");
            status = 2;
            goto done;
    }
}
done:
console.Flush();
if (status == 0 && !console.Seen)
    status = 1;
Console.Error.WriteLine($"linuxvmm: guest {(bus.ResetRequested ? "reset" : "stopped")} after {clock.ElapsedMilliseconds} ms" +
                        (options.Expect is null ? "" : console.Seen ? $", marker seen after {console.SeenAtMs} ms" : ", marker NOT seen"));
return status;
