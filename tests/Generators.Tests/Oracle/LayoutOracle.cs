using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Kvm.Generators.Model;
using Kvm.Generators.Parsing;

namespace Kvm.Generators.Tests.Oracle;

/// <summary>What one oracle run checked, by kind.</summary>
public sealed class OracleCounts
{
    public int Structs, SyntheticStructs, Fields, FlexibleFields, ArrayElements, Bitfields, Constants, ConstantTypes, Ioctls, IoctlArgSizes;
    public List<string> NotChecked { get; } = new();

    public override string ToString() =>
        $"structs={Structs} (of which {SyntheticStructs} anonymous, named through their parent with __typeof__), fields={Fields} " +
        $"(offset+size; {FlexibleFields} flexible arrays: offset and element size only), array element sizes={ArrayElements}, bitfields={Bitfields} (exact bits), constants={Constants}, " +
        $"constant types={ConstantTypes}, ioctls={Ioctls} (+{IoctlArgSizes} argument sizeofs), not checked={NotChecked.Count}";
}

/// <summary>
/// The C layout oracle (reference/toolchain.md §7): one C file that includes the headers and puts every value the
/// model claims — sizeof/_Alignof of each struct, offsetof/sizeof of each member, each constant and its C type,
/// each ioctl number — into a <c>const</c> object in .rodata, compiled (never run) for the target, read back with
/// objcopy and compared one by one with the model. Bitfields, which C cannot offsetof, are checked exactly: an object
/// of the struct type with only that bitfield set to all-ones shows which bits it occupies.
/// </summary>
public sealed class ValueProbe
{
    /// <summary>"KVMORACL": values[0], so a .rodata that is not our object is noticed.</summary>
    public const ulong Magic = 0x4C4341524F4D564BUL;

    private readonly List<(string Label, string Expr, ulong Expected, bool Hex)> _values = new();
    private readonly List<(string Label, string CType, string Field, long ExpectedBit, int Width, long UnitOffset, long UnitSize, int OffsetIndex)> _bitfields = new();

    private readonly Dictionary<string, long> _structSizes = new(StringComparer.Ordinal);

    public OracleCounts Counts { get; } = new();
    public string Source { get; private set; } = "";

    /// <summary>The C type code _Generic gives each integer type, in <see cref="CIntKind"/> order.</summary>
    public static ulong KindCode(CIntKind kind) => (ulong)kind + 1;

    private static string KindName(ulong code) =>
        code is >= 1 and <= 6 ? CValue.CName((CIntKind)(code - 1)) : "not an integer type of rank >= int";

    public static ValueProbe Generate(AbiModel model, string entry)
    {
        var p = new ValueProbe();
        p.Build(model, entry);
        return p;
    }

    public static bool IsSynthetic(AbiStruct s) => s.CName.Contains("(anonymous", StringComparison.Ordinal);

