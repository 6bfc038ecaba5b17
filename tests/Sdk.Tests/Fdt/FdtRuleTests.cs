using Kvm.Fdt;

namespace Kvm.Tests.Fdt;

/// <summary>Every rule of the blob format the builder enforces, each refused with an exception naming it.</summary>
public sealed class FdtRuleTests
{
    private static FdtBuilder Root() => new FdtBuilder().BeginNode("");

    [Theory]
    [InlineData("")]
    [InlineData("0cpu")]
    [InlineData("a-node-name-of-thirty-two-chars-")]
    [InlineData("bad name")]
    [InlineData("cpu@")]
    [InlineData("cpu@0/1")]
    [InlineData("@0")]
    [InlineData("node#1")]
    public void Bad_node_names_are_refused_with_the_rule(string name)
    {
        var e = Assert.Throws<ArgumentException>(() => Root().BeginNode(name));
        Assert.Contains("node name", e.Message.Replace("unit address", "node name"));
    }

    [Theory]
    [InlineData("cpu@0")]
    [InlineData("a-node-name-of-thirty-one-char")]
    [InlineData("pl011@9000000")]
    [InlineData("virtio_mmio@a000000,1")]
    public void Good_node_names_are_taken(string name) => Assert.Equal(2, Root().BeginNode(name).Depth);

    [Theory]
    [InlineData("")]
    [InlineData("a-property-name-of-thirty-two-c-")]
    [InlineData("re g")]
    [InlineData("linux@initrd")]
    public void Bad_property_names_are_refused_with_the_rule(string name)
    {
        var e = Assert.Throws<ArgumentException>(() => Root().U32(name, 1));
        Assert.Contains("property name", e.Message);
    }

    [Fact]
    public void Property_names_may_hold_hash_and_question_mark() => Root().U32("#address-cells", 2).Empty("weird?");

    [Fact]
    public void The_root_is_unnamed()
    {
        var e = Assert.Throws<ArgumentException>(() => new FdtBuilder().BeginNode("root"));
        Assert.Contains("root", e.Message);
    }

    [Fact]
    public void A_tree_has_one_root()
    {
        var b = Root().EndNode();
        var e = Assert.Throws<InvalidOperationException>(() => b.BeginNode(""));
        Assert.Contains("one root", e.Message);
    }

    [Fact]
    public void End_without_begin_is_refused() =>
        Assert.Contains("without an open node", Assert.Throws<InvalidOperationException>(() => new FdtBuilder().EndNode()).Message);

    [Fact]
    public void Property_without_a_node_is_refused() =>
        Assert.Contains("needs an open node", Assert.Throws<InvalidOperationException>(() => new FdtBuilder().U32("a", 1)).Message);

    [Fact]
    public void Properties_precede_subnodes()
    {
        var b = Root();
        b.BeginNode("child").EndNode();
        var e = Assert.Throws<InvalidOperationException>(() => b.U32("late", 1));
        Assert.Contains("precede its children", e.Message);
    }

    [Fact]
    public void Build_with_an_open_node_names_it()
    {
        var b = Root().BeginNode("cpus").BeginNode("cpu@0");
        var e = Assert.Throws<InvalidOperationException>(() => b.Build());
        Assert.Contains("'/cpus/cpu@0' is still open", e.Message);
    }

    [Fact]
    public void Build_without_a_root_is_refused() =>
        Assert.Contains("root node", Assert.Throws<InvalidOperationException>(() => new FdtBuilder().Build()).Message);

    [Fact]
    public void Sibling_names_are_unique()
    {
        var b = Root();
        b.BeginNode("memory@0").EndNode();
        var e = Assert.Throws<ArgumentException>(() => b.BeginNode("memory@0"));
        Assert.Contains("already exists under '/'", e.Message);
        b.BeginNode("memory@1000").EndNode();  // another unit address is another node
    }

    [Fact]
    public void Property_names_are_unique_in_a_node()
    {
        var b = Root().U32("a", 1);
        Assert.Contains("already set on '/'", Assert.Throws<ArgumentException>(() => b.U64("a", 1)).Message);
    }

    [Theory]
    [InlineData("nul\0inside")]
    [InlineData("caf\u00e9")]
    public void String_values_are_ascii_without_nul(string value)
    {
        Assert.Contains("without NUL", Assert.Throws<ArgumentException>(() => Root().String("s", value)).Message);
        Assert.Contains("without NUL", Assert.Throws<ArgumentException>(() => Root().StringList("s", "ok", value)).Message);
    }

    [Fact]
    public void A_string_list_holds_a_string() =>
        Assert.Contains("at least one string", Assert.Throws<ArgumentException>(() => Root().StringList("compatible")).Message);

    [Theory]
    [InlineData(0u)]
    [InlineData(uint.MaxValue)]
    public void Reserved_phandles_are_refused(uint phandle) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Root().Phandle(phandle));

    [Fact]
    public void Phandles_are_unique_and_allocation_skips_used_ones()
    {
        var b = Root();
        b.BeginNode("a").Phandle(1).EndNode();
        b.BeginNode("b");
        Assert.Contains("already belongs", Assert.Throws<ArgumentException>(() => b.Phandle(1)).Message);
        Assert.Equal(2u, b.NewPhandle());
        b.Phandle(2);
        Assert.Contains("already has a phandle", Assert.Throws<ArgumentException>(() => b.Phandle(5)).Message);
    }

    [Fact]
    public void Reservations_are_non_empty_and_do_not_wrap()
    {
        var b = new FdtBuilder();
        Assert.Throws<ArgumentOutOfRangeException>(() => b.AddReservation(0x1000, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => b.AddReservation(ulong.MaxValue, 2));
        b.AddReservation(ulong.MaxValue, 1);
    }

    [Fact]
    public void A_blob_over_two_mebibytes_is_refused()
    {
        var b = Root().Bytes("big", new byte[FdtBuilder.MaxArm64BlobSize]).EndNode();
        Assert.Contains("at most", Assert.Throws<InvalidOperationException>(() => b.Build()).Message);
    }
}
