// Conformance helpers issue raw ioctls without a capability check on purpose: the tests assert what kernels
// lacking the capability answer (ENOTTY, EINVAL), which a check would hide.
#pragma warning disable KVM2001
using System.Runtime.InteropServices;
using Kvm.Interop;
using Kvm.Interop.X86_64;
using static Kvm.KernelTests.Support.Checks;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Kvm.KernelTests.Support;

/// <summary>An owned file descriptor (closed on Dispose).</summary>
public sealed class Fd(int value, string what) : IDisposable
{
    public int Value { get; private set; } = value;
    public string What { get; } = what;
    public void Dispose() { if (Value >= 0) { close(Value); Value = -1; } }
    public override string ToString() => $"{What} fd {Value}";
}

/// <summary>/dev/kvm plus the raw-ioctl helpers the tests share. Everything goes through the Sys layer and the
/// (pending) generated bindings; nothing here validates arguments: the kernel must be the one that answers.</summary>
public static unsafe class KvmSys
{
    public const ulong Page = 4096;

    private static readonly Lazy<Fd> s_kvm = new(() =>
    {
        Assert.True(Kernel.CanUseKvm, "the kernel tests run inside a tests/kvm-guest guest (tests/kvm-guest/run.sh), or on the host only when asked (KVM_TEST_LANE=host: tests/kvm-guest/lane.sh host)");
        Assert.True(File.Exists("/dev/kvm"), Kernel.IsHostLane ? $"no /dev/kvm on this host (kernel {Kernel.Release})" : $"no /dev/kvm in the guest (kernel {Kernel.Release}): kvm_amd did not load");
        int fd;
        fixed (byte* p = "/dev/kvm\0"u8)
            fd = open(p, O_RDWR | O_CLOEXEC, 0);
        var r = R(fd);
        r.Ok("open(/dev/kvm)");
        return new Fd(fd, "/dev/kvm");
    });

    /// <summary>The /dev/kvm fd, opened once per process.</summary>
    public static int Dev => s_kvm.Value.Value;

    /// <summary>KVM_CHECK_EXTENSION on /dev/kvm (system scope) or on a VM fd.</summary>
    public static int Check(KvmCap cap, int fd = -1)
    {
        var r = R(Sys.Ioctl(fd < 0 ? Dev : fd, KvmIoctls.KVM_CHECK_EXTENSION, (nint)cap));
        return (int)r.Ok($"KVM_CHECK_EXTENSION({cap})");
    }

    public static SysResult TryCreateVm(int type) => R(Sys.Ioctl(Dev, KvmIoctls.KVM_CREATE_VM, type));

    public static Fd CreateVm(int type = ArchConstants.KVM_X86_DEFAULT_VM) =>
        new((int)TryCreateVm(type).Ok($"KVM_CREATE_VM type {type}"), $"VM type {type}");

    /// <summary>Bitmask of the VM types KVM_CREATE_VM accepts (KVM_CAP_VM_TYPES; kernels before 6.8 only know type 0).</summary>
    public static int VmTypes => Check(KvmCap.KVM_CAP_VM_TYPES) is var t && t != 0 ? t : 1 << ArchConstants.KVM_X86_DEFAULT_VM;

    /// <summary>Flags for a guest_memfd that a memslot will bind: arm64 binds only mmap-able guest_memfd (EINVAL
    /// otherwise, pinned by Arm64GuestMemfdTests); x86 binds any.</summary>
    public static ulong SlotGmemFlags => Kernel.IsArm64 ? KvmConstants.GUEST_MEMFD_FLAG_MMAP : 0;

    public static bool HasSwProtectedVm => (VmTypes & (1 << ArchConstants.KVM_X86_SW_PROTECTED_VM)) != 0;

    public static SysResult TryCreateGmem(Fd vm, ulong size, ulong flags = 0)
    {
        var g = new kvm_create_guest_memfd { size = size, flags = flags };
        return R(Sys.Ioctl(vm.Value, KvmIoctls.KVM_CREATE_GUEST_MEMFD, ref g));
    }

    public static Fd CreateGmem(Fd vm, ulong size, ulong flags = 0) =>
        new((int)TryCreateGmem(vm, size, flags).Ok($"KVM_CREATE_GUEST_MEMFD size 0x{size:x} flags 0x{flags:x}"), "guest_memfd");

    public static SysResult SetRegion(Fd vm, uint slot, ulong gpa, ulong size, ulong uaddr, uint flags = 0) =>
        R(Sys.Ioctl(vm.Value, KvmIoctls.KVM_SET_USER_MEMORY_REGION,
            new kvm_userspace_memory_region { slot = slot, flags = flags, guest_phys_addr = gpa, memory_size = size, userspace_addr = uaddr }));

    public static SysResult SetRegion2(Fd vm, uint slot, ulong gpa, ulong size, ulong uaddr, uint flags = 0, int gmemFd = 0, ulong gmemOffset = 0) =>
        R(Sys.Ioctl(vm.Value, KvmIoctls.KVM_SET_USER_MEMORY_REGION2,
            new kvm_userspace_memory_region2
            {
                slot = slot, flags = flags, guest_phys_addr = gpa, memory_size = size, userspace_addr = uaddr,
                guest_memfd = (uint)gmemFd, guest_memfd_offset = gmemOffset,
            }));

    public static SysResult SetAttributes(Fd vm, ulong gpa, ulong size, ulong attributes, ulong flags = 0) =>
        R(Sys.Ioctl(vm.Value, KvmIoctls.KVM_SET_MEMORY_ATTRIBUTES,
            new kvm_memory_attributes { address = gpa, size = size, attributes = attributes, flags = flags }));
}

/// <summary>A shared mapping (anonymous, or of an fd) unmapped on Dispose.</summary>
public sealed unsafe class Mapping : IDisposable
{
    public byte* Pointer { get; private set; }
    public ulong Length { get; }
    public ulong Address => (ulong)Pointer;

    private Mapping(byte* p, ulong length) { Pointer = p; Length = length; }

    public static SysResult TryMap(int fd, ulong length, int flags, out Mapping? mapping, long offset = 0)
    {
        void* p = mmap(null, (size_t)length, PROT_READ | PROT_WRITE, flags | (fd < 0 ? MAP_ANONYMOUS : 0), fd, offset);
        var r = R(p == MAP_FAILED ? -1 : 0);
        mapping = p == MAP_FAILED ? null : new Mapping((byte*)p, length);
        return r;
    }

    public static Mapping Anonymous(ulong length)
    {
        TryMap(-1, length, MAP_SHARED, out var m).Ok("mmap(anonymous)");
        return m!;
    }

    public static Mapping Of(Fd fd, ulong length)
    {
        TryMap(fd.Value, length, MAP_SHARED, out var m).Ok($"mmap({fd})");
        return m!;
    }

    public Span<byte> Span => new(Pointer, checked((int)Length));

    public void Dispose()
    {
        if (Pointer != null) { munmap(Pointer, (size_t)Length); Pointer = null; }
    }
}
