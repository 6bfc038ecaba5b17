using System;
using System.Collections.Generic;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using Kvm.Generators.Layout;
using Kvm.Generators.Parsing;
using Kvm.Generators.Preprocessing;

namespace Kvm.Generators.Model;

/// <summary>
/// Headers in, <see cref="AbiModel"/> out, for one architecture: preprocess the entries, parse declarations with
/// their layouts, then evaluate every integer macro of the KVM headers and recognise the <c>_IO*</c> ioctls.
/// Never throws on bad input; an unexpected failure becomes a KVM0008 diagnostic.
/// </summary>
public static class AbiBuilder
{
    /// <summary>Headers whose macros and records form the KVM ABI (their dependencies are infrastructure).</summary>
    private static readonly string[] KvmIncludeNames = { "linux/kvm.h", "asm/kvm.h" };

    private static readonly string[] IoctlMacros = { "_IO", "_IOR", "_IOW", "_IOWR" };

    /// <summary>Enum families: prefix, generated enum name, flags?, and the anchor that starts a contiguous run
    /// (null: every constant with the prefix belongs).</summary>
    private static readonly (string Prefix, string Enum, string? Anchor)[] Families =
    {
        ("KVM_CAP_", "KvmCap", null),
        ("KVM_EXIT_", "KvmExit", "KVM_EXIT_UNKNOWN"),
        ("KVM_MEM_", "KvmMemFlags", "KVM_MEM_LOG_DIRTY_PAGES"),
        ("GUEST_MEMFD_FLAG_", "GuestMemfdFlags", null),
        ("KVM_MEMORY_ATTRIBUTE_", "KvmMemoryAttributes", null),
        ("KVM_MEMORY_EXIT_FLAG_", "KvmMemoryExitFlags", null),
        ("KVM_SYSTEM_EVENT_", "KvmSystemEvent", "KVM_SYSTEM_EVENT_SHUTDOWN"),
    };

    /// <summary>Prefixes whose numbers must not be reused by an overlay (KVM0006).</summary>
    private static readonly string[] CollisionPrefixes = { "KVM_CAP_", "GUEST_MEMFD_FLAG_", "KVM_MEM_", "KVM_MEMORY_ATTRIBUTE_", "KVM_EXIT_" };

    public static AbiModel Build(IEnumerable<HeaderFile> headers, AbiOptions options, Func<string, string?>? reader = null)
    {
        var diagnostics = new List<HeaderDiagnostic>();
        try
        {
            return BuildCore(headers.ToList(), options, diagnostics, reader);
        }
        catch (Exception ex)
        {
            // A crash here is our bug, not the header's; still, the build gets a diagnostic rather than an exception.
            diagnostics.Add(new HeaderDiagnostic(DiagnosticIds.InternalError, HeaderSeverity.Error,
                $"internal error while modelling the headers for {options.Arch}: {ex.GetType().Name}: {ex.Message}", "<generator>", 0, 0));
            return new AbiModel(options.Arch, options.Profile, EquatableArray<AbiStruct>.Empty, EquatableArray<AbiConstant>.Empty,
                EquatableArray<AbiIoctl>.Empty, EquatableArray<AbiHeader>.Empty, diagnostics.ToEquatableArray());
        }
    }

