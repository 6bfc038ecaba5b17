namespace Kvm;

/// <summary>
/// Non-overlapping half-open ranges [start, end), each with a value: the memslots of one address space by GPA, the
/// bindings of one guest_memfd by file offset. Overlap checks, point lookups, insertion and removal cost O(log n).
/// Unlike <see cref="RangeSet"/> it never merges: each range is one object's. Not thread-safe: callers lock.
/// </summary>
/// <typeparam name="T">The value kept per range.</typeparam>
internal sealed class DisjointRangeMap<T> where T : class
{
    // Start → (end, value) in an AVL tree: allocation-free O(log n) floor/ceiling searches (Find runs on the
    // conversion hot path), O(log n) insert/remove.
    private readonly OrderedMap<(ulong End, T Value)> _entries = new();

    /// <summary>Number of ranges.</summary>
    public int Count => _entries.Count;

    /// <summary>The values, by ascending start.</summary>
    public IEnumerable<T> Values => _entries.From(0).Select(e => e.Value.Value);

    /// <summary>The value whose range contains <paramref name="point"/>, or null.</summary>
    public T? Find(ulong point) =>
        _entries.TryFloor(point, out _, out var floor) && point < floor.End ? floor.Value : null;

    /// <summary>The value of a range overlapping [<paramref name="start"/>, <paramref name="end"/>), or null (also
    /// for an empty range).</summary>
    public T? FindOverlap(ulong start, ulong end)
    {
        if (end <= start)
            return null;
        if (Find(start) is { } containing)
            return containing;
        // Otherwise an overlapping range starts inside (start, end).
        return _entries.TryCeiling(start, out var next, out var entry) && next < end ? entry.Value : null;
    }

    /// <summary>Adds [<paramref name="start"/>, <paramref name="end"/>) → <paramref name="value"/>.</summary>
    /// <exception cref="InvalidOperationException">The range is empty or overlaps a stored one (callers check with
    /// <see cref="FindOverlap"/> first and report the rule themselves).</exception>
    public void Add(ulong start, ulong end, T value)
    {
        if (end <= start || FindOverlap(start, end) is not null)
            throw new InvalidOperationException($"[0x{start:X}, 0x{end:X}) is empty or overlaps a stored range");
        _entries.Set(start, (end, value));
    }

    /// <summary>Removes the range starting at <paramref name="start"/> if its value is <paramref name="value"/>.</summary>
    /// <returns>True when it was removed.</returns>
    public bool Remove(ulong start, T value) =>
        _entries.TryGet(start, out var entry) && ReferenceEquals(entry.Value, value) && _entries.Remove(start);
}
