// Flips 1 GiB of a SW_PROTECTED VM between PRIVATE and shared, in 4 KiB and 2 MiB steps, through the typed SDK
// (vm.MemoryAttributes.Set) and through the raw ioctl (Sys.Ioctl), and prints GiB/s per variant.
using System.Diagnostics;
using Kvm;
using Kvm.Interop;

const ulong Total = 1UL << 30;
using var kvm = KvmSystem.Open();
if (!kvm.SupportsVmType(VmType.X86SwProtected))
{
    Console.WriteLine("conversion bench: KVM_X86_SW_PROTECTED_VM is not offered here (run it in the private lane)");
    return 1;
}
using var vm = kvm.CreateVm(VmType.X86SwProtected);
var attributes = vm.MemoryAttributes ?? throw new InvalidOperationException("no memory attributes on this VM");
int rawFd = RawSwProtectedVm();

foreach (var step in new[] { 4096UL, 2UL << 20 })
{
    Measure($"typed: vm.MemoryAttributes.Set, {step}-byte steps", step, (gpa, size, attr) => attributes.Set(gpa, size, attr));
    Measure($"raw:   Sys.Ioctl(KVM_SET_MEMORY_ATTRIBUTES), {step}-byte steps", step, (gpa, size, attr) =>
    {
        var r = new kvm_memory_attributes { address = gpa, size = size, attributes = (ulong)attr };
        if (Sys.Ioctl(rawFd, KvmIoctls.KVM_SET_MEMORY_ATTRIBUTES, in r) < 0) throw new InvalidOperationException($"errno {Sys.LastErrno}");
    });
}
return 0;

static unsafe int RawSwProtectedVm()
{
    int kvmFd;
    // SAFETY: the NUL-terminated literal is pinned for the call; open() only reads it.
    fixed (byte* path = "/dev/kvm\0"u8)
        kvmFd = Tmds.Linux.LibC.open(path, Tmds.Linux.LibC.O_RDWR | Tmds.Linux.LibC.O_CLOEXEC, 0);
    int fd = Sys.Ioctl(kvmFd, KvmIoctls.KVM_CREATE_VM, (nint)X86VmType.KVM_X86_SW_PROTECTED_VM);
    return fd >= 0 ? fd : throw new InvalidOperationException($"KVM_CREATE_VM: errno {Sys.LastErrno}");
}

static void Measure(string what, ulong step, Action<ulong, ulong, KvmMemoryAttributes> set)
{
    // Warm-up over the first 64 MiB, so tiered JIT compilation is not measured.
    for (int round = 0; round < 2; round++)
        foreach (var attr in new[] { KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE, (KvmMemoryAttributes)0 })
            for (ulong gpa = 0; gpa < (64UL << 20); gpa += step)
                set(gpa, step, attr);
    var sw = Stopwatch.StartNew();
    foreach (var attr in new[] { KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE, (KvmMemoryAttributes)0 })
        for (ulong gpa = 0; gpa < Total; gpa += step)
            set(gpa, step, attr);
    double s = sw.Elapsed.TotalSeconds;
    Console.WriteLine($".NET {what}: {s:F3} s ({2.0 / s:F2} GiB/s, {s * 1e9 / (2.0 * Total / step):F0} ns per call)");
}