    private static AbiModel BuildCore(List<HeaderFile> headers, AbiOptions options, List<HeaderDiagnostic> diagnostics, Func<string, string?>? reader)
    {
        var arch = TargetArch.Parse(options.Arch);
        if (arch is null)
        {
            diagnostics.Add(new HeaderDiagnostic(DiagnosticIds.NoHeaders, HeaderSeverity.Error, $"unknown architecture '{options.Arch}' (use one of {string.Join(", ", TargetArch.All.Select(a => a.Name))})", "<options>", 0, 0));
            return Empty(options, diagnostics);
        }
        var set = new HeaderSet(headers, options.IncludeRoots, reader);
        var predefined = new List<KeyValuePair<string, string>>
        {
            new("__linux__", "1"), new("__linux", "1"), new("__unix__", "1"), new("__GNUC__", "12"), new("__GNUC_MINOR__", "2"),
            new("__STDC__", "1"), new("__STDC_VERSION__", "201710L"), new("__CHAR_BIT__", "8"), new("__SIZEOF_INT__", "4"),
            new("__SIZEOF_LONG__", "8"), new("__SIZEOF_LONG_LONG__", "8"), new("__SIZEOF_POINTER__", "8"), new("__SIZEOF_SHORT__", "2"),
            new("__LP64__", "1"), new("__SIZEOF_INT128__", "16"), new("_LP64", "1"), new("__ORDER_LITTLE_ENDIAN__", "1234"), new("__ORDER_BIG_ENDIAN__", "4321"),
            new("__BYTE_ORDER__", arch.BigEndian ? "__ORDER_BIG_ENDIAN__" : "__ORDER_LITTLE_ENDIAN__"),
        };
        if (arch.Equals(TargetArch.Ppc64le)) predefined.Add(new("__LITTLE_ENDIAN__", "1"));
        if (!arch.CharIsSigned) predefined.Add(new("__CHAR_UNSIGNED__", "1"));
        predefined.AddRange(arch.Predefined());

        var pp = new Preprocessor(set, predefined);
        if (options.Entries.Count == 0)
            diagnostics.Add(new HeaderDiagnostic(DiagnosticIds.NoHeaders, HeaderSeverity.Warning, "no entry header given (expected linux/kvm.h)", "<options>", 0, 0));
        foreach (var entry in options.Entries) pp.ProcessEntry(entry);
        diagnostics.AddRange(OneMissingIncludeError(pp.Diagnostics, set));
        int afterPreprocessing = diagnostics.Count;
        bool includeMissing = pp.Diagnostics.Any(d => d.Id == DiagnosticIds.IncludeNotFound);

        var parser = new DeclParser(pp.Text, diagnostics, options.AllowUnreadDeclarations ? HeaderSeverity.Warning : HeaderSeverity.Error);
        parser.Parse();

        var includeName = pp.IncludeNames.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        var kvmFiles = new HashSet<string>(KvmIncludeNames.Concat(options.Entries), StringComparer.Ordinal);
        bool IsKvmFile(string path) => includeName.TryGetValue(path, out var n) && kvmFiles.Contains(n);
        string NameOf(string path) => includeName.TryGetValue(path, out var n) ? n : path;

        AssignSyntheticNames(parser, diagnostics);
        var structs = CollectStructs(parser, IsKvmFile, NameOf, diagnostics, arch, out var emitted);
        int ppReported = pp.Diagnostics.Count;
        var (constants, ioctls) = EvaluateMacros(pp, parser, IsKvmFile, NameOf, emitted, diagnostics, arch);
        diagnostics.AddRange(pp.Diagnostics.Skip(ppReported)); // limits met while expanding the constants
        AddEnumConstants(parser, IsKvmFile, NameOf, constants);
        var withFamilies = AssignFamilies(constants, pp, IsKvmFile, arch);
        ReportOverlayCollisions(withFamilies, ioctls, options, diagnostics);

        var hashes = pp.IncludedFiles.Select(p =>
        {
            var file = set.Files.First(h => h.Path == p);
            return new AbiHeader(NameOf(p), p, Sha256(file.Text));
        }).ToEquatableArray();

        if (includeMissing) CollapseFollowOn(diagnostics, afterPreprocessing);

        return new AbiModel(arch.Name, options.Profile, structs.ToEquatableArray(), withFamilies.ToEquatableArray(),
            ioctls.ToEquatableArray(), hashes, Dedupe(diagnostics).ToEquatableArray());
    }

