using System.CommandLine;

namespace Kvm.Cli;

/// <summary>
/// The kvmsdk command tree: every command, option and argument with its help text. System.CommandLine parses, prints
/// per-command help, answers <c>--version</c> and the <c>[suggest]</c> directive behind shell completion; the command
/// bodies (<see cref="AbiCommands"/>, <see cref="GenerateCommand"/>, <see cref="Probe.ProbeCommand"/>) keep the rules
/// that span options.
/// </summary>
internal static class KvmsdkCommands
{
    public const string ExitCodes = """
        Exit status:
          0  done (probe: no FAIL line)
          1  probe: FAIL lines; abi/generate: the headers have errors
          2  usage error (unknown command or option, a missing or invalid value)
          3  probe --host: nothing to probe (the device is not usable, and --host refuses the guest)
        """;

    public static RootCommand Build()
    {
        var root = new RootCommand(
            "kvmsdk: the KVM uAPI as the Kvm.Sdk generator sees it, C# bindings from kernel headers, and what a kernel's "
            + "KVM can do, probed through the SDK.\n\n" + ExitCodes);
        root.Add(Abi());
        root.Add(Generate());
        root.Add(Probe());
        root.Add(Completions());
        return root;
    }

    private static Command Abi()
    {
        var abi = new Command("abi", "The ABI the generator sees in a header set: read it, compare two, list the vendored sets.");

        var dump = new Command("dump", "Struct layouts, constants and ioctl numbers of one header set and architecture.");
        dump.Add(Include());
        dump.Add(new Option<string>("--version") { Description = "A vendored header version, optionally with a proposed overlay (7.3.4, 7.3.4+inplace-conversion-v8); default: the newest vendored.", HelpName = "V[+overlay]" });
        dump.Add(Arch(multiple: false));
        dump.Add(Entry());
        dump.Add(Flag("--json", "Write the model as JSON instead of text."));
        dump.Add(Flag("--notes", "Also print informational notes (macros that are not constants here, skipped functions)."));
        dump.Add(Unread());
        dump.SetAction(r => AbiCommands.Dump(new Args(r)));
        abi.Add(dump);

        var diff = new Command("diff", "What changed between two header sets.");
        diff.Add(new Argument<string>("A") { Description = "A vendored version (7.3.4, 7.3.4+overlay) or include directories (dir[:dir...])." });
        diff.Add(new Argument<string>("B") { Description = "The other side, in the same forms." });
        diff.Add(Arch(multiple: false));
        diff.Add(Flag("--json", "Write the differences as JSON."));
        diff.SetAction(r => AbiCommands.Diff(new Args(r)));
        abi.Add(diff);

        var versions = new Command("versions", "The vendored header versions and proposed overlays inside this tool.");
        versions.SetAction(_ => AbiCommands.Versions());
        abi.Add(versions);
        return abi;
    }

    private static Command Generate()
    {
        var generate = new Command("generate", "Write the C# the source generator would produce for a header set.");
        generate.Add(Include());
        generate.Add(new Option<string>("--version") { Description = "A vendored header version (with an optional +overlay) instead of --include.", HelpName = "V[+overlay]" });
        generate.Add(Arch(multiple: true));
        generate.Add(Entry());
        generate.Add(new Option<string>("--namespace") { Description = "The namespace of the generated code (default Kvm.Interop.Generated).", HelpName = "NAME" });
        generate.Add(new Option<string>("--out") { Description = "The directory to write the .g.cs files to (required).", HelpName = "DIR" });
        generate.Add(Flag("--internal", "Make the generated types internal instead of public."));
        generate.Add(Unread());
        generate.SetAction(r => GenerateCommand.Run(new Args(r)));
        return generate;
    }

    private static Command Probe()
    {
        var probe = new Command("probe",
            "What a kernel's KVM can do, through the SDK: this host's if it has a usable /dev/kvm, otherwise (or when asked "
            + "with --guest, --kernel or --sw-protected) a throw-away QEMU guest's. The guest path installs QEMU when run "
            + "as root and downloads a Debian kernel on first use.");
        probe.Add(Flag("--host", "Probe this machine only; never start the throw-away guest (exit 3 when the device is not usable)."));
        probe.Add(Flag("--guest", "Probe in the throw-away guest even when this host has a usable /dev/kvm."));
        probe.Add(new Option<string>("--kernel") { Description = "The guest's kernel: newest, legacy, or SUITE:linux-image-PACKAGE from Debian (implies --guest).", HelpName = "newest|legacy|SUITE:PKG" });
        probe.Add(Flag("--sw-protected", "Rebuild the guest's kvm modules with KVM_SW_PROTECTED_VM (implies --guest)."));
        probe.Add(new Option<string>("--device") { Description = "The KVM device to probe on this host (default /dev/kvm).", HelpName = "PATH" });
        probe.Add(Flag("--json", "Write the report as JSON."));
        probe.Add(Flag("--all-caps", "List every capability the kernel answers, not only the ones the SDK gates on."));
        probe.Add(new Option<string>("--out") { Description = "Also write the JSON report to this file.", HelpName = "FILE" });
        probe.Add(new Option<string>("--where") { Description = "The label of the report's 'where' field (set by the guest runner).", HelpName = "LABEL", Hidden = true });
        probe.SetAction(r => global::Kvm.Cli.Probe.ProbeCommand.Run(new Args(r)));
        return probe;
    }

    private static Command Completions()
    {
        var completions = new Command("completions", "Print a shell completion script: eval \"$(kvmsdk completions bash)\".");
        var shell = new Argument<string>("shell") { Description = "bash or zsh." };
        shell.AcceptOnlyFromAmong("bash", "zsh");
        completions.Add(shell);
        completions.SetAction(r => CompletionScripts.Print(r.GetValue(shell)!));
        return completions;
    }

    private static Option<string[]> Include() => new("--include")
    {
        Description = "An include root (repeatable); {multiarch} stands for the architecture's Debian triplet.",
        HelpName = "DIR",
        AllowMultipleArgumentsPerToken = false,
    };

    private static Option Arch(bool multiple) => multiple
        ? new Option<string[]>("--arch") { Description = "A target architecture (repeatable): x86_64, arm64, riscv64, s390x, ppc64le or loongarch64; default: what the include directories hold, or x86_64 and arm64 for a vendored version.", HelpName = "ARCH" }
        : new Option<string>("--arch") { Description = "The target architecture: x86_64, arm64, riscv64, s390x, ppc64le or loongarch64; default: what the include directories hold, else x86_64.", HelpName = "ARCH" };

    private static Option<string> Unread()
    {
        var unread = new Option<string>("--unread")
        {
            Description = "A declaration the parser cannot read (KVM0003, KVM0005) is an error (default), or a warning.",
            HelpName = "error|warning",
        };
        unread.AcceptOnlyFromAmong("error", "warning");
        return unread;
    }

    private static Option<string[]> Entry() => new("--entry")
    {
        Description = "A header to start from, relative to the include roots (repeatable; default linux/kvm.h).",
        HelpName = "HEADER",
    };

    private static Option<bool> Flag(string name, string description) => new(name) { Description = description };
}
