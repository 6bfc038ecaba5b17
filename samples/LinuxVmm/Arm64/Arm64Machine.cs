using System.Diagnostics;
using Kvm;
using Kvm.Interop;

namespace LinuxVmm.Arm64;

/// <summary>
/// The arm64 machine, read top to bottom like Program.cs: the VM and its in-kernel GICv3, RAM in guest_memfd, the
/// vCPU, the kernel Image with its initramfs and device tree, the console, and the run loop that ends with the
/// guest's PSCI SYSTEM_OFF (or SYSTEM_RESET).
/// </summary>
internal static class Arm64Machine
{
    /// <summary>Linux on this machine: the console on the PL011, and panics end the VM.</summary>
    public const string DefaultCommandLine = "console=ttyAMA0 earlycon=pl011,0x9000000 panic=-1 nokaslr";

    public static int Run(Options options)
    {
        var clock = Stopwatch.StartNew();
        var layout = new Arm64Layout(options.MemoryMiB << 20);
        var cmdline = options.CommandLine == Options.DefaultCommandLine ? DefaultCommandLine : options.CommandLine;

        // --- The VM and its GICv3. The GIC is a device (KVM_CREATE_DEVICE) with its distributor and redistributor
        // placed in guest-physical space; it is initialised once every vCPU exists.
        using var kvm = KvmSystem.Open();
        // --protected: a pKVM protected VM, whose memory the host loses once the guest touches it. pKVM 7.3 maps a
        // protected VM's memory by pinning the memslot's userspace pages, which guest_memfd pages cannot be (EIO at
        // the first fault), so its RAM is host memory.
        using var vm = options.Protected ? kvm.CreateVm(VmType.Arm64Protected()) : kvm.CreateVm();
        using var gic = VGicV3.Create(vm);
        gic.SetDistributorBase(layout.GicDistBase);
        gic.SetRedistributorBase(layout.GicRedistBase);
        gic.SetIrqCount(128);

        // --- RAM at 1 GiB: guest_memfd (arm64 binds only the mmap-able kind; INIT_SHARED since we write the kernel
        // into it) where the kernel has it, anonymous host memory before 6.18.
        var gmemFlags = GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED;
        HostMapping ram;
        SlotHandle slot;
        if (!options.Protected && vm.GuestMemfd is { } gmemFeature && (gmemFeature.SupportedFlags & gmemFlags) == gmemFlags)
        {
            using var gmem = gmemFeature.Create(layout.RamSize, gmemFlags);
            var mapping = gmem.Map();
            (ram, slot) = (mapping, vm.Memslots.Add(layout.RamBase, mapping));
        }
        else
        {
            ram = kvm.AllocateHostMemory(layout.RamSize);
            slot = vm.Memslots.Add(layout.RamBase, ram);
        }
        using var ramOwner = ram;
        using var slotOwner = slot;
        Console.Error.WriteLine($"linuxvmm: {options.MemoryMiB} MiB of RAM in {(ram is GmemMapping ? "guest_memfd" : "host memory")}, KVM of kernel {File.ReadAllText("/proc/sys/kernel/osrelease").Trim()}, arm64 {vm.Type}");

        // --- The vCPU: PSCI 0.2 (the kernel powers off through it), then the GIC's init for the vCPUs that exist.
        using var vcpu = vm.CreateVcpu(0);
        vcpu.InitArm64(Arm64VcpuFeatures.Psci02);
        gic.Initialize();

        // --- The kernel at the start of RAM (2 MiB aligned) + text_offset; the device tree in the last 2 MiB; the
        // initramfs below it, above the kernel's image_size.
        var image = Arm64Image.Parse(File.ReadAllBytes(options.Kernel));
        var kernelAddress = layout.RamBase + image.TextOffset;
        ram.Write(kernelAddress - layout.RamBase, image.Bytes);
        var dtbAddress = layout.RamBase + layout.RamSize - 0x20_0000;
        var initrd = File.ReadAllBytes(options.Initrd);
        var initrdAddress = (dtbAddress - (ulong)initrd.Length) & ~0xFFFUL;
        if (initrdAddress < kernelAddress + image.ImageSize)
            throw new InvalidOperationException($"{options.MemoryMiB} MiB is too little for this kernel ({image.ImageSize >> 20} MiB) and its initramfs");
        ram.Write(initrdAddress - layout.RamBase, initrd);
        var dtb = Arm64DeviceTree.Build(layout, vcpus: 1, cmdline, initrdAddress, initrdAddress + (ulong)initrd.Length);
        ram.Write(dtbAddress - layout.RamBase, dtb);

        // The boot protocol: X0 = the device tree, X1..X3 = 0, PC = the Image's first byte, EL1h with DAIF masked
        // (KVM_ARM_VCPU_INIT already reset the vCPU so; the MMU and caches are off).
        vcpu.SetOneReg(Arm64Registers.X(0), dtbAddress);
        vcpu.SetOneReg(Arm64Registers.Pc, kernelAddress);
        vcpu.SetOneReg(Arm64Registers.Pstate, 0x3c5);

        // --- The console: a PL011 whose interrupt (SPI 1 = INTID 33) is a level the vGIC holds via KVM_IRQ_LINE.
        var irqchip = vm.Irqchip ?? throw new NotSupportedException("this VM reports no in-kernel irqchip (KVM_CAP_IRQCHIP)");
        var console = new MarkerWatch(Console.OpenStandardOutput(), options.Expect);
        var uart = new Pl011(console, level => irqchip.SetArm64IrqLine(Arm64IrqLine.Spi(layout.UartIntid), level));

        // --- The run loop: MMIO to the UART, anything else reads as nothing there; PSCI SYSTEM_OFF/RESET ends it.
        var status = 0;
        string? end = null;
        Span<byte> word = stackalloc byte[8];
        while (end is null)
        {
            var exit = vcpu.Run();
            switch (exit.Reason)
            {
                case VcpuExitReason.Mmio:
                    var mmio = exit.Mmio;
                    var inUart = mmio.PhysicalAddress - layout.UartBase < Pl011.Size;
                    if (mmio.IsWrite)
                    {
                        word.Clear();
                        mmio.Data.CopyTo(word);
                        if (inUart)
                            uart.Write(mmio.PhysicalAddress - layout.UartBase, BitConverter.ToUInt32(word));
                    }
                    else
                    {
                        var value = inUart ? uart.Read(mmio.PhysicalAddress - layout.UartBase) : 0;
                        BitConverter.TryWriteBytes(word, (ulong)value);
                        word[..mmio.Data.Length].CopyTo(mmio.Data);
                    }
                    break;
                case VcpuExitReason.Interrupted:
                    break;
                case VcpuExitReason.SystemEvent:
                    end = exit.SystemEvent.Type switch
                    {
                        KvmSystemEvent.KVM_SYSTEM_EVENT_SHUTDOWN => "powered off (PSCI SYSTEM_OFF)",
                        KvmSystemEvent.KVM_SYSTEM_EVENT_RESET => "reset (PSCI SYSTEM_RESET)",
                        var other => $"stopped ({other})",
                    };
                    break;
                default:
                    Console.Error.WriteLine($"linuxvmm: unexpected exit {exit.ToString()}; pc 0x{vcpu.GetOneReg(Arm64Registers.Pc):X}");
                    status = 2;
                    end = "crashed";
                    break;
            }
        }
        console.Flush();
        if (status == 0 && !console.Seen)
            status = 1;
        Console.Error.WriteLine($"linuxvmm: guest {end} after {clock.ElapsedMilliseconds} ms" +
                                (options.Expect is null ? "" : console.Seen ? $", marker seen after {console.SeenAtMs} ms" : ", marker NOT seen"));
        return status;
    }
}
