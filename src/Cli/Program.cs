[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

namespace Kvm.Cli;

internal static class Program
{
    private const string Usage = """
        usage: kvmsdk <command> [options]

          abi dump [--include DIR ...] [--version V[+overlay]] [--arch x86_64|arm64] [--entry linux/kvm.h] [--json]
                                  the ABI the generator sees: struct layouts, constants, ioctls
          abi diff A B [--arch ...] [--json]
                                  what changed between two header sets (a vendored version such as 7.3.4 or
                                  7.3.4+inplace-conversion-v8, or include directories dir[:dir...])
          abi versions            the vendored header versions and proposed overlays inside this tool
          generate [--include DIR ... | --version V] [--arch A ...] [--namespace N] [--internal] --out DIR
                                  write the C# the source generator would produce
          probe [--host | --guest [--kernel newest|legacy|SUITE:PKG] [--sw-protected]] [--json] [--all-caps]
                                  what this kernel's KVM can do, through the SDK: on this host if it has a
                                  usable /dev/kvm, otherwise (or with --guest, --kernel, --sw-protected) in a
                                  throw-away QEMU guest; --host refuses the guest
        exit status: 0 done (probe: no FAIL), 1 probe FAIL lines, 2 usage error, 3 nothing to probe
        """;

    private static int Main(string[] args)
    {
        try
        {
            if (args.Length == 0 || args[0] is "-h" or "--help" or "help") { Console.Out.WriteLine(Usage); return args.Length == 0 ? 2 : 0; }
            if (args[0] is "--version")
            {
                // The package version (from git, with the commit), not the assembly version, which MinVer keeps at MAJOR.0.0.0.
                Console.Out.WriteLine(typeof(Program).Assembly
                    .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
                    .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "unknown");
                return 0;
            }
            if (args.Skip(1).Any(a => a is "-h" or "--help")) { Console.Out.WriteLine(Usage); return 0; }
            var rest = args.Skip(1);
            switch (args[0])
            {
                case "abi" when args.Length >= 2:
                    var abiArgs = new Args(args.Skip(2), new[] { "json", "notes" });
                    return args[1] switch
                    {
                        "dump" => AbiCommands.Dump(abiArgs),
                        "diff" => AbiCommands.Diff(abiArgs),
                        "versions" => AbiCommands.Versions(),
                        _ => throw new UsageException($"unknown abi command '{args[1]}'"),
                    };
                case "probe":
                    return Probe.ProbeCommand.Run(new Args(rest, new[] { "host", "guest", "json", "all-caps", "sw-protected" }));
                case "generate":
                    return GenerateCommand.Run(new Args(rest, new[] { "internal" }));
                default:
                    throw new UsageException($"unknown command '{args[0]}'");
            }
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"kvmsdk: {e.Message}");
            Console.Error.WriteLine(Usage);
            return 2;
        }
    }
}
