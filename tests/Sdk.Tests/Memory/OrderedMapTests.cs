using CsCheck;

namespace Kvm.Tests.Memory;

/// <summary>The AVL tree under RangeSet and the memslot maps, against SortedDictionary over random operations.</summary>
public class OrderedMapTests
{
    [Fact]
    public void MatchesASortedDictionary()
    {
        // Keys from a small range so that inserts, overwrites and removals of present keys all happen often.
        var op = Gen.Select(Gen.Bool, Gen.ULong[0, 200], Gen.Int);
        op.Array[1, 300].Sample(ops =>
        {
            var map = new OrderedMap<int>();
            var model = new SortedDictionary<ulong, int>();
            foreach (var (insert, key, value) in ops)
            {
                if (insert)
                {
                    map.Set(key, value);
                    model[key] = value;
                }
                else
                {
                    Assert.Equal(model.Remove(key), map.Remove(key));
                }
                Assert.Equal(model.Count, map.Count);
            }
            Assert.Equal(model.Select(kv => (kv.Key, kv.Value)), map.From(0));
            var keys = model.Keys.ToList();
            for (ulong probe = 0; probe <= 201; probe++)
            {
                var floor = keys.Where(k => k <= probe).Select(k => (ulong?)k).LastOrDefault();
                var ceiling = keys.Where(k => k >= probe).Select(k => (ulong?)k).FirstOrDefault();
                Assert.Equal(floor is not null, map.TryFloor(probe, out var f, out _));
                Assert.Equal(floor ?? 0, f);
                Assert.Equal(ceiling is not null, map.TryCeiling(probe, out var c, out var cv));
                Assert.Equal(ceiling ?? 0, c);
                if (ceiling is { } key)
                    Assert.Equal(model[key], cv);
                Assert.Equal(keys.Where(k => k >= probe), map.From(probe).Select(e => e.Key));
            }
        }, iter: 200);
    }

    [Fact]
    public void ExtremeKeysOrderCorrectly()
    {
        var map = new OrderedMap<string>();
        map.Set(ulong.MaxValue, "max");
        map.Set(0, "zero");
        map.Set(1UL << 63, "half");
        Assert.Equal([0, 1UL << 63, ulong.MaxValue], map.From(0).Select(e => e.Key));
        Assert.True(map.TryFloor(ulong.MaxValue - 1, out var k, out var v));
        Assert.Equal((1UL << 63, "half"), (k, v));
        Assert.True(map.TryCeiling(1, out k, out v));
        Assert.Equal((1UL << 63, "half"), (k, v));
    }
}
