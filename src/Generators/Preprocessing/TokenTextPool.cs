using System;

namespace Kvm.Generators.Preprocessing;

/// <summary>One string per distinct token text within a lexed file: a header repeats the same few spellings
/// (<c>#</c>, <c>define</c>, <c>(</c>, <c>__u64</c>, a macro name at its definition and at each use), and a
/// substring per token kept every copy alive for as long as the file's lines are cached. Open addressing over the
/// characters in place, so a text already in the pool allocates nothing.</summary>
internal sealed class TokenTextPool
{
    private string?[] _slots = new string?[1024];
    private int _count;

    public string Get(string text, int start, int length)
    {
        if (length == 0) return "";
        int hash = Hash(text, start, length);
        int mask = _slots.Length - 1;
        for (int i = hash & mask; ; i = (i + 1) & mask)
        {
            var s = _slots[i];
            if (s is null)
            {
                s = text.Substring(start, length);
                _slots[i] = s;
                if (++_count * 2 > _slots.Length) Grow();
                return s;
            }
            if (s.Length == length && string.CompareOrdinal(s, 0, text, start, length) == 0) return s;
        }
    }

    private static int Hash(string text, int start, int length)
    {
        unchecked
        {
            uint h = 2166136261;
            for (int i = 0; i < length; i++) h = (h ^ text[start + i]) * 16777619;
            return (int)(h & 0x7FFFFFFF);
        }
    }

    private void Grow()
    {
        var old = _slots;
        _slots = new string?[old.Length * 2];
        int mask = _slots.Length - 1;
        foreach (var s in old)
        {
            if (s is null) continue;
            int i = Hash(s, 0, s.Length) & mask;
            while (_slots[i] is not null) i = (i + 1) & mask;
            _slots[i] = s;
        }
    }
}
