using BenchmarkDotNet.Running;

namespace Kvm.Benchmarks;

internal static class Program
{
    private static void Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "--kick-latency")
        {
            KickLatency.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1000);
            return;
        }
        if (args.Length > 0 && args[0] == "--run-loop")
        {
            Environment.ExitCode = RunLoopTimed.Run(args);
            return;
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
