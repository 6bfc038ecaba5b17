using System.Diagnostics;

namespace Kvm.Benchmarks;

/// <summary>
/// Kick latency: a vCPU thread runs a guest that never exits (<c>jmp $</c>); the main thread calls
/// <see cref="VcpuFd.RequestImmediateExit"/> and measures until that Run has returned Interrupted. Repeated
/// <c>n</c> times; prints median, p99 and max. Not a BenchmarkDotNet benchmark: each sample needs a second thread
/// inside KVM_RUN. Run: <c>dotnet run -c Release --project bench/Benchmarks -- --kick-latency [n]</c>.
/// </summary>
internal static class KickLatency
{
    public static void Run(int samples)
    {
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        using var memory = kvm.AllocateHostMemory(4096);
        memory.Write(0, [0xEB, 0xFE]);
        using var slot = vm.Memslots.Add(0, memory);
        using var vcpu = vm.CreateVcpu(0);
        vcpu.EnterRealMode();

        var ticks = new long[samples];
        using var returned = new SemaphoreSlim(0);
        long kickedAt = 0;
        var stop = false;
        var runner = new Thread(() =>
        {
            while (!Volatile.Read(ref stop))
            {
                if (vcpu.Run().Reason != VcpuExitReason.Interrupted)
                    throw new InvalidOperationException("the spinning guest exited by itself");
                Volatile.Write(ref kickedAt, Stopwatch.GetTimestamp() - Volatile.Read(ref kickedAt));
                returned.Release();
            }
        });
        runner.Start();
        for (var i = 0; i < samples; i++)
        {
            SpinWait.SpinUntil(() => vcpu.IsRunning);
            Thread.Sleep(1);    // let the guest get going
            Volatile.Write(ref kickedAt, Stopwatch.GetTimestamp());
            if (i == samples - 1)
                Volatile.Write(ref stop, true);
            vcpu.RequestImmediateExit();
            returned.Wait();
            ticks[i] = Volatile.Read(ref kickedAt);
        }
        runner.Join();
        Array.Sort(ticks);
        double Us(long t) => t * 1e6 / Stopwatch.Frequency;
        Console.WriteLine($"kick latency over {samples} kicks: median {Us(ticks[samples / 2]):F1} us, " +
                          $"p99 {Us(ticks[(int)(samples * 0.99)]):F1} us, max {Us(ticks[^1]):F1} us");
    }
}