    /// <summary>Several headers not found is usually one include root missing (the multiarch directory with every
    /// asm/ header): one error naming them all, at the first.</summary>
    private static IEnumerable<HeaderDiagnostic> OneMissingIncludeError(List<HeaderDiagnostic> preprocessing, HeaderSet set)
    {
        var missing = preprocessing.Where(d => d.Id == DiagnosticIds.IncludeNotFound && d.Severity == HeaderSeverity.Error).ToList();
        if (missing.Count <= 1) return preprocessing;
        var names = missing.Select(d => d.Message.Split('<', '>') is { Length: > 2 } parts ? parts[1] : d.Message).Distinct().ToList();
        bool asm = names.Any(n => n.StartsWith("asm/", StringComparison.Ordinal));
        var first = missing[0];
        var one = first with
        {
            Message = $"{names.Count} headers not found under the include roots ({set.DescribeRoots()}): {string.Join(", ", names)}" +
                (asm ? "; the asm/ headers live in the architecture's own directory (e.g. <version>/x86_64-linux-gnu): is that include root missing?" : ""),
        };
        return preprocessing.Where(d => !missing.Contains(d)).Prepend(one);
    }

    /// <summary>A header that was not found leaves its types undefined, and every declaration using them fails:
    /// one missing include root must read as one error, not hundreds. The follow-on problems become one note.</summary>
    private static void CollapseFollowOn(List<HeaderDiagnostic> diagnostics, int from)
    {
        int followOn = diagnostics.Count - from;
        if (followOn <= 0) return;
        diagnostics.RemoveRange(from, followOn);
        diagnostics.Add(new HeaderDiagnostic(DiagnosticIds.IncludeNotFound, HeaderSeverity.Info,
            $"{followOn} follow-on problem(s) not shown: a header was not found (above); fix the include roots first", "<generator>", 0, 0));
    }

    private static AbiModel Empty(AbiOptions options, List<HeaderDiagnostic> diagnostics) =>
        new(options.Arch, options.Profile, EquatableArray<AbiStruct>.Empty, EquatableArray<AbiConstant>.Empty, EquatableArray<AbiIoctl>.Empty,
            EquatableArray<AbiHeader>.Empty, diagnostics.ToEquatableArray());

    private static IEnumerable<HeaderDiagnostic> Dedupe(List<HeaderDiagnostic> diagnostics) => diagnostics.Distinct();

    public static string Sha256(string text)
    {
        using var sha = SHA256.Create();
        var hash = sha.ComputeHash(Encoding.UTF8.GetBytes(text));
        var sb = new StringBuilder(hash.Length * 2);
        foreach (var b in hash) sb.Append(b.ToString("x2"));
        return sb.ToString();
    }

    /// <summary>Anonymous records used as a named member's type get the name parent_member (kvm_run_io), walking
    /// through flattened anonymous members; a typedef of an anonymous record lends it the typedef's name.</summary>
    private static void AssignSyntheticNames(DeclParser parser, List<HeaderDiagnostic> diagnostics)
    {
        var taken = new HashSet<string>(parser.Records.Where(r => r.Tag is not null).Select(r => r.Tag!), StringComparer.Ordinal);
        foreach (var td in parser.Typedefs)
            if (td.Value.Resolve() is RecordType { Tag: null, SyntheticName: null } r && taken.Add(td.Key))
                r.SyntheticName = td.Key;

        void Walk(RecordType record, string owner)
        {
            foreach (var f in record.Fields)
            {
                var inner = Unwrap(f.Type);
                if (inner is not RecordType { Tag: null } anon) continue;
                if (f.Name is null) { Walk(anon, owner); continue; }
                if (anon.SyntheticName is null)
                {
                    string name = owner + "_" + f.Name;
                    if (!taken.Add(name))
                    {
                        string unique = name;
                        for (int k = 2; !taken.Add(unique); k++) unique = name + "_" + k;
                        diagnostics.Add(new HeaderDiagnostic(DiagnosticIds.NameAdjusted, HeaderSeverity.Info,
                            $"anonymous type of '{owner}.{f.Name}' is named {unique} because {name} is taken", f.File, f.Line, 1));
                        name = unique;
                    }
                    anon.SyntheticName = name;
                }
                Walk(anon, anon.SyntheticName);
            }
        }
        foreach (var r in parser.Records.Where(r => r.Tag is not null || r.SyntheticName is not null).ToList())
            Walk(r, r.Tag ?? r.SyntheticName!);
    }

