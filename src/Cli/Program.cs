namespace Kvm.Cli;

internal static class Program
{
    private static int Main(string[] args)
    {
        Console.Error.WriteLine("usage: kvmsdk <abi|generate|probe> ...");
        return args.Length == 0 ? 2 : 2;
    }
}