    private void Build(AbiModel model, string entry)
    {
        _values.Add(("magic", "0x4C4341524F4D564BULL", Magic, true));
        foreach (var st in model.Structs) _structSizes[st.Name] = st.Size;
        var byName = model.Structs.GroupBy(s => s.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var cTypes = new Dictionary<string, string?>(StringComparer.Ordinal);

        // A C type-name for every struct: the tag, or for an anonymous type the __typeof__ of a member that uses it
        // (recursively, since its parent may be anonymous too), or the typedef that names it.
        string? CTypeOf(AbiStruct s, int depth = 0)
        {
            if (!IsSynthetic(s)) return s.CName;
            if (cTypes.TryGetValue(s.Name, out var known)) return known;
            if (depth > 16) return null;
            string? result = null;
            foreach (var parent in model.Structs)
            {
                var m = parent.Members.FirstOrDefault(x => x.IsRecord && !x.IsBitfield && x.CsType == s.Name);
                if (m is null || ReferenceEquals(parent, s)) continue;
                var pt = CTypeOf(parent, depth + 1);
                if (pt is null) continue;
                result = $"__typeof__((({pt} *)0)->{m.Name}{(m.IsArray ? "[0]" : "")})";
                break;
            }
            result ??= s.Name; // an anonymous record named by a typedef
            cTypes[s.Name] = result;
            return result;
        }

        foreach (var s in model.Structs)
        {
            var t = CTypeOf(s);
            if (t is null) { Counts.NotChecked.Add($"{s.CName}: no C spelling for this anonymous type"); continue; }
            Counts.Structs++;
            if (IsSynthetic(s)) Counts.SyntheticStructs++;
            Add($"sizeof({s.CName})", $"sizeof({t})", (ulong)s.Size);
            Add($"_Alignof({s.CName})", $"_Alignof({t})", (ulong)s.Align);
            foreach (var m in s.Members)
            {
                if (m.IsBitfield)
                {
                    Counts.Bitfields++;
                    _bitfields.Add(($"{s.CName}.{m.Name} (bitfield)", t, m.Name, m.Offset * 8 + m.BitOffset, m.BitWidth, m.Offset, m.Size, -1));
                    continue;
                }
                Counts.Fields++;
                Add($"offsetof({s.CName}, {m.Name})", $"__builtin_offsetof({t}, {m.Name})", (ulong)m.Offset);
                if (m.IsArray) ArrayElement(s, t, m);
                if (m.IsFlexible) { Counts.FlexibleFields++; continue; } // sizeof of a [] member is not C: its element was checked
                Add($"sizeof({s.CName}.{m.Name})", $"sizeof((({t} *)0)->{m.Name})", (ulong)m.Size);
            }
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in model.Constants)
        {
            if (!seen.Add(c.Name)) { Counts.NotChecked.Add($"{c.Name}: listed twice in the model"); continue; }
            Counts.Constants++;
            Add(c.Name, $"(unsigned long long)({c.Name})", c.Bits, true);
            Counts.ConstantTypes++;
            Add($"type of {c.Name}", $"KVM_ORACLE_KIND({c.Name})", KindCode(c.Kind));
        }

        foreach (var io in model.Ioctls)
        {
            Counts.Ioctls++;
            Add($"ioctl {io.Name}", $"(unsigned long long)({io.Name})", io.Value, true);
            if (io.ArgCType is null) continue;
            if (io.ArgCType.Contains('<')) { Counts.NotChecked.Add($"sizeof argument of {io.Name}: {io.ArgCType} has no C spelling"); continue; }
            Counts.IoctlArgSizes++;
            Add($"sizeof({io.ArgCType}) (argument of {io.Name})", $"sizeof({io.ArgCType})", (ulong)io.Size);
        }

        // Each bitfield object needs its offset inside the blob: two more values per bitfield.
        for (int i = 0; i < _bitfields.Count; i++)
        {
            var b = _bitfields[i];
            _bitfields[i] = b with { OffsetIndex = _values.Count };
            _values.Add(($"offset of object for {b.Label}", $"__builtin_offsetof(struct kvm_oracle_blob, bf{i})", 0, false));
            _values.Add(($"sizeof object for {b.Label}", $"sizeof({b.CType})", 0, false));
        }

        var sb = new StringBuilder();
        sb.AppendLine("/* Generated by the Kvm.Sdk layout oracle test: compiled, never run. */");
        sb.AppendLine($"#include <{entry}>");
        sb.AppendLine("#define KVM_ORACLE_KIND(x) _Generic((x), int: 1ULL, unsigned int: 2ULL, long: 3ULL, unsigned long: 4ULL, long long: 5ULL, unsigned long long: 6ULL, default: 0ULL)");
        sb.AppendLine("struct kvm_oracle_blob {");
        sb.AppendLine($"\tunsigned long long kvm_oracle_values[{_values.Count}];");
        for (int i = 0; i < _bitfields.Count; i++) sb.AppendLine($"\t{_bitfields[i].CType} bf{i};");
        sb.AppendLine("};");
        sb.AppendLine("const struct kvm_oracle_blob kvm_oracle = {");
        sb.AppendLine("\t{");
        foreach (var v in _values) sb.Append("\t\t/* ").Append(v.Label.Replace("*/", "* /")).Append(" */ ").Append(v.Expr).AppendLine(",");
        sb.AppendLine("\t},");
        foreach (var b in _bitfields) sb.AppendLine($"\t{{ .{b.Field} = -1 }}, /* {b.Label} */");
        sb.AppendLine("};");
        Source = sb.ToString();
    }

    /// <summary>An array member's element, as the model gives it (its C# element type and, for fixed arrays,
    /// Count = Size / element size), against C's sizeof of m[0]...[0] (one [0] per dimension of the C type).</summary>
    private void ArrayElement(AbiStruct s, string t, AbiMember m)
    {
        int dims = m.CType.Count(ch => ch == '[');
        long? element = m.IsRecord ? _structSizes.TryGetValue(m.CsType, out var rs) ? rs : null : ScalarSize(m.CsType);
        if (dims == 0 || element is null) { Counts.NotChecked.Add($"element of {s.CName}.{m.Name} ({m.CType} as {m.CsType})"); return; }
        Counts.ArrayElements++;
        var index = string.Concat(Enumerable.Repeat("[0]", dims));
        Add($"sizeof element of {s.CName}.{m.Name} ({m.CsType})", $"sizeof((({t} *)0)->{m.Name}{index})", (ulong)element.Value);
        if (!m.IsFlexible)
            Add($"element count of {s.CName}.{m.Name}", $"sizeof((({t} *)0)->{m.Name}) / sizeof((({t} *)0)->{m.Name}{index})", (ulong)m.Count);
    }

    private static long? ScalarSize(string cs) => cs switch
    {
        "byte" or "sbyte" => 1,
        "short" or "ushort" => 2,
        "int" or "uint" or "float" => 4,
        "long" or "ulong" or "double" or "nint" or "nuint" => 8,
        "global::System.Int128" or "global::System.UInt128" => 16,
        _ => null,
    };

    private void Add(string label, string expr, ulong expected, bool hex = false) => _values.Add((label, expr, expected, hex));

    /// <summary>The model's number for bit <paramref name="bit"/> of byte <paramref name="byteIndex"/> of the object:
    /// little-endian, simply byte × 8 + bit; big-endian, inside the field's storage unit the bytes count down.</summary>
    public static long BitNumber(long byteIndex, int bit, long unitOffset, long unitSize, bool bigEndian) =>
        bigEndian && byteIndex >= unitOffset && byteIndex < unitOffset + unitSize
            ? unitOffset * 8 + (unitOffset + unitSize - 1 - byteIndex) * 8 + bit
            : byteIndex * 8 + bit;

    /// <summary>Every disagreement between the model and what the compiler put in .rodata, read in the target's
    /// byte order. A bitfield's bits are numbered as the model numbers them: unit offset × 8 plus the shift that
    /// reads the field from its storage unit as a native integer (on a big-endian target the unit's last byte holds
    /// bits 0-7).</summary>
    public List<string> Compare(byte[] rodata, bool bigEndian = false)
    {
        var mismatches = new List<string>();
        if (rodata.Length < _values.Count * 8)
            return new List<string> { $".rodata has {rodata.Length} bytes, expected at least {_values.Count * 8}" };
        ulong At(int i) => bigEndian ? BinaryPrimitives.ReadUInt64BigEndian(rodata.AsSpan(i * 8, 8)) : BinaryPrimitives.ReadUInt64LittleEndian(rodata.AsSpan(i * 8, 8));
        if (At(0) != Magic) return new List<string> { $".rodata does not start with the oracle's values (0x{At(0):X16})" };
        string F(ulong v, bool hex) => hex ? $"0x{v:X}" : v.ToString(CultureInfo.InvariantCulture);
        for (int i = 0; i < _values.Count; i++)
        {
            var (label, _, expected, hex) = _values[i];
            if (label.StartsWith("offset of object for ", StringComparison.Ordinal) || label.StartsWith("sizeof object for ", StringComparison.Ordinal)) continue;
            var actual = At(i);
            if (actual == expected) continue;
            mismatches.Add(label.StartsWith("type of ", StringComparison.Ordinal)
                ? $"{label}: model {KindName(expected)}, C {KindName(actual)}"
                : $"{label}: model {F(expected, hex)}, C {F(actual, hex)}");
        }
        foreach (var b in _bitfields)
        {
            long offset = (long)At(b.OffsetIndex), size = (long)At(b.OffsetIndex + 1);
            if (offset + size > rodata.Length) { mismatches.Add($"{b.Label}: object at {offset}+{size} is outside .rodata"); continue; }
            var bits = new List<long>();
            for (long byteIndex = 0; byteIndex < size; byteIndex++)
            {
                byte v = rodata[offset + byteIndex];
                for (int bit = 0; bit < 8; bit++) if ((v >> bit & 1) != 0) bits.Add(BitNumber(byteIndex, bit, b.UnitOffset, b.UnitSize, bigEndian));
            }
            bits.Sort();
            long first = bits.Count > 0 ? bits[0] : -1;
            bool contiguous = bits.Count > 0 && bits[bits.Count - 1] - first + 1 == bits.Count;
            if (first == b.ExpectedBit && bits.Count == b.Width && contiguous) continue;
            var c = bits.Count == 0 ? "no bits set" : contiguous ? $"bit {first}, width {bits.Count}" : $"bits {string.Join(",", bits)}";
            mismatches.Add($"{b.Label}: model bit {b.ExpectedBit} (byte {b.ExpectedBit / 8} bit {b.ExpectedBit % 8}), width {b.Width}; C {c}");
        }
        return mismatches;
    }
}

/// <summary>
/// The set check: which object-like macros of the KVM headers C can evaluate as integer constant expressions.
/// One probe line per macro, guarded by #ifdef (a macro may exist only for some architectures or be #undef'd);
/// the compiler's error lines say which ones are not constants.
/// </summary>
public static class MacroSetProbe
{
    private static readonly Regex Define = new(@"^\s*#\s*define\s+([A-Za-z_][A-Za-z0-9_]*)(.?)", RegexOptions.Compiled);
    private static readonly Regex Location = new(@"^(?<file>[^:\s]+):(?<line>\d+):(\d+:)?\s*(?<kind>fatal error|error|note)", RegexOptions.Compiled);

