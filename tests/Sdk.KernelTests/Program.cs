namespace Kvm.KernelTests;

/// <summary>
/// Entry point of the kernel test executable (xunit's generated one is turned off in the csproj). Normally it is
/// xunit v3's in-process console runner. With <c>--child-touch</c> it is the helper process of the SIGBUS tests
/// (<see cref="Support.ChildTouch"/>): .NET cannot fork, so a test that must watch a process die of SIGBUS
/// starts this same executable again and checks how it ended. With <c>--usable-kvm DEVICE</c> it only says whether
/// the machine has a KVM the host lane can test (<see cref="Support.UsableKvm"/>).
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == Support.ChildTouch.Verb)
            return Support.ChildTouch.RunChild(args);
        if (args.Length > 0 && args[0] == Support.UsableKvm.Verb)
            return Support.UsableKvm.Run(args);
        return Xunit.Runner.InProc.SystemConsole.ConsoleRunner.Run(args).GetAwaiter().GetResult();
    }
}
