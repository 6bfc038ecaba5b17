using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Kvm.Interop;

namespace Kvm.Benchmarks;

/// <summary>
/// Filling a VM's memslots with N one-page slots (4 KiB each, from one big anonymous mapping): the SDK with automatic
/// ids against raw KVM_SET_USER_MEMORY_REGION2 with explicit ids, on a VM of its own. One op adds N slots; deleting
/// them is untimed (IterationCleanup), so Mean / N is the cost of one add. N = 32,764 is KVM_CAP_NR_MEMSLOTS on x86.
/// Needs a usable /dev/kvm. Run: bench/run.sh '*SlotFill*'.
/// </summary>
// Monitoring: one invocation per iteration (an op is 5 ms to 1 s and must start from an empty VM), no pilot stage;
// the JIT warm-up that Monitoring skips is done in GlobalSetup.
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 5, iterationCount: 10)]
public class SlotFillBenchmarks
{
    private const int MaxN = 32764;
    private static readonly ulong Page = (ulong)Environment.SystemPageSize;

    private KvmSystem? _kvm;
    private VmFd? _vm;
    private HostMemory? _memory;
    private int _rawKvmFd;
    private int _rawVmFd;
    private readonly List<SlotHandle> _sdkSlots = new(MaxN);
    private int _rawAdded;

    /// <summary>Slots added per op.</summary>
    [Params(500, 4000, MaxN)]
    public int N { get; set; }

    [GlobalSetup]
    public unsafe void Setup()
    {
        _kvm = KvmSystem.Open();
        _vm = _kvm.CreateVm();
        if (_vm.Memslots.MaxSlots < N)
            throw new InvalidOperationException($"this VM allows {_vm.Memslots.MaxSlots} memslots, fewer than N = {N}");
        _memory = _kvm.AllocateHostMemory((ulong)MaxN * Page);
        // The raw baseline gets its own VM fd, opened and created with raw calls only.
        // SAFETY: the NUL-terminated literal is pinned for the call; open() only reads it.
        fixed (byte* path = "/dev/kvm\0"u8)
            _rawKvmFd = Tmds.Linux.LibC.open(path, Tmds.Linux.LibC.O_RDWR | Tmds.Linux.LibC.O_CLOEXEC, 0);
        _rawVmFd = Sys.Ioctl(_rawKvmFd, KvmIoctls.KVM_CREATE_VM, 0);
        if (_rawVmFd < 0)
            throw new InvalidOperationException($"KVM_CREATE_VM failed: errno {Sys.LastErrno}");
        WarmUpBothPaths();
    }

    /// <summary>Monitoring runs few, single-invocation iterations, so at N = 500 the whole run would otherwise measure
    /// tier-0 JIT code: run both paths a few thousand times, then give the tiering thread time to install tier-1
    /// code. What is measured is the steady state of a long-running VMM.</summary>
    private void WarmUpBothPaths()
    {
        var n = N;
        N = 500;
        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < 4; i++)
            {
                Raw();
                Sdk();
                DeleteAll();
            }
            Thread.Sleep(250);
        }
        N = n;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        Tmds.Linux.LibC.close(_rawVmFd);
        Tmds.Linux.LibC.close(_rawKvmFd);
        _vm?.Dispose();
        _memory?.Dispose();
        _kvm?.Dispose();
    }

    [Benchmark(Baseline = true, Description = "raw KVM_SET_USER_MEMORY_REGION2, explicit ids")]
    public void Raw()
    {
        var address = (ulong)_memory!.AddressForSlot;
        for (var i = 0; i < N; i++)
        {
            var region = Region(i, address, Page);
            if (Sys.Ioctl(_rawVmFd, KvmIoctls.KVM_SET_USER_MEMORY_REGION2, in region) < 0)
                throw new InvalidOperationException($"slot {i}: errno {Sys.LastErrno}");
            _rawAdded++;
        }
    }

    [Benchmark(Description = "SDK vm.Memslots.Add, automatic ids")]
    public void Sdk()
    {
        for (var i = 0; i < N; i++)
            _sdkSlots.Add(_vm!.Memslots.Add((ulong)i * Page, _memory!, (ulong)i * Page, Page));
    }

    [IterationCleanup]
    public void DeleteAll()
    {
        foreach (var s in _sdkSlots)
            s.Dispose();
        _sdkSlots.Clear();
        var address = (ulong)_memory!.AddressForSlot;
        for (var i = 0; i < _rawAdded; i++)
        {
            var region = Region(i, address, 0);
            Sys.Ioctl(_rawVmFd, KvmIoctls.KVM_SET_USER_MEMORY_REGION2, in region);
        }
        _rawAdded = 0;
    }

    /// <summary>Slot <paramref name="i"/>: page i of the mapping at GPA i pages; size 0 deletes it.</summary>
    private static kvm_userspace_memory_region2 Region(int i, ulong address, ulong size) => new()
    {
        slot = (uint)i,
        guest_phys_addr = (ulong)i * Page,
        memory_size = size,
        userspace_addr = address + (ulong)i * Page,
    };
}
