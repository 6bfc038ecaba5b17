using System.Buffers.Binary;
using Kvm.Fdt;

namespace Kvm.Tests.Fdt;

/// <summary>What FdtBuilder emits, decompiled by dtc and compared with a checked-in .dts: the writer is right when the
/// reference tool reads back exactly the tree that was written, without a warning.</summary>
public sealed class FdtDtcTests
{
    private static byte[] VirtLikeTree()
    {
        var b = new FdtBuilder();
        var gic = b.NewPhandle();
        b.AddReservation(0x4800_0000, 0x1000);
        b.BeginNode("")
            .StringList("compatible", "linux,dummy-virt")
            .U32("#address-cells", 2).U32("#size-cells", 2)
            .U32("interrupt-parent", gic);
        b.BeginNode("chosen")
            .String("bootargs", "console=ttyAMA0 panic=-1")
            .U64("linux,initrd-start", 0x4400_0000).U64("linux,initrd-end", 0x4410_0000)
            .String("stdout-path", "/pl011@9000000")
            .EndNode();
        b.BeginNode("memory@40000000").String("device_type", "memory").U64s("reg", 0x4000_0000, 0x1000_0000).EndNode();
        b.BeginNode("cpus").U32("#address-cells", 1).U32("#size-cells", 0);
        b.BeginNode("cpu@0").String("device_type", "cpu").StringList("compatible", "arm,arm-v8")
            .String("enable-method", "psci").U32("reg", 0).EndNode();
        b.EndNode();
        b.BeginNode("psci").StringList("compatible", "arm,psci-1.0", "arm,psci-0.2").String("method", "hvc").EndNode();
        b.BeginNode("intc@8000000").StringList("compatible", "arm,gic-v3").U32("#interrupt-cells", 3).U32("#address-cells", 2).U32("#size-cells", 2).Empty("ranges")
            .Empty("interrupt-controller").U64s("reg", 0x800_0000, 0x1_0000, 0x80a_0000, 0x2_0000).Phandle(gic).EndNode();
        b.BeginNode("timer").StringList("compatible", "arm,armv8-timer").Empty("always-on")
            .Cells("interrupts", 1, 13, 0xf04, 1, 14, 0xf04, 1, 11, 0xf04, 1, 10, 0xf04).EndNode();
        b.BeginNode("pl011@9000000").StringList("compatible", "arm,pl011", "arm,primecell")
            .U64s("reg", 0x900_0000, 0x1000).Cells("interrupts", 0, 1, 4).Bytes("blob", [0xde, 0xad, 0x01]).EndNode();
        b.EndNode();
        return b.Build();
    }

    [Fact]
    public void Dtc_decompiles_the_blob_to_the_expected_source_without_warnings()
    {
        var (exit, dts, errors) = Dtc.Decompile(VirtLikeTree());
        Assert.True(exit == 0, $"dtc exit {exit}: {errors}");
        Assert.True(errors.Trim().Length == 0, errors);
        var expected = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fdt", "virt-like.dts"));
        Assert.Equal(expected.ReplaceLineEndings("\n"), dts.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void The_smallest_tree_is_an_empty_root_that_dtc_reads()
    {
        var blob = new FdtBuilder().BeginNode("").EndNode().Build();
        var (exit, dts, errors) = Dtc.Decompile(blob);
        Assert.True(exit == 0, $"dtc exit {exit}: {errors}");
        Assert.Equal("/dts-v1/;\n\n/ {\n};\n", dts.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Header_fields_describe_the_blocks_where_they_are()
    {
        var blob = VirtLikeTree();
        uint H(int i) => BinaryPrimitives.ReadUInt32BigEndian(blob.AsSpan(i * 4));
        Assert.Equal(0xd00dfeedu, H(0));
        Assert.Equal((uint)blob.Length, H(1));
        Assert.Equal(17u, H(5));
        Assert.Equal(16u, H(6));
        Assert.Equal(0u, H(4) % 8);                      // reservation map 8-byte aligned
        Assert.Equal(0u, H(2) % 4);                      // structure block 4-byte aligned
        Assert.Equal(H(2) + H(9), H(3));                 // strings follow the structure
        Assert.Equal(H(3) + H(8), H(1));                 // and end the blob
        Assert.Equal(9u, BinaryPrimitives.ReadUInt32BigEndian(blob.AsSpan((int)(H(2) + H(9) - 4))));  // FDT_END
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32BigEndian(blob.AsSpan((int)H(2))));             // FDT_BEGIN_NODE
    }

    [Fact]
    public void Property_names_are_stored_once_in_the_strings_block()
    {
        var b = new FdtBuilder().BeginNode("").U32("a", 1);
        b.BeginNode("x").U32("a", 2).EndNode();
        b.BeginNode("y").U32("a", 3).EndNode();
        var blob = b.EndNode().Build();
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32BigEndian(blob.AsSpan(32)));   // size_dt_strings: "a\0"
    }

    [Fact]
    public void Boot_cpu_id_lands_in_the_header()
    {
        var blob = new FdtBuilder { BootCpuId = 3 }.BeginNode("").EndNode().Build();
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32BigEndian(blob.AsSpan(28)));
    }
}
