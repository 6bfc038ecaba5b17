using Kvm;
using Kvm.Fdt;

namespace LinuxVmm.Arm64;

/// <summary>
/// The machine as the kernel learns it: a flattened device tree written with the SDK's <see cref="FdtBuilder"/>.
/// Two cells for addresses and sizes; memory; the CPUs with PSCI as their enable method (KVM implements PSCI 0.2+
/// through HVC); the GICv3 (distributor, redistributors); the architected timer's four PPIs; the PL011 with the
/// fixed clock the AMBA bus wants; and chosen: the command line, the initramfs and the console.
/// </summary>
internal static class Arm64DeviceTree
{
    // GIC interrupt specifiers: <type number flags>; type 0 = SPI, 1 = PPI; flags 4 = level high, 8 = level low.
    private const uint Spi = 0, Ppi = 1, LevelHigh = 4, LevelLow = 8;

    public static byte[] Build(Arm64Layout layout, int vcpus, string cmdline, ulong initrdStart, ulong initrdEnd)
    {
        var b = new FdtBuilder();
        var gic = b.NewPhandle();
        var clock = b.NewPhandle();
        b.BeginNode("")
            .StringList("compatible", "linux,dummy-virt")
            .U32("#address-cells", 2).U32("#size-cells", 2)
            .U32("interrupt-parent", gic);

        b.BeginNode("chosen")
            .String("bootargs", cmdline)
            .U64("linux,initrd-start", initrdStart).U64("linux,initrd-end", initrdEnd)
            .String("stdout-path", $"/pl011@{layout.UartBase:x}")
            .EndNode();

        b.BeginNode($"memory@{layout.RamBase:x}").String("device_type", "memory").U64s("reg", layout.RamBase, layout.RamSize).EndNode();

        b.BeginNode("cpus").U32("#address-cells", 1).U32("#size-cells", 0);
        for (var i = 0; i < vcpus; i++)
            b.BeginNode($"cpu@{i}").String("device_type", "cpu").StringList("compatible", "arm,arm-v8")
                .String("enable-method", "psci").U32("reg", (uint)i).EndNode();
        b.EndNode();

        b.BeginNode("psci").StringList("compatible", "arm,psci-1.0", "arm,psci-0.2", "arm,psci").String("method", "hvc").EndNode();

        b.BeginNode($"intc@{layout.GicDistBase:x}").StringList("compatible", "arm,gic-v3")
            .U32("#interrupt-cells", 3).Empty("interrupt-controller")
            .U32("#address-cells", 2).U32("#size-cells", 2).Empty("ranges")
            .U64s("reg", layout.GicDistBase, VGicV3.DistributorSize, layout.GicRedistBase, VGicV3.RedistributorSizePerVcpu * (ulong)vcpus)
            .Phandle(gic).EndNode();

        // Secure physical, non-secure physical, virtual, hypervisor timers: PPIs 13, 14, 11, 10 (INTIDs 29, 30, 27, 26).
        b.BeginNode("timer").StringList("compatible", "arm,armv8-timer").Empty("always-on")
            .Cells("interrupts", Ppi, 13, LevelLow, Ppi, 14, LevelLow, Ppi, 11, LevelLow, Ppi, 10, LevelLow).EndNode();

        b.BeginNode("apb-pclk").StringList("compatible", "fixed-clock").U32("#clock-cells", 0)
            .U32("clock-frequency", 24_000_000).String("clock-output-names", "clk24mhz").Phandle(clock).EndNode();

        b.BeginNode($"pl011@{layout.UartBase:x}").StringList("compatible", "arm,pl011", "arm,primecell")
            .U64s("reg", layout.UartBase, Pl011.Size)
            .Cells("interrupts", Spi, (uint)(layout.UartIntid - 32), LevelHigh)
            .Cells("clocks", clock, clock).StringList("clock-names", "uartclk", "apb_pclk").EndNode();

        b.EndNode();
        return b.Build();
    }
}

/// <summary>Where things sit in guest-physical space (the layout of QEMU's "virt" board, which Linux knows well).</summary>
internal sealed record Arm64Layout(ulong RamSize)
{
    public ulong GicDistBase => 0x0800_0000;
    public ulong GicRedistBase => 0x080a_0000;
    public ulong UartBase => 0x0900_0000;
    public int UartIntid => 33;   // SPI 1
    public ulong RamBase => 0x4000_0000;
}
