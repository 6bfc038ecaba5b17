using System.Text;
using Kvm.Generators.Layout;
using Kvm.Generators.Model;

namespace Kvm.Cli;

/// <summary>`kvmsdk abi dump|diff|versions`: the generator's model of a header set, read or compared.</summary>
internal static class AbiCommands
{
    public static int Dump(Args args)
    {
        args.RejectUnknown("include", "arch", "json", "entry", "version", "notes", "unread");
        bool allowUnread = ParseUnread(args.One("unread"));
        var includes = args.All("include");
        var asked = args.One("arch") is { } a ? new[] { ParseArch(a) } : Array.Empty<TargetArch>();
        var source = ResolveSource(includes, args.One("version"), args.All("entry"));
        var arch = includes.Count > 0 ? IncludeArchitecture.Resolve(includes, asked, new[] { TargetArch.X86_64 })[0] : asked.FirstOrDefault() ?? TargetArch.X86_64;
        var model = source.Build(arch, allowUnread: allowUnread);
        ReportDiagnostics(model, args.Flag("notes"));
        if (RefuseEmpty(model, source)) return 1;
        if (args.Flag("json")) Console.Out.Write(AbiJson.Write(model) + "\n");
        else AbiText.WriteTo(Console.Out, model);
        return model.Diagnostics.Any(d => d.Severity == HeaderSeverity.Error) ? 1 : 0;
    }

    /// <summary><c>--unread error|warning</c>: how a declaration the parser cannot read is reported (KVM0003/KVM0005).</summary>
    public static bool ParseUnread(string? value) => value switch
    {
        null or "error" => false,
        "warning" => true,
        _ => throw new UsageException($"--unread takes error or warning (got '{value}')"),
    };

    /// <summary>A header set with neither a struct nor an ioctl is not a kvm.h (prose, a binary, the wrong entry):
    /// an error, not an empty result.</summary>
    public static bool RefuseEmpty(AbiModel model, HeaderSource source)
    {
        if (model.Structs.Count > 0 || model.Ioctls.Count > 0) return false;
        Console.Error.WriteLine($"kvmsdk: {model.Arch}: {source.Description} ({string.Join(", ", source.Entries)}) defines no structs and no ioctls: not a KVM uAPI header set");
        return true;
    }

    public static int Diff(Args args)
    {
        args.RejectUnknown("arch", "json");
        if (args.Positionals.Count != 2) throw new UsageException("abi diff takes two sides: a vendored version (7.3.4, 7.3.4+overlay) or an include set (dir[:dir...])");
        var arch = ParseArch(args.One("arch") ?? "x86_64");
        var sideA = SideFromSpec(args.Positionals[0]);
        var sideB = SideFromSpec(args.Positionals[1]);
        var a = sideA.Build(arch);
        var b = sideB.Build(arch);
        ReportDiagnostics(a);
        ReportDiagnostics(b);
        // A side that did not read (errors, or nothing in it) would make every item of the other side "added".
        bool refused = RefuseEmpty(a, sideA) | RefuseEmpty(b, sideB);
        if (refused || a.Diagnostics.Concat(b.Diagnostics).Any(d => d.Severity == HeaderSeverity.Error))
        {
            if (!refused) Console.Error.WriteLine("kvmsdk: not comparing: a side has errors (above)");
            return 1;
        }
        var diff = AbiDiff.Compare(a, b);
        Console.Out.Write(args.Flag("json") ? diff.ToJson() : diff.ToText());
        return 0;
    }

    public static int Versions()
    {
        Console.WriteLine("vendored header versions: " + string.Join(", ", HeaderSource.VendoredVersions()));
        Console.WriteLine("proposed overlays:        " + string.Join(", ", HeaderSource.Overlays()));
        return 0;
    }

    public static TargetArch ParseArch(string name) =>
        TargetArch.Parse(name) ?? throw new UsageException($"unknown architecture '{name}' (use one of {string.Join(", ", TargetArch.All.Select(a => a.Name))})");

