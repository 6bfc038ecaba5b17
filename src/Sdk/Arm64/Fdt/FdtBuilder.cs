using System.Buffers.Binary;

namespace Kvm.Fdt;

/// <summary>
/// Writes a flattened device tree blob (DTB, format version 17, compatible back to 16): the description of the
/// machine an arm64 kernel reads at boot (its address goes in X0). Open the root with <c>BeginNode("")</c>, add each
/// node's properties before its children, close every node with <see cref="EndNode"/>, then <see cref="Build"/>.
/// No ioctl is involved; every rule of the format (names, nesting, order, sizes, unique phandles) is checked when
/// the call is made, with an exception that names the rule.
/// </summary>
public sealed class FdtBuilder
{
    /// <summary>The largest blob an arm64 kernel accepts (<c>Documentation/arch/arm64/booting.rst</c>: at most 2 MiB,
    /// on an 8-byte boundary).</summary>
    public const int MaxArm64BlobSize = 2 * 1024 * 1024;

    private const uint Magic = 0xd00dfeed, Version = 17, LastCompatibleVersion = 16;
    private const int HeaderSize = 40;

    private readonly FdtStructure _structure = new();
    private readonly FdtStrings _strings = new();
    private readonly List<(ulong Address, ulong Size)> _reservations = [];
    private readonly Stack<OpenNode> _open = new();
    private readonly HashSet<uint> _phandles = [];
    private uint _nextPhandle = 1;
    private bool _rootClosed;

    /// <summary>The physical id of the CPU that boots (<c>boot_cpuid_phys</c> in the header); 0 by default.</summary>
    public uint BootCpuId { get; set; }

    /// <summary>The depth of open nodes (0 before the root and after it closed).</summary>
    public int Depth => _open.Count;

    /// <summary>Adds an entry to the memory reservation map: guest memory the kernel must not use.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is 0, or the range wraps past 2^64.</exception>
    public FdtBuilder AddReservation(ulong address, ulong size)
    {
        if (size == 0)
            Fail.Range(nameof(size), size, "a memory reservation covers at least one byte (a 0 size ends the map)");
        if (address + size - 1 < address)
            Fail.Range(nameof(size), size, $"a memory reservation at 0x{address:x} must end below 2^64");
        _reservations.Add((address, size));
        return this;
    }

