using System.Collections.Generic;

namespace Kvm.Generators.Preprocessing;

/// <summary>The tokens of a list from an index on, read in place: a directive's operands without copying them.</summary>
internal readonly struct ListTail
{
    private readonly List<Token> _list;
    private readonly int _from;

    public ListTail(List<Token> list, int from)
    {
        _list = list;
        _from = from < list.Count ? from : list.Count;
    }

    public int Count => _list.Count - _from;

    public Token this[int index] => _list[_from + index];
}