    private static CType Unwrap(CType type)
    {
        var t = type;
        while (true)
        {
            if (t is ArrayType a) { t = a.Element; continue; }
            if (t is TypedefType) { var r = t.Resolve(); if (r is ArrayType) { t = r; continue; } return t; }
            return t;
        }
    }

    private static string RecordName(RecordType r) => r.Tag ?? r.SyntheticName ?? "<anonymous>";

    private static List<AbiStruct> CollectStructs(DeclParser parser, Func<string, bool> isKvmFile, Func<string, string> nameOf,
        List<HeaderDiagnostic> diagnostics, TargetArch arch, out HashSet<RecordType> emitted)
    {
        emitted = new HashSet<RecordType>();
        var queue = new Queue<RecordType>(parser.Records.Where(r => r.IsComplete && (r.Tag is not null || (r.SyntheticName is not null && r.Size > 0)) && isKvmFile(r.File)));
        var result = new List<AbiStruct>();
        var seen = emitted;
        while (queue.Count > 0)
        {
            var r = queue.Dequeue();
            if (!seen.Add(r)) continue;
            if (r.Layout is null) continue; // reported when its layout failed
            var members = new List<AbiMember>();
            bool ok = Flatten(r, 0, members, queue, diagnostics, arch);
            if (!ok) { seen.Remove(r); continue; }
            result.Add(new AbiStruct(RecordName(r), r.Tag is not null ? r.CName : $"{r.Keyword} (anonymous, {RecordName(r)})", r.IsUnion, r.Size, r.Align, r.Packed,
                members.ToEquatableArray(), nameOf(r.File), r.Line));
        }
        // Emit in header order so generated files and dumps read like the header.
        return result.OrderBy(s => s.File, StringComparer.Ordinal).ThenBy(s => s.Line).ThenBy(s => s.Name, StringComparer.Ordinal).ToList();
    }

    private static bool Flatten(RecordType r, long baseBits, List<AbiMember> into, Queue<RecordType> queue, List<HeaderDiagnostic> diagnostics, TargetArch arch)
    {
        foreach (var fl in r.Layout!)
        {
            var f = fl.Decl;
            long bits = baseBits + fl.BitOffset;
            if (f.Name is null)
            {
                if (f.BitWidth is null && f.Type.Resolve() is RecordType anon && anon.Layout is not null)
                {
                    if (!Flatten(anon, bits, into, queue, diagnostics, arch)) return false;
                }
                continue;
            }
            if (!TryMember(f, fl, bits, queue, arch, out var member, out var error))
            {
                diagnostics.Add(new HeaderDiagnostic(DiagnosticIds.LayoutNotModelled, HeaderSeverity.Warning,
                    $"{r.CName}: member '{f.Name}' not modelled: {error}", f.File, f.Line, 1));
                return false;
            }
            into.Add(member!);
        }
        return true;
    }

