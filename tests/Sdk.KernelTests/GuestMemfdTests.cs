using Kvm.Interop;
using Kvm.Interop.X86_64;
using Kvm.KernelTests.Support;
using static Kvm.KernelTests.Support.Checks;
using static Kvm.KernelTests.Support.KvmSys;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Kvm.KernelTests;

/// <summary>KVM_CREATE_GUEST_MEMFD and the file it returns (gmem-uapi.md §5.1).</summary>
public unsafe class GuestMemfdTests
{
    private const ulong Size = 16 * Page;

    /// <summary>A VM of this type that has guest_memfd, or a skip naming what the kernel lacks.</summary>
    internal static Fd GmemVm(int type = ArchConstants.KVM_X86_DEFAULT_VM)
    {
        if (type == ArchConstants.KVM_X86_SW_PROTECTED_VM)
            Assert.SkipUnless(HasSwProtectedVm, $"kernel {Kernel.Release} offers no KVM_X86_SW_PROTECTED_VM (VM_TYPES=0x{VmTypes:x})");
        Assert.SkipWhen(Check(KvmCap.KVM_CAP_GUEST_MEMFD) == 0, $"kernel {Kernel.Release} has no guest_memfd (KVM_CAP_GUEST_MEMFD=0)");
        var vm = CreateVm(type);
        if (Check(KvmCap.KVM_CAP_GUEST_MEMFD, vm.Value) == 0)
        {
            vm.Dispose();
            Assert.Skip($"kernel {Kernel.Release}: VM type {type} has no guest_memfd (VM-scope KVM_CAP_GUEST_MEMFD=0)");
        }
        return vm;
    }

    [Theory]
    [InlineData(0ul)]
    [InlineData(1ul)]
    [InlineData(Page - 1)]
    [InlineData(Page + 1)]
    [InlineData(2 * Page - 1)]
    [InlineData(1ul << 63)] // negative as loff_t
    public void Create_RejectsZeroUnalignedAndNegativeSizes(ulong size)
    {
        using var vm = GmemVm();
        TryCreateGmem(vm, size).Fails(Errno.EINVAL, $"KVM_CREATE_GUEST_MEMFD size 0x{size:x}");
    }

    [Theory]
    [InlineData(ArchConstants.KVM_X86_DEFAULT_VM)]
    [InlineData(ArchConstants.KVM_X86_SW_PROTECTED_VM)]
    public void Create_AcceptsExactlyTheFlagsTheVmAdvertises(int type)
    {
        using var vm = GmemVm(type);
        int supported = Check(KvmCap.KVM_CAP_GUEST_MEMFD_FLAGS, vm.Value); // 0 before 6.18: no flag at all
        for (int bit = 0; bit < 64; bit++)
        {
            ulong flag = 1ul << bit;
            var r = TryCreateGmem(vm, Size, flag);
            if (bit < 31 && (supported & (1 << bit)) != 0) new Fd((int)r.Ok($"flags 0x{flag:x} (in VM cap 0x{supported:x})"), "gmem").Dispose();
            else r.Fails(Errno.EINVAL, $"KVM_CREATE_GUEST_MEMFD flags 0x{flag:x} (VM cap 0x{supported:x})");
        }
    }

    [Fact]
    public void Create_InitSharedIsRejectedOnSwProtectedVm()
    {
        using var vm = GmemVm(ArchConstants.KVM_X86_SW_PROTECTED_VM);
        TryCreateGmem(vm, Size, KvmConstants.GUEST_MEMFD_FLAG_MMAP | KvmConstants.GUEST_MEMFD_FLAG_INIT_SHARED)
            .Fails(Errno.EINVAL, "MMAP|INIT_SHARED on a SW_PROTECTED VM");
        TryCreateGmem(vm, Size, KvmConstants.GUEST_MEMFD_FLAG_INIT_SHARED).Fails(Errno.EINVAL, "INIT_SHARED on a SW_PROTECTED VM");
    }

    [Fact]
    public void Fd_IsCreatedWithoutCloexec()
    {
        using var vm = GmemVm();
        using var g = CreateGmem(vm, Size);
        int fdFlags = (int)R(fcntl(g.Value, F_GETFD)).Ok("fcntl(F_GETFD)");
        Assert.True((fdFlags & FD_CLOEXEC) == 0, "the kernel creates guest_memfd fds without O_CLOEXEC (get_unused_fd_flags(0)); the SDK must set it");
    }

    [Fact]
    public void Fstat_ReportsSizeAndPageBlockSize()
    {
        using var vm = GmemVm();
        using var g = CreateGmem(vm, Size);
        Native.Stat st;
        R(Native.fstat(g.Value, &st)).Ok("fstat(guest_memfd)");
        Assert.Equal((long)Size, st.st_size);
        Assert.Equal((long)Page, st.st_blksize);
    }

    [Fact]
    public void Ftruncate_IsRejected()
    {
        using var vm = GmemVm();
        using var g = CreateGmem(vm, Size);
        R(ftruncate(g.Value, (long)Size * 2)).Fails(Errno.EINVAL, "ftruncate to grow");
        R(ftruncate(g.Value, (long)Page)).Fails(Errno.EINVAL, "ftruncate to shrink");
        Native.Stat st;
        R(Native.fstat(g.Value, &st)).Ok("fstat");
        Assert.Equal((long)Size, st.st_size);
    }

    [Fact]
    public void ReadAndWrite_AreRejected()
    {
        using var vm = GmemVm();
        using var g = CreateGmem(vm, Size);
        byte b = 0;
        R((long)read(g.Value, &b, 1)).Fails(Errno.EINVAL, "read(guest_memfd)");
        R((long)write(g.Value, &b, 1)).Fails(Errno.EINVAL, "write(guest_memfd)");
    }

    [Fact]
    public void Fallocate_FollowsTheGuestMemfdRules()
    {
        using var vm = GmemVm();
        using var g = CreateGmem(vm, Size);
        int keep = FALLOC_FL_KEEP_SIZE, punch = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
        R(fallocate(g.Value, 0, 0, (long)Page)).Fails(Errno.EOPNOTSUPP, "fallocate without KEEP_SIZE (the size is immutable)");
        R(fallocate(g.Value, 0x10 /* FALLOC_FL_ZERO_RANGE */ | keep, 0, (long)Page)).Fails(Errno.EOPNOTSUPP, "fallocate ZERO_RANGE|KEEP_SIZE");
        R(fallocate(g.Value, keep, 1, (long)Page)).Fails(Errno.EINVAL, "fallocate unaligned offset");
        R(fallocate(g.Value, keep, 0, (long)Page + 1)).Fails(Errno.EINVAL, "fallocate unaligned length");
        R(fallocate(g.Value, punch, (long)Page / 2, (long)Page)).Fails(Errno.EINVAL, "punch hole unaligned offset");
        R(fallocate(g.Value, keep, (long)(Size - Page), 2 * (long)Page)).Fails(Errno.EINVAL, "allocate beyond the size");
        R(fallocate(g.Value, keep, 0, (long)Size)).Ok("allocate the whole file");
        R(fallocate(g.Value, punch, (long)Page, (long)Page)).Ok("punch one page");
        R(fallocate(g.Value, punch, (long)Size, 4 * (long)Page)).Ok("punch hole past the end");
        R(fallocate(g.Value, keep, 0, (long)Size)).Ok("allocate again after the punch");
    }
}
