// Conformance helpers issue raw ioctls without a capability check on purpose: the tests assert what kernels
// lacking the capability answer (ENOTTY, EINVAL), which a check would hide.
#pragma warning disable KVM2001
using Xunit;
using System.Runtime.InteropServices;
using Kvm.Interop;
using Kvm.KernelTests.Support;
using Kvm.Interop.Arm64;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Kvm.KernelTests.Arm64;

/// <summary>
/// Where the arm64 kernel tests run and what the lane expects. The arm64 lanes (tests/kvm-guest/arm64/lane.sh) set
/// KVM_TEST_LANE (<see cref="Kernel.Lane"/>), so a lane that should have guest_memfd fails when the kernel lacks it
/// instead of skipping; without it (a hand run on real arm64 hardware) or in the host lane (KVM_TEST_LANE=host, any
/// kernel) the expectations follow the kernel's own answers.
/// </summary>
internal static class Arm64Env
{
    public static string Lane => Kernel.Lane ?? "";

    /// <summary>Skips the test unless this is an arm64 process with a /dev/kvm.</summary>
    public static void RequireArm64Kvm()
    {
        if (!Kernel.IsArm64)
            Assert.Skip($"arm64 KVM test; this process is {RuntimeInformation.ProcessArchitecture}");
        if (!File.Exists("/dev/kvm"))
            Assert.Skip("no /dev/kvm on this arm64 machine (KVM needs EL2: virtualization=on under QEMU)");
    }

    public static string KernelRelease => Kernel.Release;

    /// <summary>kvm-arm.mode=protected on the kernel command line (pKVM).</summary>
    public static bool ProtectedMode => File.ReadAllText("/proc/cmdline").Contains("kvm-arm.mode=protected");

    /// <summary>Skips unless the host runs pKVM; the arm64-protected lane fails instead, since it promised it.</summary>
    public static void RequireProtectedMode()
    {
        RequireArm64Kvm();
        if (ProtectedMode)
            return;
        if (Lane == "arm64-protected")
            Assert.Fail("lane arm64-protected booted without kvm-arm.mode=protected");
        Assert.Skip("needs kvm-arm.mode=protected (pKVM): lane arm64-protected");
    }

    /// <summary>
    /// Whether guest_memfd must exist: true on the 7.3 lanes, false on arm64-legacy (6.12), and
    /// <paramref name="kernelSays"/> (its KVM_CAP_GUEST_MEMFD) when no lane is named or on the host lane.
    /// </summary>
    public static bool ExpectGuestMemfd(bool kernelSays) => Lane switch
    {
        "arm64-legacy" => false,
        "arm64-newest" or "arm64-protected" => true,
        _ => kernelSays,
    };

    /// <summary>Skips unless mmap-able guest_memfd is expected here; on a lane that promises it, a kernel without it fails.</summary>
    public static void RequireMmapGuestMemfd(int kvm)
    {
        bool has = KvmCall.Check(kvm, KvmCap.KVM_CAP_GUEST_MEMFD) > 0;
        if (!ExpectGuestMemfd(has))
            Assert.Skip($"kernel {KernelRelease} has no guest_memfd on arm64 (KVM_CAP_GUEST_MEMFD = 0; lane '{Lane}')");
        Assert.True(has, $"lane {Lane} expects guest_memfd, kernel {KernelRelease} says no");
        Assert.True((KvmCall.Check(kvm, KvmCap.KVM_CAP_GUEST_MEMFD_FLAGS) & (int)KvmConstants.GUEST_MEMFD_FLAG_MMAP) != 0,
            "KVM_CAP_GUEST_MEMFD_FLAGS lacks GUEST_MEMFD_FLAG_MMAP");
    }

    /// <summary>An answer worth keeping: to the test output, and appended to $KVM_RECORD (the lane prints that file).</summary>
    public static void Record(string line)
    {
        TestContext.Current.TestOutputHelper?.WriteLine(line);
        var path = Environment.GetEnvironmentVariable("KVM_RECORD");
        if (!string.IsNullOrEmpty(path))
        {
            lock (typeof(Arm64Env))
                File.AppendAllText(path, $"{line}\n");
        }
    }
}