    /// <summary>Names of the object-like macros #defined in <paramref name="text"/> (backslash continuations joined).</summary>
    public static IEnumerable<string> ObjectLikeMacros(string text)
    {
        var joined = Regex.Replace(text.Replace("\r\n", "\n"), @"\\\n", " ");
        foreach (var line in joined.Split('\n'))
        {
            var m = Define.Match(line);
            if (m.Success && m.Groups[2].Value != "(") yield return m.Groups[1].Value;
        }
    }

    /// <summary>"struct tag"/"union tag" for every record defined (with a body) in <paramref name="text"/>.</summary>
    public static IEnumerable<string> RecordDefinitions(string text)
    {
        var code = Regex.Replace(text, @"/\*.*?\*/|//[^\n]*", " ", RegexOptions.Singleline);
        foreach (Match m in Regex.Matches(code, @"\b(struct|union)\s+([A-Za-z_][A-Za-z0-9_]*)\s*(__attribute__\s*\(\(.*?\)\)\s*)?\{"))
            yield return m.Groups[1].Value + " " + m.Groups[2].Value;
    }

    /// <summary>The probe: one line per macro (is it an integer constant expression?) and one per record (is it
    /// complete here?). Names with a space are records.</summary>
    public static string Source(string entry, IReadOnlyList<string> names, out Dictionary<int, string> lineToName)
    {
        lineToName = new Dictionary<int, string>();
        var sb = new StringBuilder();
        int line = 1;
        void Line(string s) { sb.Append(s).Append('\n'); line++; }
        Line("/* Generated by the Kvm.Sdk layout oracle test: which macros are integer constant expressions. */");
        Line($"#include <{entry}>");
        foreach (var n in names)
        {
            if (n.Contains(' '))
            {
                lineToName[line] = n;
                Line($"typedef char kvm_oracle_complete_{n.Replace(' ', '_')}[sizeof({n}) + 1];");
                continue;
            }
            Line($"#ifdef {n}");
            // The initializer needs a value known at compile time; the static assertion needs an integer constant
            // expression of arithmetic type (a string or a float passes the first, not the second).
            lineToName[line] = n;
            Line($"static const unsigned long long probe_{n} = (unsigned long long)({n}); _Static_assert(({n}) * 0 + 1, \"{n}\");");
            Line("#else");
            lineToName[line] = n; // not defined here (an #ifdef for another architecture, or #undef'd): not in the set
            Line($"_Static_assert(0, \"{n} is not defined\");");
            Line("#endif");
        }
        return sb.ToString();
    }

