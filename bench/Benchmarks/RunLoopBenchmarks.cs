using System.Reflection;
using BenchmarkDotNet.Attributes;
using Kvm.Interop;

namespace Kvm.Benchmarks;

/// <summary>
/// The cost of one port-I/O exit: a real-mode guest loops on <c>out dx, al</c>, and each operation is one exit.
/// Baseline: the raw KVM_RUN ioctl on a vCPU fd (P/Invoke, nothing else). Typed: <see cref="VcpuFd.Run"/>, which adds
/// the kick protocol (publish the runner under a lock; the kick signal stays blocked on the thread, so no sigmask
/// syscall per exit) and the exit decoding. Needs a usable x86_64 /dev/kvm. The whole-process comparison with C is
/// <c>bench/run-loop.sh</c> (<see cref="RunLoopTimed"/>).
/// </summary>
[MemoryDiagnoser]
public class RunLoopBenchmarks
{
    private static readonly byte[] IoLoop = [0xBA, 0x10, 0x00, 0xEE, 0xEB, 0xFD]; // mov dx,0x10; l: out dx,al; jmp l

    private KvmSystem? _kvm;
    private VmFd? _vm;
    private HostMemory? _memory;
    private SlotHandle? _slot;
    private VcpuFd? _typed;
    private VcpuFd? _raw;
    private int _rawFd;

    [GlobalSetup]
    public void Setup()
    {
        _kvm = KvmSystem.Open();
        _vm = _kvm.CreateVm();
        _memory = _kvm.AllocateHostMemory(16 * 4096);
        _memory.Write(0, IoLoop);
        _slot = _vm.Memslots.Add(0, _memory);
        _typed = _vm.CreateVcpu(0);
        _typed.EnterRealMode();
        _raw = _vm.CreateVcpu(1);
        _raw.EnterRealMode();
        // The raw baseline drives the second vCPU's fd directly, as a C VMM would.
        var fdRef = typeof(VcpuFd).GetField("_fd", BindingFlags.Instance | BindingFlags.NonPublic)!.GetValue(_raw)!;
        var handle = (System.Runtime.InteropServices.SafeHandle)fdRef.GetType().GetProperty("Handle")!.GetValue(fdRef)!;
        _rawFd = (int)handle.DangerousGetHandle();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _vm?.Dispose();
        _slot?.Dispose();
        _memory?.Dispose();
        _kvm?.Dispose();
    }

    [Benchmark(Baseline = true, Description = "raw: ioctl(KVM_RUN) per I/O exit")]
    public int Raw() => Sys.Ioctl(_rawFd, KvmIoctls.KVM_RUN, 0);

    [Benchmark(Description = "typed: vcpu.Run() per I/O exit, reading the port")]
    public int Typed()
    {
        var exit = _typed!.Run();
        return exit.Io.Port;
    }
}