/// <summary>Thin helpers over the syscall layer: fail the test with the errno name when a call that must work fails.</summary>
internal static unsafe class KvmCall
{
    public static int OpenKvm()
    {
        int fd;
        // SAFETY: the path is a NUL-terminated UTF-8 literal pinned by `fixed` for the call.
        fixed (byte* path = "/dev/kvm\0"u8)
            fd = open(path, O_RDWR | O_CLOEXEC, 0);
        Assert.True(fd >= 0, $"open /dev/kvm: {ErrnoText.Name(Sys.LastErrno)}");
        return fd;
    }

    public static int Check(int fd, KvmCap cap) => Sys.Ioctl(fd, KvmIoctls.KVM_CHECK_EXTENSION, (nint)cap);

    /// <summary>The answer as text: the number, or the errno name where the kernel refuses the question (arm64
    /// /dev/kvm: EINVAL for capabilities only a VM can answer).</summary>
    public static string Answer(int fd, KvmCap cap) => Check(fd, cap) is var rc && rc < 0 ? ErrnoText.Name(Sys.LastErrno) : rc.ToString();

    /// <summary>rc, or the test fails naming the call and the errno.</summary>
    public static int Ok(int rc, string what)
    {
        if (rc < 0)
            Assert.Fail($"{what} failed: {ErrnoText.Name(Sys.LastErrno)} ({ErrnoText.Message(Sys.LastErrno)})");
        return rc;
    }

    /// <summary>
    /// The errno of a call that must fail. The errno is the last P/Invoke error of this thread: build the message
    /// from values computed before the call (file I/O in between, e.g. reading /proc, resets it).
    /// </summary>
    public static Errno Fails(int rc, string what)
    {
        Assert.True(rc < 0, $"{what} succeeded (rc={rc}) but the kernel should have refused it");
        return (Errno)Sys.LastErrno;
    }

    public static int CreateVm(int kvm, ulong type = 0) => Ok(Sys.Ioctl(kvm, KvmIoctls.KVM_CREATE_VM, (nint)type), $"KVM_CREATE_VM(0x{type:x})");

    public static int TryCreateGmem(int vm, ulong size, ulong flags)
    {
        var g = new kvm_create_guest_memfd { size = size, flags = flags };
        return Sys.Ioctl(vm, KvmIoctls.KVM_CREATE_GUEST_MEMFD, ref g);
    }

    public static int SetRegion(int vm, uint slot, ulong gpa, ulong size, void* host, ulong flags = 0, int gmem = -1, ulong gmemOffset = 0)
    {
        var r = new kvm_userspace_memory_region2
        {
            slot = slot, flags = checked((uint)flags), guest_phys_addr = gpa, memory_size = size, userspace_addr = (ulong)host,
            guest_memfd = gmem < 0 ? 0u : (uint)gmem, guest_memfd_offset = gmemOffset,
        };
        return Sys.Ioctl(vm, KvmIoctls.KVM_SET_USER_MEMORY_REGION2, in r);
    }

    public static void Close(int fd)
    {
        if (fd >= 0) close(fd);
    }
}

/// <summary>A shared mapping (anonymous, or of a guest_memfd) that is unmapped on Dispose.</summary>
internal sealed unsafe class Mapping : IDisposable
{
    public byte* Pointer { get; private set; }
    public ulong Length { get; }

    private Mapping(byte* p, ulong length) { Pointer = p; Length = length; }

