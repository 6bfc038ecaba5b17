using System.Diagnostics;
using System.Globalization;
using Kvm.Interop;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Kvm.Benchmarks;

/// <summary>
/// The whole-process twin of <c>bench/c/run_loop.c</c>: the same real-mode <c>out</c> loop guest, the same warm-up
/// (1,000 exits), then rounds of <c>n</c> exits timed with a monotonic clock and the thread's CPU clock, one line per
/// round, so a table row
/// "C vs typed SDK" compares processes of equal shape. Modes: <c>raw</c> drives the vCPU fd with <c>Sys.Ioctl</c>
/// and reads the exit from its own mapping of kvm_run (what a C VMM does, through P/Invoke); <c>typed</c> calls
/// <see cref="VcpuFd.Run"/> and reads <c>exit.Io</c>. Prints allocated bytes per exit as well.
/// Run: <c>dotnet run -c Release --project bench/Benchmarks -- --run-loop raw|typed [n] [rounds]</c>.
/// </summary>
internal static unsafe partial class RunLoopTimed
{
    private const int Warmup = 1000;

    // clock_gettime(CLOCK_THREAD_CPUTIME_ID): the CPU time of this thread (guest time included), which time spent
    // waiting for a CPU on a loaded machine does not inflate. Reported beside the wall-clock time.
    [System.Runtime.InteropServices.LibraryImport("libc.so.6", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, long* timespec);

    private static long ThreadCpuNs()
    {
        var ts = stackalloc long[2];
        // SAFETY: `ts` is a stack buffer of struct timespec's two longs; the call fills it.
        ClockGetTime(3, ts);
        return ts[0] * 1_000_000_000 + ts[1];
    }

    public static int Run(string[] args)
    {
        var mode = args.Length > 1 ? args[1] : "typed";
        var exits = args.Length > 2 ? long.Parse(args[2], CultureInfo.InvariantCulture) : 100_000;
        var rounds = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 1;
        if (mode is not ("raw" or "typed"))
        {
            Console.Error.WriteLine("--run-loop raw|typed [exits] [rounds]");
            return 2;
        }
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        using var memory = kvm.AllocateHostMemory(16 * 4096);
        memory.Write(0, [0xBA, 0x10, 0x00, 0xEE, 0xEB, 0xFD]); // mov dx,0x10; l: out dx,al; jmp l
        using var slot = vm.Memslots.Add(0, memory);
        using var vcpu = vm.CreateVcpu(0);
        vcpu.EnterRealMode();
        return mode == "raw" ? Raw(kvm, vcpu, exits, rounds) : Typed(vcpu, exits, rounds);
    }

    private static int Typed(VcpuFd vcpu, long exits, int rounds)
    {
        for (var i = 0; i < Warmup; i++)
            _ = vcpu.Run().Io.Port;
        for (var r = 0; r < rounds; r++)
        {
            long ports = 0;
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            var cpu = ThreadCpuNs();
            var start = Stopwatch.GetTimestamp();
            for (long i = 0; i < exits; i++)
            {
                var exit = vcpu.Run();
                if (exit.Reason != VcpuExitReason.Io)
                    throw new InvalidOperationException($"unexpected exit {exit.Reason}");
                ports += exit.Io.Port;
            }
            var ticks = Stopwatch.GetTimestamp() - start;
            Report("typed", ticks, ThreadCpuNs() - cpu, exits, ports, GC.GetAllocatedBytesForCurrentThread() - allocated);
        }
        return 0;
    }

    private static int Raw(KvmSystem kvm, VcpuFd vcpu, long exits, int rounds)
    {
        using var fd = vcpu.BorrowFd();
        int runSize;
        using (var sys = kvm.BorrowFd())
            runSize = Sys.Ioctl(sys.Value, KvmIoctls.KVM_GET_VCPU_MMAP_SIZE);
        // SAFETY: a fresh shared mapping of the vCPU's kvm_run, unmapped below before the borrow ends.
        var map = mmap(null, (size_t)runSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd.Value, 0);
        if (map == MAP_FAILED)
            throw new InvalidOperationException("mmap kvm_run failed");
        var run = (Interop.X86_64.kvm_run*)map;
        try
        {
            for (var i = 0; i < Warmup; i++)
                Sys.Ioctl(fd.Value, KvmIoctls.KVM_RUN);
            var vcpuFd = fd.Value;
            for (var r = 0; r < rounds; r++)
            {
                long ports = 0;
                var allocated = GC.GetAllocatedBytesForCurrentThread();
                var cpu = ThreadCpuNs();
                var start = Stopwatch.GetTimestamp();
                for (long i = 0; i < exits; i++)
                {
                    if (Sys.Ioctl(vcpuFd, KvmIoctls.KVM_RUN) < 0)
                        throw new InvalidOperationException($"KVM_RUN failed: errno {Sys.LastErrno}");
                    // SAFETY: `run` is the live mapping; the exit is KVM_EXIT_IO, whose union member is io.
                    if (run->exit_reason != (uint)KvmExit.KVM_EXIT_IO)
                        throw new InvalidOperationException($"unexpected exit {run->exit_reason}");
                    ports += run->io.port;
                }
                var ticks = Stopwatch.GetTimestamp() - start;
                Report("raw", ticks, ThreadCpuNs() - cpu, exits, ports, GC.GetAllocatedBytesForCurrentThread() - allocated);
            }
        }
        finally
        {
            // SAFETY: the mapping made above; nothing uses `run` after this.
            munmap(map, (size_t)runSize);
        }
        return 0;
    }

    private static void Report(string mode, long ticks, long cpuNs, long exits, long ports, long allocated)
    {
        if (ports != 0x10L * exits)
            throw new InvalidOperationException("unexpected ports");
        var ns = ticks * 1e9 / Stopwatch.Frequency / exits;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{mode}: {ns:F1} ns per exit, {(double)cpuNs / exits:F1} ns CPU ({exits} exits, {(double)allocated / exits:F2} bytes allocated per exit)"));
    }
}
