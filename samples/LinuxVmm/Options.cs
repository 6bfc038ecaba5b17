using System.Globalization;

namespace LinuxVmm;

/// <summary>The command line of the sample.</summary>
internal sealed record Options(string Kernel, string Initrd, ulong MemoryMiB, string CommandLine, string? Expect, bool Protected = false)
{
    /// <summary>Linux on this machine: the console on COM1, no PCI or ACPI to probe, and reboot through the i8042 reset
    /// line so that the VMM sees it (a PC without ACPI cannot power off).</summary>
    public const string DefaultCommandLine =
        "console=ttyS0 earlyprintk=serial,ttyS0 reboot=k panic=-1 pci=off acpi=off nomodules i8042.noaux i8042.nomux tsc=reliable";

    public static Options? Parse(string[] args)
    {
        string? kernel = null, initrd = null, expect = null, cmdline = DefaultCommandLine;
        ulong mem = 256;
        var isProtected = false;
        var rest = new List<string>();
        foreach (var a in args)
        {
            if (a == "--protected")
                isProtected = true;   // arm64: a pKVM protected VM (KVM_VM_TYPE_ARM_PROTECTED), from host memory
            else
                rest.Add(a);
        }
        args = [.. rest];
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--kernel": kernel = args[i + 1]; break;
                case "--initrd": initrd = args[i + 1]; break;
                case "--mem-mib": mem = ulong.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--cmdline": cmdline = args[i + 1]; break;
                case "--expect": expect = args[i + 1]; break;
                default: return null;
            }
        }
        return kernel is null || initrd is null || args.Length % 2 != 0 ? null : new Options(kernel, initrd, mem, cmdline, expect, isProtected);
    }
}
