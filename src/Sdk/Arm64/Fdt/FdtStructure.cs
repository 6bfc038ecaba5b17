using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace Kvm.Fdt;

/// <summary>The structure block of a flattened device tree: big-endian 32-bit tokens (<c>FDT_BEGIN_NODE</c> 1 +
/// NUL-terminated name, <c>FDT_END_NODE</c> 2, <c>FDT_PROP</c> 3 + length + <c>nameoff</c> + value,
/// <c>FDT_END</c> 9), every item padded with zeros to a 4-byte boundary.</summary>
internal sealed class FdtStructure
{
    public const uint BeginNode = 1, EndNode = 2, Prop = 3, End = 9;

    private readonly List<byte> _bytes = [];

    public int Length => _bytes.Count;

    public void Token(uint token) => U32(token);

    public void NodeName(string name)
    {
        _bytes.AddRange(Encoding.ASCII.GetBytes(name));
        _bytes.Add(0);
        Pad();
    }

    public void Property(int nameOffset, ReadOnlySpan<byte> value)
    {
        U32(Prop);
        U32((uint)value.Length);
        U32((uint)nameOffset);
        _bytes.AddRange(value);
        Pad();
    }

    public void CopyTo(Span<byte> destination) => CollectionsMarshal.AsSpan(_bytes).CopyTo(destination);

    private void U32(uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, value);
        _bytes.AddRange(b);
    }

    private void Pad()
    {
        while ((_bytes.Count & 3) != 0)
            _bytes.Add(0);
    }
}
