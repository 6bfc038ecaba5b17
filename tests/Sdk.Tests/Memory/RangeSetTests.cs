namespace Kvm.Tests.Memory;

/// <summary>RangeSet edge cases: empty lengths, the top of the offset space, whole-space removal, splits, and sets
/// over huge spans that must stay one range.</summary>
public class RangeSetTests
{
    private const ulong Page = 4096;

    [Fact]
    public void ZeroLengthsChangeNothingAndQueryAsEmpty()
    {
        var set = new RangeSet(0, 0);
        Assert.Equal(0, set.Count);
        set.Add(Page, 0);
        Assert.Equal(0, set.Count);
        set.Add(0, Page);
        set.Remove(0, 0);
        Assert.Equal([new Extent(0, Page)], set.All);
        Assert.False(set.ContainsAny(0, 0));
        Assert.True(set.ContainsAll(5 * Page, 0));
        Assert.Empty(set.Overlapping(0, 0));
    }

    [Fact]
    public void HugeInitialRangesAreOneRange()
    {
        var gmemMax = new RangeSet(0, 0x7FFFFFFFFFFFF000);
        var quarter = new RangeSet(0, 1UL << 62);
        Assert.Equal(1, gmemMax.Count);
        Assert.Equal(1, quarter.Count);
        Assert.True(quarter.ContainsAll(0, 1UL << 62));
        Assert.False(quarter.Contains(1UL << 62));
        Assert.True(gmemMax.Contains(0x7FFFFFFFFFFFEFFF));
    }

    [Fact]
    public void RemovingFromTheMiddleSplitsInTwo()
    {
        var set = new RangeSet(0, 1UL << 62);
        set.Remove(1UL << 40, Page);
        Assert.Equal([new Extent(0, 1UL << 40), new Extent((1UL << 40) + Page, 1UL << 62)], set.All);
        Assert.False(set.ContainsAny(1UL << 40, Page));
        Assert.False(set.ContainsAll(0, 1UL << 62));
        Assert.True(set.ContainsAny(0, 1UL << 62));
        set.Add(1UL << 40, Page);
        Assert.Equal([new Extent(0, 1UL << 62)], set.All);
    }

    [Fact]
    public void RangesReachUlongMaxValueWithoutOverflow()
    {
        var set = new RangeSet();
        set.Add(ulong.MaxValue - Page, Page);
        Assert.True(set.Contains(ulong.MaxValue - 1));
        Assert.False(set.Contains(ulong.MaxValue)); // exclusive end: the last offset itself is never in a range
        Assert.True(set.ContainsAll(ulong.MaxValue - Page, Page));
        set.Add(0, ulong.MaxValue);
        Assert.Equal([new Extent(0, ulong.MaxValue)], set.All);
        set.Remove(ulong.MaxValue - 1, 1);
        Assert.Equal([new Extent(0, ulong.MaxValue - 1)], set.All);
        Assert.Equal([new Extent(0, ulong.MaxValue - 1)], set.Overlapping(ulong.MaxValue - 2, 2));
    }

    [Fact]
    public void RangesPastUlongMaxValueAreRefused()
    {
        var set = new RangeSet();
        Assert.Throws<ArgumentOutOfRangeException>(() => set.Add(1, ulong.MaxValue));
        Assert.Throws<ArgumentOutOfRangeException>(() => set.Remove(ulong.MaxValue, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => set.ContainsAny(Page, ulong.MaxValue));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RangeSet(ulong.MaxValue, 1));
        Assert.Equal(0, set.Count);
    }

    [Fact]
    public void RemovingTheWholeSpaceEmptiesTheSet()
    {
        var set = new RangeSet(0, Page);
        set.Add(10 * Page, Page);
        set.Add(ulong.MaxValue - Page, Page);
        Assert.Equal(3, set.Count);
        set.Remove(0, ulong.MaxValue);
        Assert.Equal(0, set.Count);
        Assert.False(set.ContainsAny(0, ulong.MaxValue));
    }

    [Fact]
    public void AddBridgesAndAbsorbsNeighbours()
    {
        var set = new RangeSet();
        set.Add(0, Page);
        set.Add(2 * Page, Page);
        set.Add(4 * Page, Page);
        set.Add(6 * Page, Page);
        Assert.Equal(4, set.Count);
        set.Add(Page, 4 * Page); // touches the first range, swallows the next two, stops a page short of the last
        Assert.Equal([new Extent(0, 5 * Page), new Extent(6 * Page, 7 * Page)], set.All);
        Assert.Equal([new Extent(0, 5 * Page), new Extent(6 * Page, 7 * Page)], set.Overlapping(4 * Page, 3 * Page));
        Assert.Empty(set.Overlapping(5 * Page, Page));
    }
}
