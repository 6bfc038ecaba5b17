using BenchmarkDotNet.Attributes;
using Kvm.Interop;

namespace Kvm.Benchmarks;

/// <summary>
/// Creating (and closing) a guest_memfd by size, typed against raw: the kernel reserves nothing at creation, and since
/// the SDK keeps page state as ranges its cost must not grow with the size either (before: 1 s and 32 MiB for 1 TiB).
/// Needs a usable /dev/kvm whose default VM has guest_memfd (6.18+).
/// </summary>
[MemoryDiagnoser]
public class GuestMemfdCreateBenchmarks
{
    private KvmSystem? _kvm;
    private VmFd? _vm;
    private int _rawVm;

    [Params(64UL << 10, 1UL << 30, 1UL << 40, 1UL << 50, 1UL << 62)]
    public ulong Size { get; set; }

    [GlobalSetup]
    public unsafe void Setup()
    {
        _kvm = KvmSystem.Open();
        _vm = _kvm.CreateVm();
        using var fd = _kvm.BorrowFd();
        _rawVm = Sys.Ioctl(fd.Value, KvmIoctls.KVM_CREATE_VM, 0);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        Tmds.Linux.LibC.close(_rawVm);
        _vm?.Dispose();
        _kvm?.Dispose();
    }

    [Benchmark(Baseline = true, Description = "raw: KVM_CREATE_GUEST_MEMFD + close")]
    public int Raw()
    {
        var arg = new kvm_create_guest_memfd { size = Size };
        var fd = Sys.Ioctl(_rawVm, KvmIoctls.KVM_CREATE_GUEST_MEMFD, ref arg);
        return Tmds.Linux.LibC.close(fd);
    }

    [Benchmark(Description = "typed: GuestMemfd.Create + Dispose")]
    public ulong Typed()
    {
        using var gmem = _vm!.GuestMemfd!.Create(Size);
        return gmem.Size;
    }
}
