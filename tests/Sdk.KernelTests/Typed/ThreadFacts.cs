using System.Globalization;

namespace Kvm.KernelTests.Typed;

/// <summary>What /proc says about the calling thread and the process's mappings.</summary>
internal static class ThreadFacts
{
    /// <summary>True when <paramref name="signal"/> is blocked on the calling thread (SigBlk of /proc/thread-self/status).</summary>
    public static bool IsBlocked(int signal)
    {
        var line = File.ReadLines("/proc/thread-self/status").First(l => l.StartsWith("SigBlk:", StringComparison.Ordinal));
        var mask = ulong.Parse(line[7..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        return (mask & (1UL << (signal - 1))) != 0;
    }

    /// <summary>True when <paramref name="signal"/> is pending on the calling thread (SigPnd).</summary>
    public static bool IsPending(int signal)
    {
        var line = File.ReadLines("/proc/thread-self/status").First(l => l.StartsWith("SigPnd:", StringComparison.Ordinal));
        var mask = ulong.Parse(line[7..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        return (mask & (1UL << (signal - 1))) != 0;
    }

    /// <summary>Blocks <paramref name="signal"/> on the calling thread (as a program might before it uses the SDK).</summary>
    public static unsafe void Block(int signal) => SigMask(Tmds.Linux.LibC.SIG_BLOCK, signal);

    /// <summary>Unblocks <paramref name="signal"/> on the calling thread (only with nothing pending).</summary>
    public static unsafe void Unblock(int signal) => SigMask(Tmds.Linux.LibC.SIG_UNBLOCK, signal);

    private static unsafe void SigMask(int how, int signal)
    {
        Tmds.Linux.sigset_t set;
        Tmds.Linux.LibC.sigemptyset(&set);
        Tmds.Linux.LibC.sigaddset(&set, signal);
        // SAFETY: a stack local; changes only the calling thread's mask.
        Assert.Equal(0, Tmds.Linux.LibC.pthread_sigmask(how, &set, null));
    }

    /// <summary>The /proc/self/maps line whose range contains <paramref name="address"/>, or null when unmapped.</summary>
    public static string? MappingAt(nint address)
    {
        var a = (ulong)address;
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            var dash = line.IndexOf('-');
            var space = line.IndexOf(' ');
            var start = ulong.Parse(line.AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            var end = ulong.Parse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (a >= start && a < end)
                return line;
        }
        return null;
    }

    /// <summary>Open fds of this process whose target names KVM (vm, vcpu, guest_memfd).</summary>
    public static int KvmFds()
    {
        var n = 0;
        foreach (var fd in Directory.GetFiles("/proc/self/fd"))
        {
            try { if ((new FileInfo(fd).LinkTarget ?? "").Contains("kvm", StringComparison.Ordinal)) n++; }
            catch (IOException) { } // closed while we looked
        }
        return n;
    }

    /// <summary>Runs <paramref name="body"/> on a new thread and waits for it (bounded); rethrows what it threw.</summary>
    public static void OnNewThread(Action body, int timeoutMs = 30_000)
    {
        Exception? error = null;
        var t = new Thread(() =>
        {
            try { body(); }
            catch (Exception e) { error = e; }
        });
        t.Start();
        Assert.True(t.Join(timeoutMs), "the thread did not finish");
        if (error is not null)
            throw new AggregateException(error);
    }
}

/// <summary>A thread that forces full collections and runs finalizers in a loop until disposed, so finalization
/// order is exercised while a test's threads run vCPUs and hold leases.</summary>
internal sealed class GcPressure : IDisposable
{
    private volatile bool _stop;
    private readonly Thread _thread;

    public GcPressure()
    {
        _thread = new Thread(() =>
        {
            while (!_stop)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                Collections++;
            }
        }) { IsBackground = true };
        _thread.Start();
    }

    public int Collections { get; private set; }

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
    }
}