    private static bool TryMember(FieldDecl f, FieldLayout fl, long bits, Queue<RecordType> queue, TargetArch arch, out AbiMember? member, out string? error)
    {
        member = null;
        var type = f.Type;
        long count = 0;
        bool flexible = false;
        var resolved = type.Resolve();
        if (resolved is ArrayType arr)
        {
            flexible = arr.IsFlexible;
            count = flexible ? 0 : 1;
            CType el = arr;
            while (el.Resolve() is ArrayType a)
            {
                if (a.IsFlexible && a != arr) { error = "flexible inner array dimension"; return false; }
                if (!a.IsFlexible)
                {
                    // Bounded by the layout's size, except for arrays of empty structs: check, never wrap.
                    if (a.Length!.Value != 0 && count > long.MaxValue / a.Length.Value) { error = "array element count overflows 64 bits"; return false; }
                    count *= a.Length.Value;
                }
                el = a.Element;
            }
            if (!flexible && count == 0) flexible = true;
            resolved = el.Resolve();
            type = el;
        }
        if (!TryCsType(resolved, out var cs, out bool isRecord, out error)) return false;
        // An empty anonymous struct (the __empty_name half of __DECLARE_FLEX_ARRAY) occupies nothing: no type for it.
        if (isRecord && resolved is RecordType { Tag: null, Size: 0 }) { isRecord = false; cs = "byte"; }
        if (isRecord) queue.Enqueue((RecordType)resolved);
        if (f.BitWidth is int width)
        {
            long unitBits = fl.Size * 8;
            long unitStart = bits / unitBits * unitBits;
            if (bits + width > unitStart + unitBits) { error = "bitfield straddles its storage unit"; return false; }
            // The bit number is the shift that reads the field from its unit as a native integer: on a big-endian
            // target gcc allocates from the most significant bit, so the first field of a byte is bit 7 (s390x).
            long shift = arch.BigEndian ? unitBits - (bits - unitStart) - width : bits - unitStart;
            member = new AbiMember(f.Name!, unitStart / 8, fl.Size, f.Type.CName, cs, false, 0, false, (int)shift, width);
            return true;
        }
        LayoutEngine.TrySizeAlign(f.Type, out long size, out _, out _);
        member = new AbiMember(f.Name!, bits / 8, size, f.Type.CName, cs, isRecord, count, flexible, 0, 0);
        return true;
    }

    /// <summary>The C# type that holds a C scalar or record exactly.</summary>
    public static bool TryCsType(CType resolved, out string cs, out bool isRecord, out string? error)
    {
        isRecord = false; error = null;
        switch (resolved)
        {
            case PrimType p:
                cs = p.Kind switch
                {
                    PrimKind.Bool or PrimKind.Char or PrimKind.UChar => "byte",
                    PrimKind.SChar => "sbyte",
                    PrimKind.Short => "short",
                    PrimKind.UShort => "ushort",
                    PrimKind.Int => "int",
                    PrimKind.UInt => "uint",
                    PrimKind.Long or PrimKind.LongLong => "long",
                    PrimKind.ULong or PrimKind.ULongLong => "ulong",
                    PrimKind.Int128 => "global::System.Int128",
                    PrimKind.UInt128 => "global::System.UInt128",
                    PrimKind.Float => "float",
                    PrimKind.Double => "double",
                    _ => "",
                };
                if (cs.Length == 0) { error = $"{p.CName} has no exact C# type"; return false; }
                return true;
            case PointerType:
                cs = "nint";
                return true;
            case EnumType e:
                cs = e.Underlying switch { PrimKind.Int => "int", PrimKind.UInt => "uint", PrimKind.Long => "long", _ => "ulong" };
                return true;
            case RecordType r when r.Layout is not null && (r.Tag is not null || r.SyntheticName is not null):
                cs = RecordName(r);
                isRecord = true;
                return true;
            case RecordType r:
                cs = "";
                error = r.IsComplete ? $"{r.CName} has no layout" : $"{r.CName} is incomplete";
                return false;
        }
        cs = "";
        error = $"type {resolved.CName} is not modelled";
        return false;
    }

