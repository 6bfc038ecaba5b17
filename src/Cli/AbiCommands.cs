using System.Text;
using Kvm.Generators.Layout;
using Kvm.Generators.Model;

namespace Kvm.Cli;

/// <summary>`kvmsdk abi dump|diff|versions`: the generator's model of a header set, read or compared.</summary>
internal static class AbiCommands
{
    public static int Dump(Args args)
    {
        args.RejectUnknown("include", "arch", "json", "entry", "version", "notes");
        var arch = ParseArch(args.One("arch") ?? "x86_64");
        var source = ResolveSource(args.All("include"), args.One("version"), args.All("entry"));
        var model = source.Build(arch);
        ReportDiagnostics(model, args.Flag("notes"));
        Console.Out.Write(args.Flag("json") ? AbiJson.Write(model) + "\n" : AbiText.Write(model));
        return model.Diagnostics.Any(d => d.Severity == HeaderSeverity.Error) ? 1 : 0;
    }

    public static int Diff(Args args)
    {
        args.RejectUnknown("arch", "json");
        if (args.Positionals.Count != 2) throw new UsageException("abi diff takes two sides: a vendored version (7.3.4, 7.3.4+overlay) or an include set (dir[:dir...])");
        var arch = ParseArch(args.One("arch") ?? "x86_64");
        var a = SideFromSpec(args.Positionals[0]).Build(arch);
        var b = SideFromSpec(args.Positionals[1]).Build(arch);
        ReportDiagnostics(a);
        ReportDiagnostics(b);
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
        TargetArch.Parse(name) ?? throw new UsageException($"unknown architecture '{name}' (use x86_64 or arm64)");

    public static HeaderSource ResolveSource(IReadOnlyList<string> includes, string? version, IReadOnlyList<string> entries)
    {
        if (includes.Count > 0 && version is not null) throw new UsageException("give --include directories or --version, not both");
        if (includes.Count > 0)
        {
            foreach (var d in includes)
                if (!Directory.Exists(d)) throw new UsageException($"include directory '{d}' does not exist");
            return HeaderSource.FromIncludeDirs(includes, entries);
        }
        var spec = version ?? HeaderSource.VendoredVersions().OrderBy(v => Version.TryParse(v, out var p) ? p : new Version(0, 0)).Last();
        return HeaderSource.FromVendored(spec, out var error) ?? throw new UsageException(error!);
    }

    /// <summary>A diff side: "7.3.4" / "7.3.4+overlay" (vendored) or "dir[:dir...]" (an include set on disk).</summary>
    private static HeaderSource SideFromSpec(string spec)
    {
        if (spec.Contains('/') || Directory.Exists(spec))
            return ResolveSource(spec.Split(':', StringSplitOptions.RemoveEmptyEntries), null, Array.Empty<string>());
        return ResolveSource(Array.Empty<string>(), spec, Array.Empty<string>());
    }

    public static void ReportDiagnostics(AbiModel model, bool notes = false)
    {
        foreach (var d in model.Diagnostics.Where(d => notes || d.Severity != HeaderSeverity.Info))
            Console.Error.WriteLine($"{model.Arch}: {d}");
        int info = model.Diagnostics.Count(d => d.Severity == HeaderSeverity.Info);
        if (info > 0 && !notes) Console.Error.WriteLine($"{model.Arch}: {info} informational note(s) (macros that are not constants on this architecture, skipped functions)");
    }
}

internal static class AbiText
{
    public static string Write(AbiModel model)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"# {model.Arch} ({model.Profile}): {model.Structs.Count} structs, {model.Constants.Count} constants, {model.Ioctls.Count} ioctls");
        foreach (var s in model.Structs)
        {
            sb.AppendLine($"{(s.IsUnion ? "union" : "struct")} {s.Name}  size {s.Size}  align {s.Align}{(s.Packed ? "  packed" : "")}");
            foreach (var m in s.Members)
                sb.AppendLine($"  {m.Offset,6} {m.Size,6}  {m.CType} {m.Name}{(m.IsBitfield ? $" : {m.BitWidth} (bit {m.BitOffset})" : "")}");
        }
        sb.AppendLine();
        foreach (var i in model.Ioctls)
            sb.AppendLine($"ioctl {i.Name,-40} 0x{i.Value:X8}  {AbiJson.Direction(i.Direction),-9} {i.Size,5}  {i.ArgCType ?? "-"}");
        sb.AppendLine();
        foreach (var c in model.Constants)
            sb.AppendLine($"const {c.Name,-48} {c.Value,22}  {Generators.Parsing.CValue.CName(c.Kind)}");
        return sb.ToString();
    }
}