    /// <summary>Opens a node: <c>""</c> for the root (first, and only once), else a child of the open node named
    /// <c>name[@unit-address]</c>, unique among its siblings.</summary>
    /// <exception cref="ArgumentException">The name breaks the naming rules, is not unique among its siblings, or the
    /// root is named / a child is unnamed.</exception>
    /// <exception cref="InvalidOperationException">The root was already closed (a tree has one root).</exception>
    public FdtBuilder BeginNode(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_rootClosed)
            throw new InvalidOperationException("a device tree has one root node, and it is already closed");
        if (_open.Count == 0)
        {
            if (name.Length != 0)
                Fail.Argument(nameof(name), $"the first node is the root, whose name is empty (got '{name}')");
        }
        else
        {
            FdtNames.RequireNodeName(name, nameof(name));
            var parent = _open.Peek();
            if (!parent.Children.Add(name))
                Fail.Argument(nameof(name), $"node '{name}' already exists under '{parent.Path}' (sibling names are unique)");
        }
        _open.Push(new OpenNode(_open.Count == 0 ? "/" : Join(_open.Peek().Path, name)));
        _structure.Token(FdtStructure.BeginNode);
        _structure.NodeName(name);
        return this;
    }

    /// <summary>Closes the innermost open node.</summary>
    /// <exception cref="InvalidOperationException">No node is open.</exception>
    public FdtBuilder EndNode()
    {
        if (_open.Count == 0)
            throw new InvalidOperationException("EndNode without an open node (every EndNode closes one BeginNode)");
        _open.Pop();
        _structure.Token(FdtStructure.EndNode);
        if (_open.Count == 0)
            _rootClosed = true;
        return this;
    }

    /// <summary>A property without a value (a flag such as <c>interrupt-controller</c>).</summary>
    /// <exception cref="ArgumentException">The name breaks the naming rules or repeats a property of this node.</exception>
    /// <exception cref="InvalidOperationException">No node is open, or the open node already has children
    /// (properties come before subnodes).</exception>
    public FdtBuilder Empty(string name) => Property(name, []);

    /// <summary>A one-cell property (big-endian u32).</summary>
    /// <inheritdoc cref="Empty" path="/exception"/>
    public FdtBuilder U32(string name, uint value) => Property(name, FdtValue.Cells([value]));

    /// <summary>A property of cells (big-endian u32 each), e.g. <c>interrupts</c>.</summary>
    /// <inheritdoc cref="Empty" path="/exception"/>
    public FdtBuilder Cells(string name, params ReadOnlySpan<uint> cells) => Property(name, FdtValue.Cells(cells));

    /// <summary>A two-cell property (big-endian u64).</summary>
    /// <inheritdoc cref="Empty" path="/exception"/>
    public FdtBuilder U64(string name, ulong value) => Property(name, FdtValue.Longs([value]));

    /// <summary>A property of 64-bit values, two cells each: with <c>#address-cells = #size-cells = 2</c>, a
    /// <c>reg</c> of (address, size) pairs.</summary>
    /// <inheritdoc cref="Empty" path="/exception"/>
    public FdtBuilder U64s(string name, params ReadOnlySpan<ulong> values) => Property(name, FdtValue.Longs(values));

    /// <summary>A string property (NUL-terminated ASCII).</summary>
    /// <exception cref="ArgumentException">The value holds NUL or non-ASCII, or see <see cref="Empty"/>.</exception>
    /// <inheritdoc cref="Empty" path="/exception"/>
    public FdtBuilder String(string name, string value)
    {
        FdtNames.RequireStringValue(value, nameof(value));
        return Property(name, FdtValue.Strings([value]));
    }

    /// <summary>A string-list property (e.g. <c>compatible</c>): at least one string, each NUL-terminated.</summary>
    /// <exception cref="ArgumentException">No string, a string holding NUL or non-ASCII, or see <see cref="Empty"/>.</exception>
    /// <inheritdoc cref="Empty" path="/exception"/>
    public FdtBuilder StringList(string name, params ReadOnlySpan<string> values)
    {
        if (values.Length == 0)
            Fail.Argument(nameof(values), "a device-tree string list holds at least one string");
        foreach (var v in values)
            FdtNames.RequireStringValue(v, nameof(values));
        return Property(name, FdtValue.Strings(values));
    }

    /// <summary>A property of raw bytes.</summary>
    /// <inheritdoc cref="Empty" path="/exception"/>
    public FdtBuilder Bytes(string name, ReadOnlySpan<byte> value) => Property(name, value.ToArray());

    /// <summary>Allocates the next unused phandle (1, 2, ...) for a node another node refers to; write it into that
    /// node with <see cref="Phandle"/>.</summary>
    public uint NewPhandle()
    {
        while (_phandles.Contains(_nextPhandle))
            _nextPhandle++;
        return _nextPhandle++;
    }

    /// <summary>The open node's <c>phandle</c> property: the handle other nodes use to refer to it (e.g.
    /// <c>interrupt-parent</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="phandle"/> is 0 or 0xffffffff (reserved).</exception>
    /// <exception cref="ArgumentException">Another node already has this phandle, or see <see cref="Empty"/>.</exception>
    /// <inheritdoc cref="Empty" path="/exception"/>
    public FdtBuilder Phandle(uint phandle)
    {
        if (phandle is 0 or uint.MaxValue)
            Fail.Range(nameof(phandle), phandle, "a phandle is 1..0xfffffffe (0 and 0xffffffff are reserved)");
        var node = RequireOpenForProperty("phandle");
        if (node.Properties.Contains("phandle"))
            Fail.Argument(nameof(phandle), $"'{node.Path}' already has a phandle (a node has one)");
        if (!_phandles.Add(phandle))
            Fail.Argument(nameof(phandle), $"phandle {phandle} already belongs to another node (phandles are unique in a tree)");
        return Property("phandle", FdtValue.Cells([phandle]));
    }

    /// <summary>The blob: header, memory reservation map (8-byte aligned, ended by a zero entry), structure block
    /// (ended by <c>FDT_END</c>), strings block.</summary>
    /// <exception cref="InvalidOperationException">The root was never opened or a node is still open, or the blob
    /// would exceed <see cref="MaxArm64BlobSize"/>.</exception>
    public byte[] Build()
    {
        if (!_rootClosed)
            throw new InvalidOperationException(_open.Count == 0
                ? "a device tree needs its root node (BeginNode(\"\") ... EndNode())"
                : $"node '{_open.Peek().Path}' is still open: close every node before Build");
        var reserveOffset = HeaderSize;
        var reserveSize = (_reservations.Count + 1) * 16;
        var structOffset = reserveOffset + reserveSize;
        var structSize = _structure.Length + 4;
        var stringsOffset = structOffset + structSize;
        var total = (long)stringsOffset + _strings.Length;
        if (total > MaxArm64BlobSize)
            throw new InvalidOperationException($"the blob would be {total} bytes; an arm64 kernel accepts at most {MaxArm64BlobSize}");

        var blob = new byte[total];
        var span = blob.AsSpan();
        uint[] header = [Magic, (uint)total, (uint)structOffset, (uint)stringsOffset, (uint)reserveOffset, Version,
            LastCompatibleVersion, BootCpuId, (uint)_strings.Length, (uint)structSize];
        for (var i = 0; i < header.Length; i++)
            BinaryPrimitives.WriteUInt32BigEndian(span[(i * 4)..], header[i]);
        for (var i = 0; i < _reservations.Count; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(span[(reserveOffset + i * 16)..], _reservations[i].Address);
            BinaryPrimitives.WriteUInt64BigEndian(span[(reserveOffset + i * 16 + 8)..], _reservations[i].Size);
        }
        _structure.CopyTo(span[structOffset..]);
        BinaryPrimitives.WriteUInt32BigEndian(span[(structOffset + _structure.Length)..], FdtStructure.End);
        _strings.CopyTo(span[stringsOffset..]);
        return blob;
    }

    private FdtBuilder Property(string name, ReadOnlySpan<byte> value)
    {
        FdtNames.RequirePropertyName(name, nameof(name));
        var node = RequireOpenForProperty(name);
        if (!node.Properties.Add(name))
            Fail.Argument(nameof(name), $"property '{name}' is already set on '{node.Path}' (property names are unique in a node)");
        _structure.Property(_strings.OffsetOf(name), value);
        return this;
    }

    private OpenNode RequireOpenForProperty(string name)
    {
        if (_open.Count == 0)
            throw new InvalidOperationException($"property '{name}' needs an open node (BeginNode first)");
        var node = _open.Peek();
        if (node.Children.Count != 0)
            throw new InvalidOperationException($"property '{name}' of '{node.Path}' comes after its subnodes; a node's properties precede its children");
        return node;
    }

    private static string Join(string parent, string child) => parent == "/" ? "/" + child : parent + "/" + child;

    private sealed record OpenNode(string Path)
    {
        public HashSet<string> Properties { get; } = new(StringComparer.Ordinal);
        public HashSet<string> Children { get; } = new(StringComparer.Ordinal);
    }
}