    /// <summary>Names whose probe line got no error. An error inside a macro expansion may be reported at the
    /// macro's definition with the probe line in a following note, so each error with its notes is one group.</summary>
    public static HashSet<string> Evaluate(CompileResult result, Dictionary<int, string> lineToName, IReadOnlyList<string> names, out List<string> unmapped)
    {
        var bad = new HashSet<string>(StringComparer.Ordinal);
        var notMapped = new List<string>();
        unmapped = notMapped;
        var probeFile = Path.GetFileName(result.SourceFile);
        var group = new List<Match>();
        void Flush()
        {
            if (group.Count == 0) return;
            var hit = group.Select(m => Path.GetFileName(m.Groups["file"].Value) == probeFile
                    && lineToName.TryGetValue(int.Parse(m.Groups["line"].Value, CultureInfo.InvariantCulture), out var n) ? n : null)
                .FirstOrDefault(n => n is not null);
            if (hit is not null) bad.Add(hit); else notMapped.Add(group[0].Value);
            group.Clear();
        }
        foreach (var raw in result.Errors.Split('\n'))
        {
            var m = Location.Match(raw);
            if (!m.Success) continue;
            if (m.Groups["kind"].Value.EndsWith("error", StringComparison.Ordinal)) { Flush(); group.Add(m); }
            else if (group.Count > 0) group.Add(m);
        }
        Flush();
        return new HashSet<string>(names.Where(n => !bad.Contains(n)), StringComparer.Ordinal);
    }
}