    private static (List<AbiConstant> Constants, List<AbiIoctl> Ioctls) EvaluateMacros(Preprocessor pp, DeclParser parser,
        Func<string, bool> isKvmFile, Func<string, string> nameOf, HashSet<RecordType> emitted, List<HeaderDiagnostic> diagnostics, TargetArch arch)
    {
        var constants = new List<AbiConstant>();
        var ioctls = new List<AbiIoctl>();
        // Values already known, as typed literals: a macro whose body is one parenthesised group or one number
        // is replaced by its value when a later macro names it (exact: the group is evaluated on its own in C too).
        var known = new Dictionary<string, List<Token>>(StringComparer.Ordinal);
        long work = 0;
        int limitFailures = 0;
        foreach (var m in pp.Definitions)
        {
            if (m.IsFunction || !isKvmFile(m.File)) continue;
            if (!pp.Macros.TryGetValue(m.Name, out var current) || !ReferenceEquals(current, m)) continue; // later redefined or undefined
            if (m.Body.Count == 0) continue; // a feature flag such as __KVM_HAVE_PIT, not a value
            if (work > EvaluationBudget)
            {
                diagnostics.Add(new HeaderDiagnostic(DiagnosticIds.LimitExceeded, HeaderSeverity.Error,
                    $"evaluating the headers' macros took more than {EvaluationBudget} tokens of expansion (the generator's limit); '{m.Name}' and the macros after it are not generated", m.File, m.Line, 1));
                break;
            }
            if (limitFailures > MaxLimitFailures)
            {
                diagnostics.Add(new HeaderDiagnostic(DiagnosticIds.LimitExceeded, HeaderSeverity.Error,
                    $"more than {MaxLimitFailures} macros exceed the generator's limits; '{m.Name}' and the macros after it are not generated", m.File, m.Line, 1));
                break;
            }
            int reported = pp.Diagnostics.Count;
            var expanded = pp.Expand(m.Body, known); // expansion only reads its input: no copy per macro
            work += pp.LastExpansionWork;
            if (pp.Diagnostics.Count > reported) limitFailures++;
            if (!ExprEvaluator.TryEvaluate(expanded, parser, false, out var value, out var error, out bool limit))
            {
                if (limit) limitFailures++;
                diagnostics.Add(limit
                    ? new HeaderDiagnostic(DiagnosticIds.LimitExceeded, HeaderSeverity.Error, $"'{m.Name}' cannot be evaluated: {error}", m.File, m.Line, 1)
                    : new HeaderDiagnostic(DiagnosticIds.MacroNotConstant, HeaderSeverity.Info,
                        $"'{m.Name}' is not an integer constant on this architecture: {error}", m.File, m.Line, 1));
                continue;
            }
            if (!pp.LastExpansionPainted && IsSelfContained(m.Body)) known[m.Name] = Literal(value, m.Body[0]);
            constants.Add(new AbiConstant(m.Name, value.Bits, value.Kind, nameOf(m.File), m.Line, null));
            if (TryIoctl(m, pp, parser, value, arch, out var ioctl, out var ioctlError))
            {
                if (ioctl!.ArgIsRecord && parser.Records.FirstOrDefault(r => (r.Tag ?? r.SyntheticName) == ioctl.ArgCsType) is { } rec && !emitted.Contains(rec))
                    diagnostics.Add(new HeaderDiagnostic(DiagnosticIds.LayoutNotModelled, HeaderSeverity.Info,
                        $"ioctl '{m.Name}' takes {ioctl.ArgCType}, which is not among the generated structs", m.File, m.Line, 1));
                ioctls.Add(ioctl with { IncludeName = nameOf(m.File) });
            }
            else if (ioctlError is not null)
                diagnostics.Add(new HeaderDiagnostic(DiagnosticIds.MacroNotConstant, HeaderSeverity.Info,
                    $"'{m.Name}' is an ioctl number but its argument type is not modelled: {ioctlError}; emitted as a constant only", m.File, m.Line, 1));
        }
        return (constants, ioctls);
    }

    /// <summary>Tokens of expansion all constants of one model may take together (kvm.h takes ~100,000).</summary>
    public const long EvaluationBudget = 20_000_000;

    /// <summary>Macros that may fail on a limit before the rest are given up with one diagnostic.</summary>
    private const int MaxLimitFailures = 10;

