using BenchmarkDotNet.Attributes;
using Kvm.Interop;

namespace Kvm.Benchmarks;

/// <summary>
/// The cost of one typed SDK call against a raw P/Invoke of the same ioctl (KVM_CHECK_EXTENSION on a VM fd),
/// and bytes allocated per call. Needs a usable /dev/kvm (run it on a KVM host or inside a kernel lane);
/// bench/c/ioctl_loop.c measures the same ioctl from C.
/// </summary>
[MemoryDiagnoser]
public class IoctlBenchmarks
{
    private KvmSystem? _kvm;
    private VmFd? _vm;
    private int _vmFd;

    [GlobalSetup]
    public unsafe void Setup()
    {
        _kvm = KvmSystem.Open();
        _vm = _kvm.CreateVm();
        // The raw baseline gets its own VM fd, opened and created with raw calls only.
        int kvm;
        // SAFETY: the NUL-terminated literal is pinned for the call; open() only reads it.
        fixed (byte* path = "/dev/kvm\0"u8)
            kvm = Tmds.Linux.LibC.open(path, Tmds.Linux.LibC.O_RDWR | Tmds.Linux.LibC.O_CLOEXEC, 0);
        _vmFd = Sys.Ioctl(kvm, KvmIoctls.KVM_CREATE_VM, 0);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _vm?.Dispose();
        _kvm?.Dispose();
    }

    [Benchmark(Baseline = true, Description = "raw P/Invoke: Sys.Ioctl(KVM_CHECK_EXTENSION)")]
    public int Raw() => Sys.Ioctl(_vmFd, KvmIoctls.KVM_CHECK_EXTENSION, (nint)KvmCap.KVM_CAP_USER_MEMORY);

    [Benchmark(Description = "typed: vm.Capabilities.Check(KVM_CAP_USER_MEMORY)")]
    public int Typed() => _vm!.Capabilities.Check(KvmCap.KVM_CAP_USER_MEMORY);
}