    public static Mapping Anonymous(ulong length)
    {
        void* p = mmap(null, (size_t)length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        Assert.True(p != MAP_FAILED, $"mmap anonymous: {ErrnoText.Name(Sys.LastErrno)}");
        return new Mapping((byte*)p, length);
    }

    /// <summary>mmap of an fd; null with the errno when the kernel refuses.</summary>
    public static Mapping? TryMap(int fd, ulong length, out Errno errno)
    {
        void* p = mmap(null, (size_t)length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        errno = p == MAP_FAILED ? (Errno)Sys.LastErrno : 0;
        return p == MAP_FAILED ? null : new Mapping((byte*)p, length);
    }

    public Span<byte> Span => new(Pointer, checked((int)Length));

    public void Dispose()
    {
        if (Pointer != null) munmap(Pointer, (size_t)Length);
        Pointer = null;
    }
}

/// <summary>arm64 guest code, hand-assembled (MMU off, EL1). Each word is checked against GNU as in the README.</summary>
internal static class GuestCode
{
    public const ulong CodeGpa = 0x1000;
    public const ulong MmioBase = 0x1000_0000; // no memslot there: every access is an MMIO exit
    public const byte MmioReadValue = 0x5a;

    /// <summary>Two MMIO writes, one MMIO read whose value is written back, then PSCI SYSTEM_OFF through hvc.</summary>
    public static readonly uint[] MmioThenSystemOff =
    [
        0xD2A20000, // movz x0, #0x1000, lsl #16     x0 = 0x10000000
        0x52800821, // mov  w1, #0x41                'A'
        0xB9000001, // str  w1, [x0]                 MMIO write, 4 bytes
        0x52800841, // mov  w1, #0x42                'B'
        0x39000001, // strb w1, [x0]                 MMIO write, 1 byte
        0xB9400802, // ldr  w2, [x0, #8]             MMIO read, 4 bytes at 0x10000008
        0x39000002, // strb w2, [x0]                 write the value read back out
        0xD2800100, // movz x0, #0x0008
        0xF2B08000, // movk x0, #0x8400, lsl #16     x0 = 0x84000008 = PSCI_0_2_FN_SYSTEM_OFF
        0xD4000002, // hvc  #0
        0x14000000, // b    .                        (not reached)
    ];

    /// <summary>A guest that never exits on its own: only the watchdog can stop it.</summary>
    public static readonly uint[] Loop = [0x14000000]; // b .

    public static ReadOnlySpan<byte> Bytes(uint[] words) => MemoryMarshal.AsBytes(words.AsSpan());

    public static void Copy(uint[] words, Span<byte> memory) =>
        MemoryMarshal.AsBytes(words.AsSpan()).CopyTo(memory[(int)CodeGpa..]);
}

/// <summary>One arm64 vCPU: preferred target, PSCI 0.2, the mmap'ed kvm_run, ONE_REG access, a guarded KVM_RUN.</summary>
internal sealed unsafe class Vcpu : IDisposable
{
    public int Fd { get; private set; } = -1;
    public kvm_run* Run { get; private set; }
    public uint Target { get; }
    private readonly nuint _runSize;

    public Vcpu(int kvm, int vm, uint index = 0)
    {
        KvmCall.Ok(Sys.Ioctl(vm, ArchIoctls.KVM_ARM_PREFERRED_TARGET, out kvm_vcpu_init init), "KVM_ARM_PREFERRED_TARGET");
        Target = init.target;
        Fd = KvmCall.Ok(Sys.Ioctl(vm, KvmIoctls.KVM_CREATE_VCPU, (nint)index), "KVM_CREATE_VCPU");
        init.features[0] |= 1u << (int)ArchConstants.KVM_ARM_VCPU_PSCI_0_2;
        KvmCall.Ok(Sys.Ioctl(Fd, ArchIoctls.KVM_ARM_VCPU_INIT, in init), "KVM_ARM_VCPU_INIT(PSCI 0.2)");
        _runSize = (nuint)KvmCall.Ok(Sys.Ioctl(kvm, KvmIoctls.KVM_GET_VCPU_MMAP_SIZE), "KVM_GET_VCPU_MMAP_SIZE");
        Assert.True(_runSize >= (nuint)sizeof(kvm_run), $"vcpu mmap size {_runSize} < sizeof(kvm_run) {sizeof(kvm_run)}");
        void* p = mmap(null, (size_t)(ulong)_runSize, PROT_READ | PROT_WRITE, MAP_SHARED, Fd, 0);
        Assert.True(p != MAP_FAILED, $"mmap kvm_run: {ErrnoText.Name(Sys.LastErrno)}");
        Run = (kvm_run*)p;
    }

    /// <summary>KVM_REG_ARM_CORE_REG(field): the offset of the field in struct kvm_regs, in 32-bit words.</summary>
    public static ulong CoreRegId(nint offsetInKvmRegs) =>
        KvmConstants.KVM_REG_ARM64 | KvmConstants.KVM_REG_SIZE_U64 | ArchConstants.KVM_REG_ARM_CORE | (ulong)(offsetInKvmRegs / sizeof(uint));

    private static nint PtRegs(string field) => Marshal.OffsetOf<kvm_regs>(nameof(kvm_regs.regs)) + Marshal.OffsetOf<user_pt_regs>(field);

    public static ulong PcId => CoreRegId(PtRegs(nameof(user_pt_regs.pc)));
    public static ulong XId(int n) => CoreRegId(PtRegs(nameof(user_pt_regs.regs)) + n * sizeof(ulong));

    public ulong GetReg(ulong id)
    {
        ulong value = 0;
        var reg = new kvm_one_reg { id = id, addr = (ulong)&value };
        KvmCall.Ok(Sys.Ioctl(Fd, KvmIoctls.KVM_GET_ONE_REG, in reg), $"KVM_GET_ONE_REG(0x{id:x})");
        return value;
    }

    public void SetReg(ulong id, ulong value)
    {
        var reg = new kvm_one_reg { id = id, addr = (ulong)&value };
        KvmCall.Ok(Sys.Ioctl(Fd, KvmIoctls.KVM_SET_ONE_REG, in reg), $"KVM_SET_ONE_REG(0x{id:x})");
    }

    /// <summary>
    /// Runs the MMIO/PSCI guest to its SYSTEM_OFF: answers the MMIO read, collects the bytes written, and returns
    /// them with the final exit. A guest that loops is stopped by the watchdog and fails the test.
    /// </summary>
    public (string Written, List<string> Exits, ulong FirstMmioPc) RunMmioGuest(TimeSpan limit)
    {
        var written = new List<byte>();
        var exits = new List<string>();
        ulong firstPc = ulong.MaxValue;
        using var watchdog = new KvmRunWatchdog(this, limit);
        for (int i = 0; i < 32; i++)
        {
            int rc = Sys.Ioctl(Fd, KvmIoctls.KVM_RUN);
            if (rc < 0)
            {
                var e = (Errno)Sys.LastErrno;
                Assert.Fail(watchdog.Fired
                    ? $"the guest did not reach SYSTEM_OFF within {limit.TotalSeconds} s: the watchdog stopped KVM_RUN ({e}); exits so far: {string.Join(", ", exits)}"
                    : $"KVM_RUN failed: {e}; exits so far: {string.Join(", ", exits)}");
            }
            var reason = (KvmExit)Run->exit_reason;
            if (reason == KvmExit.KVM_EXIT_MMIO)
            {
                ref var m = ref Run->mmio;
                if (firstPc == ulong.MaxValue) firstPc = GetReg(PcId);
                exits.Add($"MMIO {(m.is_write != 0 ? "write" : "read")} 0x{m.phys_addr:x}/{m.len}");
                if (m.is_write != 0)
                {
                    written.Add(m.data[0]);
                }
                else
                {
                    for (int b = 0; b < 8; b++) m.data[b] = 0;
                    m.data[0] = GuestCode.MmioReadValue;
                }
                continue;
            }
            if (reason == KvmExit.KVM_EXIT_SYSTEM_EVENT)
            {
                exits.Add($"SYSTEM_EVENT type={Run->system_event.type}");
                return (System.Text.Encoding.ASCII.GetString(written.ToArray()), exits, firstPc);
            }
            Assert.Fail($"unexpected exit {reason} ({Run->exit_reason}); exits so far: {string.Join(", ", exits)}");
        }
        Assert.Fail($"no SYSTEM_EVENT after 32 exits: {string.Join(", ", exits)}");
        return default;
    }

    public void Dispose()
    {
        if (Run != null) munmap(Run, (size_t)(ulong)_runSize);
        Run = null;
        KvmCall.Close(Fd);
        Fd = -1;
    }
}

/// <summary>
/// Keeps a looping guest from hanging the lane. KVM_RUN only returns to user space for an exit or a pending
/// signal, so: SIGURG (default action: ignore) is blocked in this thread, KVM_SET_SIGNAL_MASK unblocks it while
/// the vCPU runs, and a timer sets kvm_run.immediate_exit and sends SIGURG to this thread. KVM_RUN then returns
/// EINTR (KVM_EXIT_INTR). Because the signal is blocked outside KVM_RUN, no handler ever runs (none is installed,
/// and a blocked signal is never discarded as ignored); Dispose takes it off the pending set with sigtimedwait.
/// Create and dispose it on the thread that calls KVM_RUN.
/// </summary>
internal sealed unsafe partial class KvmRunWatchdog : IDisposable
{
    private const int SIGURG = 23, SIG_BLOCK = 0, SIG_SETMASK = 2;
    private readonly Vcpu _vcpu;
    private readonly Timer _timer;
    private readonly ulong[] _oldMask = new ulong[16]; // glibc sigset_t: 1024 bits
    private volatile bool _fired;

    public bool Fired => _fired;

    public KvmRunWatchdog(Vcpu vcpu, TimeSpan limit)
    {
        _vcpu = vcpu;
        int tid = gettid(), pid = getpid();
        ulong* set = stackalloc ulong[16];
        set[0] = 1UL << (SIGURG - 1);
        // SAFETY: set and _oldMask are 128-byte sigset_t buffers, pinned for the call.
        fixed (ulong* old = _oldMask)
            KvmCall.Ok(pthread_sigmask(SIG_BLOCK, set, old), "pthread_sigmask(SIG_BLOCK, SIGURG)");
        // struct kvm_signal_mask { __u32 len; __u8 sigset[8]; }: the kernel's sigset_t is 8 bytes on arm64/x86_64.
        // An empty set: while the vCPU runs, every signal (SIGURG included) is deliverable.
        byte* km = stackalloc byte[4 + 8];
        new Span<byte>(km, 12).Clear();
        ((kvm_signal_mask*)km)->len = 8;
        KvmCall.Ok(Sys.Ioctl(vcpu.Fd, KvmIoctls.KVM_SET_SIGNAL_MASK.Value, km), "KVM_SET_SIGNAL_MASK");
        nint run = (nint)vcpu.Run;
        _timer = new Timer(_ =>
        {
            _fired = true;
            ((kvm_run*)run)->immediate_exit = 1;
            tgkill(pid, tid, SIGURG);
        }, null, limit, Timeout.InfiniteTimeSpan);
    }

    public void Dispose()
    {
        using (var done = new ManualResetEvent(false))
        {
            if (_timer.Dispose(done)) done.WaitOne();
        }
        _vcpu.Run->immediate_exit = 0;
        ulong* set = stackalloc ulong[16];
        set[0] = 1UL << (SIGURG - 1);
        long* zero = stackalloc long[2];
        zero[0] = zero[1] = 0;
        byte* info = stackalloc byte[128];
        while (sigtimedwait(set, info, zero) == SIGURG) { }
        // SAFETY: _oldMask is the 128-byte sigset_t saved by the constructor on this thread.
        fixed (ulong* old = _oldMask)
            pthread_sigmask(SIG_SETMASK, old, null);
#pragma warning disable KVM1010 // best-effort restore on the way out: there is nothing to do if it fails
        Sys.Ioctl(_vcpu.Fd, KvmIoctls.KVM_SET_SIGNAL_MASK.Value, null); // NULL: no mask change during KVM_RUN
#pragma warning restore KVM1010
    }

    [LibraryImport("libc.so.6", SetLastError = true)]
    private static partial int pthread_sigmask(int how, ulong* set, ulong* oldset);

    [LibraryImport("libc.so.6", SetLastError = true)]
    private static partial int sigtimedwait(ulong* set, byte* info, long* timeout);

    [LibraryImport("libc.so.6", SetLastError = true)]
    private static partial int tgkill(int tgid, int tid, int sig);

    [LibraryImport("libc.so.6")]
    private static partial int gettid();

    [LibraryImport("libc.so.6")]
    private static partial int getpid();
}