    /// <summary>One number, or one parenthesised group spanning the whole body.</summary>
    private static bool IsSelfContained(IReadOnlyList<Token> body)
    {
        if (body.Count == 1) return body[0].Kind == TokenKind.Number;
        if (!body[0].Is("(") || !body[body.Count - 1].Is(")")) return false;
        int level = 0;
        for (int i = 0; i < body.Count; i++)
        {
            if (body[i].Is("(")) level++;
            else if (body[i].Is(")") && --level == 0 && i != body.Count - 1) return false;
        }
        return level == 0;
    }

    /// <summary>A C literal of exactly this value and type: 5, 5U, 5L, 5UL, 5LL, 5ULL, or (-N-1) for negatives.</summary>
    private static List<Token> Literal(CValue v, Token at)
    {
        string suffix = v.Kind switch { CIntKind.UInt => "U", CIntKind.Long => "L", CIntKind.ULong => "UL", CIntKind.LongLong => "LL", CIntKind.ULongLong => "ULL", _ => "" };
        Token T(TokenKind k, string text) => new(k, text, at.File, at.Line, at.Column, true);
        if (!v.Signed || v.AsSigned >= 0) return new List<Token>(1) { T(TokenKind.Number, v.Bits.ToString(System.Globalization.CultureInfo.InvariantCulture) + suffix) };
        ulong magnitude = (ulong)(-(v.AsSigned + 1));
        return new List<Token>(6)
        {
            T(TokenKind.Punct, "("), T(TokenKind.Punct, "-"), T(TokenKind.Number, magnitude.ToString(System.Globalization.CultureInfo.InvariantCulture) + suffix),
            T(TokenKind.Punct, "-"), T(TokenKind.Number, "1"), T(TokenKind.Punct, ")"),
        };
    }

    private static bool TryIoctl(Macro m, Preprocessor pp, DeclParser parser, CValue value, TargetArch arch, out AbiIoctl? ioctl, out string? error)
    {
        ioctl = null; error = null;
        var body = m.Body;
        for (int hop = 0; hop < 8; hop++)
        {
            if (body.Count == 1 && body[0].IsIdentifier && pp.Macros.TryGetValue(body[0].Text, out var alias) && !alias.IsFunction)
            {
                body = alias.Body;
                continue;
            }
            break;
        }
        if (body.Count < 3 || !body[0].IsIdentifier || Array.IndexOf(IoctlMacros, body[0].Text) < 0 || !body[1].Is("(") || !body[body.Count - 1].Is(")"))
            return false;
        // Split the top-level arguments of the _IO* call.
        var args = new List<List<Token>> { new() };
        int level = 0;
        for (int i = 2; i < body.Count - 1; i++)
        {
            var t = body[i];
            if (t.Is("(")) level++;
            if (t.Is(")")) { level--; if (level < 0) return false; }
            if (t.Is(",") && level == 0) { args.Add(new List<Token>()); continue; }
            args[args.Count - 1].Add(t);
        }
        if (level != 0) return false;
        int dir = arch.Ioc.Direction(value.Bits);
        long size = arch.Ioc.Size(value.Bits);
        if (body[0].Text == "_IO")
        {
            ioctl = new AbiIoctl(m.Name, value.Bits, dir, size, null, null, false, "", m.Line);
            return true;
        }
        if (args.Count != 3) { error = $"{body[0].Text} with {args.Count} arguments"; return false; }
        var typeTokens = pp.Expand(args[2]);
        int pos = 0;
        var type = parser.ParseTypeName(typeTokens, ref pos, out var perr);
        if (type is null || pos != typeTokens.Count) { error = perr ?? $"'{Lexer.Render(args[2])}' is not a type name"; return false; }
        var resolved = type.Resolve();
        if (resolved is ArrayType) { error = $"array argument type {type.CName}"; return false; }
        if (!TryCsType(resolved, out var cs, out bool isRecord, out error)) return false;
        ioctl = new AbiIoctl(m.Name, value.Bits, dir, size, type.CName, cs, isRecord, "", m.Line);
        return true;
    }

