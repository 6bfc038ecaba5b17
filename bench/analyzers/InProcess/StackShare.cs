using Microsoft.Diagnostics.Tracing.Etlx;

/// <summary>
/// <c>--share &lt;trace.nettrace&gt;</c>: the share of a compile's working thread samples that run inside
/// Kvm.Sdk.Analyzers, from a <c>dotnet-trace</c> sampled thread-time trace of a fresh <c>csc</c> (bench/analyzers/profile.sh
/// records it). Every sample is one thread's managed stack at one tick. A sample whose innermost frame is a blocking wait
/// (GC suspension, a semaphore, a wait handle, a monitor or lock, a spin-wait, sleep) is idle, whoever's frames are below it; every other
/// sample is work, and it is the analyzer's when any frame on its stack is in the <c>Kvm.Analyzers</c> namespace. The
/// same rule classifies the numerator and the denominator, so preemption, which stretches both, cancels. JIT of the
/// analyzer's code and binding it triggers run under its frames and count as its work; GC it causes does not (the GC's
/// own threads are native and not sampled), which `--per-rule`'s allocation line covers. KVM_SHARE_OURS=1 also lists
/// the analyzer's samples by innermost analyzer frame and by leaf; KVM_SHARE_LEAVES=1 the commonest leaves overall.
/// </summary>
internal static class StackShare
{
    private static readonly string[] Waits =
    [
        "PollGCWorker", "LowLevelLifoSemaphore.WaitNative", "WaitHandle.WaitOneNoCheck", "WaitHandle.WaitOneCore",
        "Monitor.Wait(", "Thread.Sleep(", "Thread.SleepInternal", "Monitor.Enter_Slowpath", "SpinWait.SpinOnceCore",
        "LowLevelSpinWaiter.Wait",
    ];

    public static int Run(string trace)
    {
        var etlx = TraceLog.CreateFromEventPipeDataFile(trace);
        using var log = new TraceLog(etlx);
        long samples = 0, idle = 0, ours = 0, oursIdle = 0;
        foreach (var e in log.Events)
        {
            if (e.ProviderName != "Microsoft-DotNETCore-SampleProfiler" || e.CallStack() is not { } stack)
                continue;
            samples++;
            var isIdle = IsWait(stack.CodeAddress.FullMethodName);
            var isOurs = false;
            for (var frame = stack; frame is not null && !isOurs; frame = frame.Caller)
                isOurs = frame.CodeAddress.FullMethodName.StartsWith("Kvm.Analyzers.", StringComparison.Ordinal);
            if (isIdle)
                idle++;
            if (isOurs && isIdle)
                oursIdle++;
            else if (isOurs)
                ours++;
        }
        if (Environment.GetEnvironmentVariable("KVM_SHARE_OURS") is not null)
            Ours(log);
        if (Environment.GetEnvironmentVariable("KVM_SHARE_LEAVES") is not null)
            foreach (var (leaf, n) in Leaves(log).OrderByDescending(p => p.Value).Take(25))
                Console.WriteLine($"{n,8} {leaf}");
        var work = samples - idle;
        if (work <= 0)
        {
            Console.Error.WriteLine($"{trace}: no working samples ({samples} samples)");
            return 1;
        }
        Console.WriteLine(FormattableString.Invariant(
            $"samples {samples}, working {work}, in Kvm.Analyzers {ours} working + {oursIdle} waiting; share of work {100.0 * ours / work:F2}%"));
        return 0;
    }

    /// <summary>Where the analyzer's working samples are: by innermost analyzer frame and by leaf frame.</summary>
    private static void Ours(TraceLog log)
    {
        var inner = new Dictionary<string, int>();
        var leaves = new Dictionary<string, int>();
        foreach (var e in log.Events)
        {
            if (e.ProviderName != "Microsoft-DotNETCore-SampleProfiler" || e.CallStack() is not { } stack || IsWait(stack.CodeAddress.FullMethodName))
                continue;
            for (var frame = stack; frame is not null; frame = frame.Caller)
                if (frame.CodeAddress.FullMethodName.StartsWith("Kvm.Analyzers.", StringComparison.Ordinal))
                {
                    var k = frame.CodeAddress.FullMethodName;
                    inner[k] = inner.GetValueOrDefault(k) + 1;
                    var l = stack.CodeAddress.FullMethodName;
                    leaves[l] = leaves.GetValueOrDefault(l) + 1;
                    break;
                }
        }
        Console.WriteLine("innermost analyzer frames:");
        foreach (var (k, n) in inner.OrderByDescending(p => p.Value).Take(20))
            Console.WriteLine($"{n,6} {k}");
        Console.WriteLine("leaves under the analyzer:");
        foreach (var (k, n) in leaves.OrderByDescending(p => p.Value).Take(20))
            Console.WriteLine($"{n,6} {k}");
    }

    private static Dictionary<string, int> Leaves(TraceLog log)
    {
        var counts = new Dictionary<string, int>();
        foreach (var e in log.Events)
            if (e.ProviderName == "Microsoft-DotNETCore-SampleProfiler" && e.CallStack() is { } stack)
            {
                var key = (IsWait(stack.CodeAddress.FullMethodName) ? "[idle] " : "") + stack.CodeAddress.FullMethodName;
                counts[key] = counts.GetValueOrDefault(key) + 1;
            }
        return counts;
    }

    private static bool IsWait(string leaf)
    {
        foreach (var w in Waits)
            if (leaf.Contains(w, StringComparison.Ordinal))
                return true;
        return false;
    }
}
