using Kvm.Generators.Emit;
using Kvm.Generators.Model;

namespace Kvm.Cli;

/// <summary>`kvmsdk generate`: the C# the source generator would produce for a header set, written to files.</summary>
internal static class GenerateCommand
{
    public static int Run(Args args)
    {
        args.RejectUnknown("include", "version", "arch", "entry", "namespace", "out", "internal");
        var outDir = args.One("out") ?? throw new UsageException("generate needs --out DIR");
        var archs = args.All("arch").Count > 0 ? args.All("arch").Select(AbiCommands.ParseArch).ToList() : new() { Generators.Layout.TargetArch.X86_64, Generators.Layout.TargetArch.Arm64 };
        var source = AbiCommands.ResolveSource(args.All("include"), args.One("version"), args.All("entry"));
        var models = archs.Select(a => source.Build(a)).ToList();
        foreach (var m in models) AbiCommands.ReportDiagnostics(m);
        if (models.Any(m => m.Diagnostics.Any(d => d.Severity == HeaderSeverity.Error)))
        {
            Console.Error.WriteLine("kvmsdk: not generating: the headers have errors (above)");
            return 1;
        }
        var sources = CSharpEmitter.Emit(models, new EmitOptions(args.One("namespace") ?? "Kvm.Interop.Generated", args.Flag("internal")));
        Directory.CreateDirectory(outDir);
        foreach (var s in sources) File.WriteAllText(Path.Combine(outDir, s.HintName), s.Text);
        Console.Out.WriteLine($"wrote {sources.Count} files to {outDir} ({string.Join(", ", models.Select(m => $"{m.Arch}: {m.Structs.Count} structs, {m.Ioctls.Count} ioctls, {m.Constants.Count} constants"))})");
        return 0;
    }
}