    private static void AddEnumConstants(DeclParser parser, Func<string, bool> isKvmFile, Func<string, string> nameOf, List<AbiConstant> constants)
    {
        var names = new HashSet<string>(constants.Select(c => c.Name), StringComparer.Ordinal);
        foreach (var kv in parser.EnumConstants)
        {
            var at = kv.Value.At;
            if (!isKvmFile(at.File) || !names.Add(kv.Key)) continue;
            constants.Add(new AbiConstant(kv.Key, kv.Value.Value.Bits, kv.Value.Value.Kind, nameOf(at.File), at.Line, null));
        }
    }

    private static List<AbiConstant> AssignFamilies(List<AbiConstant> constants, Preprocessor pp, Func<string, bool> isKvmFile, TargetArch arch)
    {
        var family = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (prefix, name, anchor) in Families)
        {
            if (anchor is null)
            {
                foreach (var c in constants) if (c.Name.StartsWith(prefix, StringComparison.Ordinal)) family[c.Name] = name;
                continue;
            }
            // A contiguous run of #defines starting at the anchor: sub-codes defined elsewhere with the same prefix
            // (KVM_EXIT_IO_IN, KVM_EXIT_HYPERV_SYNIC) stay out of the enum.
            bool inRun = false;
            string? runFile = null;
            foreach (var m in pp.Definitions)
            {
                // Until the anchor, only its name matters: no file lookup per definition of a large header.
                if (!inRun && m.Name != anchor) continue;
                if (!isKvmFile(m.File)) continue;
                if (m.Name == anchor) { inRun = true; runFile = m.File; }
                if (m.File != runFile || !m.Name.StartsWith(prefix, StringComparison.Ordinal)) { if (m.File == runFile) break; continue; }
                family[m.Name] = name;
            }
        }
        if (arch == TargetArch.X86_64)
            foreach (var c in constants)
                if (c.Name.StartsWith("KVM_X86_", StringComparison.Ordinal) && c.Name.EndsWith("_VM", StringComparison.Ordinal)) family[c.Name] = "X86VmType";
        return constants.Select(c => family.TryGetValue(c.Name, out var f) ? c with { Family = f } : c).ToList();
    }

    private static void ReportOverlayCollisions(List<AbiConstant> constants, List<AbiIoctl> ioctls, AbiOptions options, List<HeaderDiagnostic> diagnostics)
    {
        var baseNames = new HashSet<string>(KvmIncludeNames, StringComparer.Ordinal);
        var overlays = constants.Where(c => !baseNames.Contains(c.IncludeName)).ToList();
        if (overlays.Count == 0) return;
        foreach (var o in overlays)
        {
            var prefix = CollisionPrefixes.FirstOrDefault(p => o.Name.StartsWith(p, StringComparison.Ordinal));
            if (prefix is null) continue;
            foreach (var b in constants.Where(c => baseNames.Contains(c.IncludeName) && c.Name.StartsWith(prefix, StringComparison.Ordinal) && c.Bits == o.Bits && c.Name != o.Name))
                diagnostics.Add(new HeaderDiagnostic(DiagnosticIds.OverlayCollision, HeaderSeverity.Warning,
                    $"proposed '{o.Name}' = {o.Value} collides with released '{b.Name}' = {b.Value} in {b.IncludeName} ({options.Profile}); a number from a proposed header means nothing without its header", o.IncludeName, o.Line, 1));
        }
        foreach (var o in ioctls.Where(i => !baseNames.Contains(i.IncludeName)))
            foreach (var b in ioctls.Where(i => baseNames.Contains(i.IncludeName) && i.Value == o.Value && i.Name != o.Name))
                diagnostics.Add(new HeaderDiagnostic(DiagnosticIds.OverlayCollision, HeaderSeverity.Warning,
                    $"proposed ioctl '{o.Name}' = 0x{o.Value:X} collides with released '{b.Name}' in {b.IncludeName}", o.IncludeName, o.Line, 1));
    }
}
