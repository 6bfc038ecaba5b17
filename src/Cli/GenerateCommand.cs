namespace Kvm.Cli;

internal static class GenerateCommand
{
    public static int Run(Args args)
    {
        throw new UsageException("generate: not available yet");
    }
}
