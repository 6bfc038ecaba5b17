using Kvm.Generators.Emit;
using Kvm.Generators.Layout;
using Kvm.Generators.Model;

namespace Kvm.Cli;

/// <summary>`kvmsdk generate`: the C# the source generator would produce for a header set, written to files.
/// Everything that can be refused is refused before a file is written: a bad namespace, an --out that is a file
/// or cannot be written, include directories of another architecture than --arch, headers with errors or with
/// neither structs nor ioctls.</summary>
internal static class GenerateCommand
{
    public static int Run(Args args)
    {
        args.RejectUnknown("include", "version", "arch", "entry", "namespace", "out", "internal", "unread");
        var outDir = args.One("out") ?? throw new UsageException("generate needs --out DIR");
        if (File.Exists(outDir)) throw new UsageException($"--out '{outDir}' is a file; give a directory");
        var ns = args.One("namespace") ?? "Kvm.Interop.Generated";
        if (NamespaceName.Problem(ns) is { } why) throw new UsageException($"--namespace '{ns}' is not a C# namespace: {why}");
        bool allowUnread = AbiCommands.ParseUnread(args.One("unread"));
        var includes = args.All("include");
        var asked = args.All("arch").Select(AbiCommands.ParseArch).Distinct().ToList();
        var source = AbiCommands.ResolveSource(includes, args.One("version"), args.All("entry"));
        var archs = includes.Count > 0 ? IncludeArchitecture.Resolve(includes, asked, TargetArch.Vendored)
            : asked.Count > 0 ? asked : new List<TargetArch>(TargetArch.Vendored);
        var models = archs.Select(a => source.Build(a, allowUnread: allowUnread)).ToList();
        foreach (var m in models) AbiCommands.ReportDiagnostics(m);
        if (models.Any(m => m.Diagnostics.Any(d => d.Severity == HeaderSeverity.Error)))
        {
            Console.Error.WriteLine("kvmsdk: not generating: the headers have errors (above)");
            return 1;
        }
        if (models.Aggregate(false, (refused, m) => AbiCommands.RefuseEmpty(m, source) | refused)) return 1;
        var sources = CSharpEmitter.Emit(models, new EmitOptions(ns, args.Flag("internal")));
        try
        {
            Directory.CreateDirectory(outDir);
            foreach (var s in sources) File.WriteAllText(Path.Combine(outDir, s.HintName), s.Text);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"kvmsdk: cannot write to --out '{outDir}': {e.Message}");
            return 1;
        }
        Console.Out.WriteLine($"wrote {sources.Count} files to {outDir} ({string.Join(", ", models.Select(m => $"{m.Arch}: {m.Structs.Count} structs, {m.Ioctls.Count} ioctls, {m.Constants.Count} constants"))})");
        return 0;
    }
}
