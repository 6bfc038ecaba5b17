using CsCheck;

namespace Kvm.Tests.Memory;

/// <summary>RangeSet against a dense reference model (one bool per unit) over random operation sequences, in two
/// windows: the bottom of the offset space and the top, whose last unit ends exactly at ulong.MaxValue.</summary>
public class RangeSetModelTests
{
    private const int UnitsPerWindow = 256;
    private const ulong Unit = 4096;
    private const ulong HighBase = ulong.MaxValue - UnitsPerWindow * Unit;

    /// <summary>Add, Remove, or a fresh set holding [Start, +Length) as its one initial range.</summary>
    public enum OpKind { Add, Remove, Reset }

    /// <summary>One step, in units of a window (High: the window ending at ulong.MaxValue).</summary>
    public sealed record Op(OpKind Kind, bool High, int Start, int Length)
    {
        /// <inheritdoc />
        public override string ToString() => $"{Kind}({(High ? "hi" : "lo")} {Start}, +{Length})";
    }

    private static readonly Gen<Op> GenOp =
        Gen.Select(Gen.Int[0, 9], Gen.Bool, Gen.Int[0, UnitsPerWindow], Gen.Int[0, UnitsPerWindow], (k, high, start, length) =>
            new Op(k switch { < 5 => OpKind.Add, < 9 => OpKind.Remove, _ => OpKind.Reset }, high, start,
                Math.Min(length, UnitsPerWindow - start)));

    private static ulong Address(bool high, int unit) => (high ? HighBase : 0) + (ulong)unit * Unit;

    private static int ModelIndex(bool high, int unit) => (high ? UnitsPerWindow : 0) + unit;

    [Fact]
    public void MatchesADenseModelAfterEveryStep()
    {
        GenOp.Array[1, 40].Sample(ops =>
        {
            var set = new RangeSet();
            var model = new bool[2 * UnitsPerWindow];
            for (var step = 0; step < ops.Length; step++)
            {
                Apply(set, model, ops[step]);
                CheckInvariants(set);
                // Range queries over this step's span and the three before it (in either window).
                CheckAgainstModel(set, model, ops[Math.Max(0, step - 3)..(step + 1)]);
            }
        }, iter: 400, print: ops => string.Join(", ", ops.Select(o => o.ToString())));
    }

    private static void Apply(RangeSet set, bool[] model, Op op)
    {
        var (start, length) = (Address(op.High, op.Start), (ulong)op.Length * Unit);
        switch (op.Kind)
        {
            case OpKind.Add:
                set.Add(start, length);
                break;
            case OpKind.Remove:
                set.Remove(start, length);
                break;
            case OpKind.Reset:
                // The constructor's initial range replaces the whole set (and the whole model).
                var fresh = new RangeSet(start, length);
                set.Remove(0, ulong.MaxValue);
                foreach (var r in fresh.All)
                    set.Add(r.Start, r.Length);
                Array.Clear(model);
                break;
        }
        for (var u = op.Start; u < op.Start + op.Length; u++)
            model[ModelIndex(op.High, u)] = op.Kind != OpKind.Remove;
    }

    private static void CheckInvariants(RangeSet set)
    {
        var ranges = set.All.ToList();
        Assert.Equal(ranges.Count, set.Count);
        for (var i = 0; i < ranges.Count; i++)
        {
            Assert.True(ranges[i].Start < ranges[i].End, $"empty range {ranges[i]}");
            if (i > 0)
                Assert.True(ranges[i - 1].End < ranges[i].Start, $"{ranges[i - 1]} and {ranges[i]} are unsorted, overlap or touch");
        }
    }

    private static void CheckAgainstModel(RangeSet set, bool[] model, Op[] querySpans)
    {
        var expectedRanges = ExpectedRanges(model);
        Assert.Equal(expectedRanges, set.All.ToList());
        foreach (var high in new[] { false, true })
        {
            for (var u = 0; u < UnitsPerWindow; u++)
            {
                var inModel = model[ModelIndex(high, u)];
                var a = Address(high, u);
                Assert.Equal(inModel, set.Contains(a));
                Assert.Equal(inModel, set.Contains(a + Unit - 1));
            }
        }
        foreach (var q in querySpans)
        {
            var (start, length) = (Address(q.High, q.Start), (ulong)q.Length * Unit);
            var units = Enumerable.Range(q.Start, q.Length).Select(u => model[ModelIndex(q.High, u)]).ToList();
            Assert.Equal(units.Any(b => b), set.ContainsAny(start, length));
            Assert.Equal(units.All(b => b), set.ContainsAll(start, length));
            var expected = expectedRanges.Where(r => q.Length > 0 && r.Start < start + length && start < r.End);
            Assert.Equal(expected, set.Overlapping(start, length));
        }
    }

    /// <summary>The model's runs of set units, as ranges (the two windows are far apart, so never adjacent).</summary>
    private static List<Extent> ExpectedRanges(bool[] model)
    {
        var result = new List<Extent>();
        foreach (var high in new[] { false, true })
        {
            var u = 0;
            while (u < UnitsPerWindow)
            {
                if (!model[ModelIndex(high, u)])
                {
                    u++;
                    continue;
                }
                var first = u;
                while (u < UnitsPerWindow && model[ModelIndex(high, u)])
                    u++;
                result.Add(new Extent(Address(high, first), Address(high, u)));
            }
        }
        return result;
    }
}
