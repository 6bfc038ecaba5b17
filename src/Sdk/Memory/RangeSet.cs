namespace Kvm;

/// <summary>
/// A set of ulong offsets stored as disjoint, coalesced half-open ranges (never empty, never touching), so its memory
/// grows with the number of ranges, not with the span they cover: a set over [0, 2^62) is one range. Queries cost
/// O(log n) in the number of stored ranges n and allocate nothing; <see cref="Add"/> and <see cref="Remove"/> cost
/// O((k + 1) log n) for k ranges merged or cut, which is O(log n) amortised because each op inserts at most two
/// ranges and every range removed was inserted once. Not thread-safe: callers lock.
/// </summary>
internal sealed class RangeSet
{
    // Start → end in an AVL tree (OrderedMap): O(log n) floor/ceiling searches with no allocation, which a SortedSet
    // gives only through an allocating GetViewBetween, and O(log n) insert/remove, where a SortedList is O(n).
    private readonly OrderedMap<ulong> _ranges = new();

    /// <summary>An empty set.</summary>
    public RangeSet()
    {
    }

    /// <summary>A set holding [<paramref name="start"/>, <paramref name="start"/> + <paramref name="length"/>) — one
    /// range whatever the length, in O(1).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range passes <see cref="ulong.MaxValue"/>.</exception>
    public RangeSet(ulong start, ulong length) => Add(start, length);

    /// <summary>Number of stored (disjoint, non-adjacent) ranges.</summary>
    public int Count => _ranges.Count;

    /// <summary>Every stored range, in order.</summary>
    public IEnumerable<Extent> All => _ranges.From(0).Select(e => new Extent(e.Key, e.Value));

    /// <summary>Adds [<paramref name="start"/>, +<paramref name="length"/>), merging with every range it overlaps or
    /// touches. A zero length does nothing.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range passes <see cref="ulong.MaxValue"/>.</exception>
    public void Add(ulong start, ulong length)
    {
        if (length == 0)
            return;
        var (newStart, newEnd) = (start, EndOf(start, length));
        // A range starting at or before `start` that reaches it (overlap or adjacency) is extended in place.
        if (_ranges.TryFloor(start, out var leftStart, out var leftEnd) && leftEnd >= start)
            (newStart, newEnd) = (leftStart, Math.Max(leftEnd, newEnd));
        // Ranges starting after newStart, up to newEnd inclusive (adjacency), are absorbed. newStart < newEnd, so
        // newStart + 1 cannot overflow.
        while (_ranges.TryCeiling(newStart + 1, out var s, out var e) && s <= newEnd)
        {
            newEnd = Math.Max(newEnd, e);
            _ranges.Remove(s);
        }
        _ranges.Set(newStart, newEnd);
    }

    /// <summary>Removes [<paramref name="start"/>, +<paramref name="length"/>), trimming or splitting the ranges it
    /// overlaps. A zero length does nothing.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range passes <see cref="ulong.MaxValue"/>.</exception>
    public void Remove(ulong start, ulong length)
    {
        if (length == 0)
            return;
        var end = EndOf(start, length);
        if (_ranges.TryFloor(start, out var leftStart, out var leftEnd) && leftEnd > start)
        {
            if (leftStart < start)
                _ranges.Set(leftStart, start);
            else
                _ranges.Remove(leftStart);
            if (leftEnd > end)
            {
                _ranges.Set(end, leftEnd); // the removed span was inside one range: split it
                return;
            }
        }
        // No range starts at `start` any more; the rest start inside (start, end).
        while (_ranges.TryCeiling(start, out var s, out var e) && s < end)
        {
            _ranges.Remove(s);
            if (e > end)
            {
                _ranges.Set(end, e);
                return;
            }
        }
    }

    /// <summary>True when <paramref name="point"/> is in the set.</summary>
    public bool Contains(ulong point) => _ranges.TryFloor(point, out _, out var end) && point < end;

    /// <summary>True when any offset of [<paramref name="start"/>, +<paramref name="length"/>) is in the set; false
    /// for a zero length.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range passes <see cref="ulong.MaxValue"/>.</exception>
    public bool ContainsAny(ulong start, ulong length)
    {
        if (length == 0)
            return false;
        var end = EndOf(start, length);
        // Either a range contains `start`, or an overlapping one starts inside the span.
        return Contains(start) || (_ranges.TryCeiling(start, out var next, out _) && next < end);
    }

    /// <summary>True when every offset of [<paramref name="start"/>, +<paramref name="length"/>) is in the set; true
    /// for a zero length.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range passes <see cref="ulong.MaxValue"/>.</exception>
    public bool ContainsAll(ulong start, ulong length)
    {
        if (length == 0)
            return true;
        var end = EndOf(start, length);
        // Ranges are coalesced, so a covered span lies inside a single stored range.
        return _ranges.TryFloor(start, out _, out var rangeEnd) && end <= rangeEnd;
    }

    /// <summary>The stored ranges overlapping [<paramref name="start"/>, +<paramref name="length"/>), in order
    /// (whole ranges, not clipped; for diagnostics). The set must not change during the walk.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range passes <see cref="ulong.MaxValue"/>.</exception>
    public IEnumerable<Extent> Overlapping(ulong start, ulong length)
    {
        if (length == 0)
            return [];
        var end = EndOf(start, length);
        var from = _ranges.TryFloor(start, out var leftStart, out var leftEnd) && leftEnd > start ? leftStart : start;
        return _ranges.From(from).TakeWhile(e => e.Key < end).Select(e => new Extent(e.Key, e.Value));
    }

    private static ulong EndOf(ulong start, ulong length)
    {
        if (length > ulong.MaxValue - start)
            Fail.Range(nameof(length), length, $"[0x{start:X}, +0x{length:X}) passes the end of the 64-bit offset space");
        return start + length;
    }
}
