namespace Kvm;

/// <summary>A half-open range [<see cref="Start"/>, <see cref="End"/>) of ulong offsets.</summary>
/// <param name="Start">First offset in the range.</param>
/// <param name="End">First offset past the range (exclusive, so a range can end at <see cref="ulong.MaxValue"/>
/// without overflow).</param>
internal readonly record struct Extent(ulong Start, ulong End)
{
    /// <summary>End − Start.</summary>
    public ulong Length => End - Start;

    /// <inheritdoc />
    public override string ToString() => $"[0x{Start:X}, 0x{End:X})";
}

/// <summary>
/// A set of ulong offsets stored as disjoint, coalesced half-open ranges (never empty, never touching), so its memory
/// grows with the number of ranges, not with the span they cover: a set over [0, 2^62) is one range. Queries cost
/// O(log n + k) in the number of stored ranges n and ranges touched k; <see cref="Add"/> and <see cref="Remove"/>
/// cost O((k + 1) log n), which is O(log n) amortised because each op inserts at most two ranges and every range
/// removed was inserted once. Not thread-safe: callers lock.
/// </summary>
internal sealed class RangeSet
{
    // SortedSet is a red-black tree: O(log n) insert/remove (SortedList shifts an array, O(n)), and GetViewBetween
    // gives floor lookups and bounded in-order walks in O(log n + k) without our own balanced tree.
    private readonly SortedSet<Extent> _ranges = new(ByStart.Instance);

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

    /// <summary>Adds [<paramref name="start"/>, +<paramref name="length"/>), merging with every range it overlaps or
    /// touches. A zero length does nothing.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range passes <see cref="ulong.MaxValue"/>.</exception>
    public void Add(ulong start, ulong length)
    {
        if (length == 0)
            return;
        var end = EndOf(start, length);
        var merged = new Extent(start, end);
        // A range starting before `start` is merged when it reaches `start` (overlap or adjacency).
        if (Floor(start) is { } left && left.End >= start)
            merged = new Extent(left.Start, Math.Max(left.End, end));
        // Every range starting in [start, end] overlaps or touches the new one (`end` inclusive: adjacency).
        var absorbed = Between(start, end);
        if (absorbed.Count > 0)
            merged = merged with { End = Math.Max(merged.End, absorbed[^1].End) };
        if (merged.Start < start)
            _ranges.Remove(merged with { End = 0 });
        foreach (var r in absorbed)
            _ranges.Remove(r);
        _ranges.Add(merged);
    }

    /// <summary>Removes [<paramref name="start"/>, +<paramref name="length"/>), trimming or splitting the ranges it
    /// overlaps. A zero length does nothing.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range passes <see cref="ulong.MaxValue"/>.</exception>
    public void Remove(ulong start, ulong length)
    {
        if (length == 0)
            return;
        var end = EndOf(start, length);
        var hit = Between(start, end - 1);
        if (Floor(start) is { } left && left.Start < start && left.End > start)
            hit.Insert(0, left);
        if (hit.Count == 0)
            return;
        foreach (var r in hit)
            _ranges.Remove(r);
        // Only the first and last ranges can stick out of the removed span.
        if (hit[0].Start < start)
            _ranges.Add(new Extent(hit[0].Start, start));
        if (hit[^1].End > end)
            _ranges.Add(new Extent(end, hit[^1].End));
    }

    /// <summary>True when <paramref name="point"/> is in the set.</summary>
    public bool Contains(ulong point) => Floor(point) is { } r && point < r.End;

    /// <summary>True when any offset of [<paramref name="start"/>, +<paramref name="length"/>) is in the set; false
    /// for a zero length.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range passes <see cref="ulong.MaxValue"/>.</exception>
    public bool ContainsAny(ulong start, ulong length)
    {
        if (length == 0)
            return false;
        var end = EndOf(start, length);
        if (Contains(start))
            return true;
        // Otherwise an overlap must start inside the range.
        return View(start, end - 1).Min.End != 0;
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
        return Floor(start) is { } r && end <= r.End;
    }

    /// <summary>The stored ranges overlapping [<paramref name="start"/>, +<paramref name="length"/>), in order
    /// (whole ranges, not clipped; for diagnostics).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range passes <see cref="ulong.MaxValue"/>.</exception>
    public IEnumerable<Extent> Overlapping(ulong start, ulong length)
    {
        if (length == 0)
            return [];
        var end = EndOf(start, length);
        var hit = Between(start, end - 1);
        if (Floor(start) is { } left && left.Start < start && left.End > start)
            hit.Insert(0, left);
        return hit;
    }

    /// <summary>Every stored range, in order.</summary>
    public IEnumerable<Extent> All => _ranges;

    private static ulong EndOf(ulong start, ulong length)
    {
        if (length > ulong.MaxValue - start)
            Fail.Range(nameof(length), length, $"[0x{start:X}, +0x{length:X}) passes the end of the 64-bit offset space");
        return start + length;
    }

    /// <summary>The range with the greatest start ≤ <paramref name="point"/>, if any.</summary>
    private Extent? Floor(ulong point)
    {
        var r = View(0, point).Max;
        // Stored ranges are never empty, so End == 0 is the empty view's default(Extent).
        return r.End == 0 ? null : r;
    }

    /// <summary>The ranges whose start lies in [<paramref name="first"/>, <paramref name="last"/>], copied so the
    /// caller can mutate the set.</summary>
    private List<Extent> Between(ulong first, ulong last) => [.. View(first, last)];

    private SortedSet<Extent> View(ulong first, ulong last) =>
        _ranges.GetViewBetween(new Extent(first, 0), new Extent(last, 0));

    /// <summary>Orders ranges by start only: stored ranges are disjoint, and probes carry just a start.</summary>
    private sealed class ByStart : IComparer<Extent>
    {
        public static readonly ByStart Instance = new();

        public int Compare(Extent x, Extent y) => x.Start.CompareTo(y.Start);
    }
}