    public static HeaderSource ResolveSource(IReadOnlyList<string> includes, string? version, IReadOnlyList<string> entries)
    {
        if (includes.Count > 0 && version is not null) throw new UsageException("give --include directories or --version, not both");
        if (includes.Count > 0)
        {
            foreach (var d in includes)
            {
                var dirs = IncludeArchitecture.HasPlaceholder(d) ? TargetArch.All.Select(a => IncludeArchitecture.Expand(d, a)).Where(Directory.Exists).ToList() : new List<string> { d };
                if (IncludeArchitecture.HasPlaceholder(d) && dirs.Count == 0) throw new UsageException($"include directory '{d}' exists for no architecture ({string.Join(", ", TargetArch.All.Select(a => IncludeArchitecture.Expand(d, a)))})");
                if (File.Exists(d)) throw new UsageException($"include directory '{d}' is a file, not a directory");
                if (!IncludeArchitecture.HasPlaceholder(d) && !Directory.Exists(d)) throw new UsageException($"include directory '{d}' does not exist");
            }
            return HeaderSource.FromIncludeDirs(includes, entries);
        }
        var spec = version ?? HeaderSource.VendoredVersions().OrderBy(v => Version.TryParse(v, out var p) ? p : new Version(0, 0)).Last();
        return HeaderSource.FromVendored(spec, entries, out var error) ?? throw new UsageException(error!);
    }

    /// <summary>A diff side: "7.3.4" / "7.3.4+overlay" (vendored) or "dir[:dir...]" (an include set on disk).</summary>
    private static HeaderSource SideFromSpec(string spec)
    {
        if (spec.Contains('/') || Directory.Exists(spec))
            return ResolveSource(spec.Split(':', StringSplitOptions.RemoveEmptyEntries), null, Array.Empty<string>());
        return ResolveSource(Array.Empty<string>(), spec, Array.Empty<string>());
    }

    /// <summary>Header text quoted in a diagnostic may hold control bytes (a binary given as kvm.h): shown as \xNN,
    /// never sent to the terminal.</summary>
    public static string Printable(string text)
    {
        if (!text.Any(c => char.IsControl(c) && c != '\t')) return text;
        var sb = new StringBuilder(text.Length + 16);
        foreach (var c in text) sb.Append(char.IsControl(c) && c != '\t' ? $"\\x{(int)c:X2}" : c.ToString());
        return sb.ToString();
    }

    public static void ReportDiagnostics(AbiModel model, bool notes = false)
    {
        foreach (var d in model.Diagnostics.Where(d => notes || d.Severity != HeaderSeverity.Info))
            Console.Error.WriteLine(Printable($"{model.Arch}: {d}"));
        int info = model.Diagnostics.Count(d => d.Severity == HeaderSeverity.Info);
        if (info > 0 && !notes) Console.Error.WriteLine($"{model.Arch}: {info} informational note(s) (macros that are not constants on this architecture, skipped functions)");
    }
}

internal static class AbiText
{
    /// <summary>Writes the dump line by line through one buffer: 100,000 constants never exist as one string
    /// (nor as a StringBuilder and its copy), and stdout is not flushed per line.</summary>
    public static void WriteTo(TextWriter console, AbiModel model)
    {
        console.Flush();
        using var sb = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16);
        Write(sb, model);
    }

    private static void Write(TextWriter sb, AbiModel model)
    {
        sb.WriteLine($"# {model.Arch} ({model.Profile}): {model.Structs.Count} structs, {model.Constants.Count} constants, {model.Ioctls.Count} ioctls");
        foreach (var s in model.Structs)
        {
            sb.WriteLine($"{(s.IsUnion ? "union" : "struct")} {s.Name}  size {s.Size}  align {s.Align}{(s.Packed ? "  packed" : "")}");
            foreach (var m in s.Members)
                sb.WriteLine($"  {m.Offset,6} {m.Size,6}  {m.CType} {m.Name}{(m.IsBitfield ? $" : {m.BitWidth} (bit {m.BitOffset})" : "")}");
        }
        sb.WriteLine();
        foreach (var i in model.Ioctls)
            sb.WriteLine($"ioctl {i.Name,-40} 0x{i.Value:X8}  {AbiJson.Direction(i.Direction),-9} {i.Size,5}  {i.ArgCType ?? "-"}");
        sb.WriteLine();
        foreach (var c in model.Constants)
            sb.WriteLine($"const {c.Name,-48} {c.Value,22}  {Generators.Parsing.CValue.CName(c.Kind)}");
    }
}
