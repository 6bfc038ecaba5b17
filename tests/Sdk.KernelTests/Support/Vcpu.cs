using System.Runtime.InteropServices;
using Kvm.Interop;
using Kvm.Interop.X86_64;
using static Kvm.KernelTests.Support.Checks;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Kvm.KernelTests.Support;

/// <summary>
/// A vCPU in 16-bit real mode with CS base 0, and a KVM_RUN guarded by a watchdog: if the guest does not exit
/// within the timeout (a guest looping in memory it cannot see, say), the watchdog sets immediate_exit and kicks
/// the vCPU thread with SIGUSR1, so KVM_RUN returns EINTR and the test fails instead of hanging the lane.
/// </summary>
public sealed unsafe class Vcpu : IDisposable
{
    private readonly Fd _fd;
    private readonly int _mapSize;
    public kvm_run* Run { get; private set; }

    // SIGUSR1 gets a handler that does nothing (the runtime's, cancelled), so a kick interrupts KVM_RUN
    // (the kernel returns EINTR for a pending signal) without terminating the process.
    private static readonly PosixSignalRegistration s_kick = PosixSignalRegistration.Create((PosixSignal)Native.SIGUSR1, c => c.Cancel = true);

    public Vcpu(Fd vm, int id = 0)
    {
        _ = s_kick;
        _fd = new Fd((int)R(Sys.Ioctl(vm.Value, KvmIoctls.KVM_CREATE_VCPU, id)).Ok("KVM_CREATE_VCPU"), "vCPU");
        _mapSize = (int)R(Sys.Ioctl(KvmSys.Dev, KvmIoctls.KVM_GET_VCPU_MMAP_SIZE)).Ok("KVM_GET_VCPU_MMAP_SIZE");
        Assert.True(_mapSize >= sizeof(kvm_run), $"vCPU mmap size {_mapSize} < sizeof(kvm_run) {sizeof(kvm_run)}");
        void* p = mmap(null, (size_t)_mapSize, PROT_READ | PROT_WRITE, MAP_SHARED, _fd.Value, 0);
        R(p == MAP_FAILED ? -1 : 0).Ok("mmap(kvm_run)");
        Run = (kvm_run*)p;

        R(Sys.Ioctl(_fd.Value, ArchIoctls.KVM_GET_SREGS, out kvm_sregs s)).Ok("KVM_GET_SREGS");
        s.cs.@base = 0; s.cs.selector = 0;
        R(Sys.Ioctl(_fd.Value, ArchIoctls.KVM_SET_SREGS, s)).Ok("KVM_SET_SREGS");
    }

    public void SetIp(ulong rip)
    {
        var r = new kvm_regs { rip = rip, rflags = 2 };
        R(Sys.Ioctl(_fd.Value, ArchIoctls.KVM_SET_REGS, r)).Ok("KVM_SET_REGS");
    }

    public ulong Rip { get { R(Sys.Ioctl(_fd.Value, ArchIoctls.KVM_GET_REGS, out kvm_regs r)).Ok("KVM_GET_REGS"); return r.rip; } }

    /// <summary>One KVM_RUN, with the watchdog. The watchdog is a dedicated thread, not a thread-pool timer: the
    /// SIGBUS tests block pool threads while they wait for their helper processes, and a starved pool would
    /// delay the kick.</summary>
    public SysResult RunOnce(TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(20);
        // The watchdog's SIGUSR1 must be able to reach this thread: blocked (e.g. by a typed Run with SIGUSR1 as its
        // kick signal on this thread), it would stay pending and KVM_RUN would never return.
        Assert.False(Kvm.KernelTests.Typed.ThreadFacts.IsBlocked(Native.SIGUSR1),
            "SIGUSR1 is blocked on this thread, so the KVM_RUN watchdog could not interrupt a guest that never exits");
        int tid = Native.gettid(), pid = getpid();
        var kvmRun = Run;
        bool kicked = false;
        using var done = new ManualResetEventSlim(false);
        var watchdog = new Thread(() =>
        {
            if (done.Wait(limit)) return;
            kicked = true;
            kvmRun->immediate_exit = 1;                    // a KVM_RUN entered from now on returns at once
            do Native.tgkill(pid, tid, Native.SIGUSR1);    // and the one in progress leaves the guest with EINTR
            while (!done.Wait(TimeSpan.FromSeconds(1)));
        }) { IsBackground = true, Name = "KVM_RUN watchdog" };
        watchdog.Start();
        var r = R(Sys.Ioctl(_fd.Value, KvmIoctls.KVM_RUN));
        done.Set();
        watchdog.Join();
        kvmRun->immediate_exit = 0;
        Assert.False(kicked && r.Errno == (int)Errno.EINTR,
            $"KVM_RUN did not return within {limit.TotalSeconds} s (guest looping at rip 0x{Rip:x}); the watchdog interrupted it");
        return r;
    }

    /// <summary>Runs until HLT, collecting the bytes the guest writes with <c>out</c>; fails on any other exit.</summary>
    public string RunToHlt(ulong rip, int maxExits = 32)
    {
        SetIp(rip);
        var output = new List<byte>();
        for (int i = 0; i < maxExits; i++)
        {
            RunOnce().Ok("KVM_RUN");
            var reason = (KvmExit)Run->exit_reason;
            if (reason == KvmExit.KVM_EXIT_HLT)
                return System.Text.Encoding.Latin1.GetString(output.ToArray());
            if (reason == KvmExit.KVM_EXIT_IO && Run->io.direction == KvmConstants.KVM_EXIT_IO_OUT)
            {
                output.Add(((byte*)Run)[Run->io.data_offset]);
                continue;
            }
            Assert.Fail($"unexpected exit {Describe()} after output \"{System.Text.Encoding.Latin1.GetString(output.ToArray())}\"");
        }
        Assert.Fail($"no HLT within {maxExits} exits");
        return "";
    }

    public string Describe() => (KvmExit)Run->exit_reason switch
    {
        KvmExit.KVM_EXIT_FAIL_ENTRY => $"KVM_EXIT_FAIL_ENTRY hw=0x{Run->fail_entry.hardware_entry_failure_reason:x}",
        KvmExit.KVM_EXIT_INTERNAL_ERROR => $"KVM_EXIT_INTERNAL_ERROR suberror={Run->@internal.suberror}",
        KvmExit.KVM_EXIT_MEMORY_FAULT => $"KVM_EXIT_MEMORY_FAULT flags=0x{Run->memory_fault.flags:x} gpa=0x{Run->memory_fault.gpa:x} size=0x{Run->memory_fault.size:x}",
        var e => $"{e} ({Run->exit_reason})",
    };

    public void Dispose()
    {
        if (Run != null) { munmap(Run, (size_t)_mapSize); Run = null; }
        _fd.Dispose();
    }
}

/// <summary>Tiny real-mode guest programs.</summary>
public static class GuestCode
{
    /// <summary><c>mov al,'A'; out 0x10,al; mov al,'B'; out 0x10,al; hlt</c></summary>
    public static readonly byte[] OutAB = [0xb0, (byte)'A', 0xe6, 0x10, 0xb0, (byte)'B', 0xe6, 0x10, 0xf4];

    /// <summary><c>mov al,[0x2000]; out 0x10,al; hlt</c>: reports the byte at GPA 0x2000.</summary>
    public static readonly byte[] Read2000 = [0xa0, 0x00, 0x20, 0xe6, 0x10, 0xf4];
}
