using System.Runtime.InteropServices;
using System.Text;

namespace Kvm.Fdt;

/// <summary>The strings block of a flattened device tree: each property name once, NUL-terminated, found by its
/// byte offset (<c>nameoff</c> of an <c>FDT_PROP</c> token).</summary>
internal sealed class FdtStrings
{
    private readonly Dictionary<string, int> _offsets = new(StringComparer.Ordinal);
    private readonly List<byte> _bytes = [];

    public int Length => _bytes.Count;

    public int OffsetOf(string name)
    {
        if (_offsets.TryGetValue(name, out var offset))
            return offset;
        offset = _bytes.Count;
        _bytes.AddRange(Encoding.ASCII.GetBytes(name));
        _bytes.Add(0);
        _offsets.Add(name, offset);
        return offset;
    }

    public void CopyTo(Span<byte> destination) => CollectionsMarshal.AsSpan(_bytes).CopyTo(destination);
}
