using System.Text;
using Kvm.Generators.Model;

namespace Kvm.Cli;

/// <summary>What changed between two ABIs: ioctls and capabilities added, removed or renumbered; struct layouts
/// changed; numbers that collide (one number, two names) within a family across the two sides.</summary>
internal sealed class AbiDiff
{
    public List<string> Added { get; } = new();
    public List<string> Removed { get; } = new();
    public List<string> Renumbered { get; } = new();
    public List<string> LayoutChanged { get; } = new();
    public List<string> Collisions { get; } = new();
    public string A { get; private set; } = "";
    public string B { get; private set; } = "";

    public static AbiDiff Compare(AbiModel a, AbiModel b)
    {
        var d = new AbiDiff { A = a.Profile, B = b.Profile };
        var ia = a.Ioctls.ToDictionary(i => i.Name);
        var ib = b.Ioctls.ToDictionary(i => i.Name);
        foreach (var i in b.Ioctls.Where(i => !ia.ContainsKey(i.Name))) d.Added.Add($"ioctl {i.Name} = 0x{i.Value:X} ({i.Macro}, {i.ArgCType ?? "no argument"})");
        foreach (var i in a.Ioctls.Where(i => !ib.ContainsKey(i.Name))) d.Removed.Add($"ioctl {i.Name} = 0x{i.Value:X}");
        foreach (var i in b.Ioctls.Where(i => ia.TryGetValue(i.Name, out var old) && old.Value != i.Value))
            d.Renumbered.Add($"ioctl {i.Name}: 0x{ia[i.Name].Value:X} -> 0x{i.Value:X}");

        var ca = a.Constants.Where(c => c.Family == "KvmCap").ToDictionary(c => c.Name);
        var cb = b.Constants.Where(c => c.Family == "KvmCap").ToDictionary(c => c.Name);
        foreach (var c in cb.Values.Where(c => !ca.ContainsKey(c.Name))) d.Added.Add($"capability {c.Name} = {c.Value}");
        foreach (var c in ca.Values.Where(c => !cb.ContainsKey(c.Name))) d.Removed.Add($"capability {c.Name} = {c.Value}");
        foreach (var c in cb.Values.Where(c => ca.TryGetValue(c.Name, out var old) && old.Bits != c.Bits))
            d.Renumbered.Add($"capability {c.Name}: {ca[c.Name].Value} -> {c.Value}");

        var sa = a.Structs.ToDictionary(s => s.Name);
        var sb = b.Structs.ToDictionary(s => s.Name);
        foreach (var s in b.Structs.Where(s => !sa.ContainsKey(s.Name))) d.Added.Add($"{(s.IsUnion ? "union" : "struct")} {s.Name} ({s.Size} bytes)");
        foreach (var s in a.Structs.Where(s => !sb.ContainsKey(s.Name))) d.Removed.Add($"{(s.IsUnion ? "union" : "struct")} {s.Name}");
        foreach (var s in b.Structs.Where(s => sa.ContainsKey(s.Name)))
        {
            var old = sa[s.Name];
            var changes = new List<string>();
            if (old.Size != s.Size) changes.Add($"size {old.Size} -> {s.Size}");
            if (old.Align != s.Align) changes.Add($"align {old.Align} -> {s.Align}");
            var om = old.Members.ToDictionary(m => m.Name);
            foreach (var m in s.Members)
            {
                if (!om.TryGetValue(m.Name, out var o)) changes.Add($"+{m.Name} @{m.Offset} ({m.CType})");
                else if (o.Offset != m.Offset || o.Size != m.Size || o.CType != m.CType)
                    changes.Add($"{m.Name}: {Change("offset", o.Offset, m.Offset)}{Change("size", o.Size, m.Size)}{(o.CType != m.CType ? $"type {o.CType} -> {m.CType}" : $"({m.CType})")}");
            }
            foreach (var o in old.Members.Where(o => s.Members.All(m => m.Name != o.Name))) changes.Add($"-{o.Name}");
            if (changes.Count > 0) d.LayoutChanged.Add($"{s.Name}: {string.Join("; ", changes)}");
        }

        // One number, two names, in the same family or among ioctls — where the change brings a name in (a
        // proposed number reused by a release); collisions both sides already had are not news.
        var namesA = new HashSet<string>(a.Constants.Select(c => c.Name).Concat(a.Ioctls.Select(i => i.Name)));
        var namesB = new HashSet<string>(b.Constants.Select(c => c.Name).Concat(b.Ioctls.Select(i => i.Name)));
        bool IsNew(IEnumerable<string> names) => names.Any(n => !(namesA.Contains(n) && namesB.Contains(n)));
        foreach (var fam in a.Constants.Concat(b.Constants).Where(c => c.Family is not null).GroupBy(c => (c.Family, c.Bits)))
        {
            var names = fam.Select(c => c.Name).Distinct().ToList();
            if (names.Count > 1 && fam.Key.Family != "KvmExit" && IsNew(names)) d.Collisions.Add($"{fam.Key.Family} {fam.First().Value}: {string.Join(", ", names)}");
        }
        foreach (var g in a.Ioctls.Concat(b.Ioctls).GroupBy(i => i.Value))
        {
            var names = g.Select(i => i.Name).Distinct().ToList();
            if (names.Count > 1 && IsNew(names)) d.Collisions.Add($"ioctl 0x{g.Key:X}: {string.Join(", ", names)}");
        }
        return d;
    }

    /// <summary>"size 8 -> 16 " when it changed, "offset 4 " (the value) when it did not.</summary>
    private static string Change(string what, long from, long to) => from == to ? $"{what} {to} " : $"{what} {from} -> {to} ";

    public string ToText()
    {
        var sb = new StringBuilder();
        sb.AppendLine($"# abi diff {A} -> {B}");
        void Section(string title, List<string> items)
        {
            sb.AppendLine($"{title} ({items.Count})");
            foreach (var i in items) sb.AppendLine("  " + i);
        }
        Section("added", Added);
        Section("removed", Removed);
        Section("renumbered", Renumbered);
        Section("layout changed", LayoutChanged);
        Section("number collisions", Collisions);
        return sb.ToString();
    }

    public string ToJson() => JsonText.Write(w =>
    {
        w.WriteString("from", A);
        w.WriteString("to", B);
        JsonText.WriteStrings(w, "added", Added);
        JsonText.WriteStrings(w, "removed", Removed);
        JsonText.WriteStrings(w, "renumbered", Renumbered);
        JsonText.WriteStrings(w, "layoutChanged", LayoutChanged);
        JsonText.WriteStrings(w, "collisions", Collisions);
    });
}
