using Xunit;
using Kvm.Interop;

namespace Kvm.KernelTests.Arm64;

/// <summary>
/// guest_memfd on arm64. A normal (non-CoCo) arm64 VM has no private memory: only mmap-able guest_memfd
/// (GUEST_MEMFD_FLAG_MMAP) can back a memslot, and there are no memory attributes to convert. 6.12 has none of it.
/// </summary>
public sealed class Arm64GuestMemfdTests
{
    private const ulong Size = 0x200000;

    [Fact]
    public unsafe void Flags0_guest_memfd_can_neither_be_mapped_nor_back_a_memslot()
    {
        Arm64Env.RequireArm64Kvm();
        int kvm = KvmCall.OpenKvm();
        int vm = KvmCall.CreateVm(kvm), gmem = -1;
        try
        {
            Arm64Env.RequireMmapGuestMemfd(kvm);
            gmem = KvmCall.Ok(KvmCall.TryCreateGmem(vm, Size, 0), "KVM_CREATE_GUEST_MEMFD(flags 0)");
            using (var m = Mapping.TryMap(gmem, Size, out var mapErr))
            {
                Assert.Null(m);
                Assert.Equal(Errno.ENODEV, mapErr);
            }
            using var anon = Mapping.Anonymous(Size);
            var e = KvmCall.Fails(KvmCall.SetRegion(vm, 0, 0x400000, Size, anon.Pointer, KvmConstants.KVM_MEM_GUEST_MEMFD, gmem),
                "KVM_SET_USER_MEMORY_REGION2(KVM_MEM_GUEST_MEMFD, flags-0 gmem)");
            Assert.Equal(Errno.EINVAL, e);
            Arm64Env.Record("flags-0 guest_memfd in a normal arm64 VM: create ok, mmap ENODEV, memslot EINVAL");
        }
        finally
        {
            KvmCall.Close(gmem);
            KvmCall.Close(vm);
            KvmCall.Close(kvm);
        }
    }

    [Theory]
    [InlineData(KvmConstants.GUEST_MEMFD_FLAG_MMAP)]
    [InlineData(KvmConstants.GUEST_MEMFD_FLAG_MMAP | KvmConstants.GUEST_MEMFD_FLAG_INIT_SHARED)]
    public unsafe void Mmap_guest_memfd_maps_and_backs_a_memslot(ulong flags)
    {
        Arm64Env.RequireArm64Kvm();
        int kvm = KvmCall.OpenKvm();
        int vm = KvmCall.CreateVm(kvm), gmem = -1;
        try
        {
            Arm64Env.RequireMmapGuestMemfd(kvm);
            gmem = KvmCall.Ok(KvmCall.TryCreateGmem(vm, Size, flags), $"KVM_CREATE_GUEST_MEMFD(flags 0x{flags:x})");
            using var m = Mapping.TryMap(gmem, Size, out var mapErr);
            Assert.True(m is not null, $"mmap of an MMAP guest_memfd: {mapErr}");
            if ((flags & KvmConstants.GUEST_MEMFD_FLAG_INIT_SHARED) != 0)
            {
                m.Pointer[0x1000] = 0x5a;
                m.Pointer[Size - 1] = 0xa5;
                Assert.Equal(0x5a, m.Pointer[0x1000]);
                Assert.Equal(0xa5, m.Pointer[Size - 1]);
            }
            // Without INIT_SHARED the pages start private: touching them through the mapping is a SIGBUS (seen on
            // 7.3.4: the runtime's AccessViolationException kills the process), so this only maps and binds.
            KvmCall.Ok(KvmCall.SetRegion(vm, 0, 0x400000, Size, m.Pointer, KvmConstants.KVM_MEM_GUEST_MEMFD, gmem),
                "KVM_SET_USER_MEMORY_REGION2(KVM_MEM_GUEST_MEMFD, MMAP gmem)");
        }
        finally
        {
            KvmCall.Close(gmem);
            KvmCall.Close(vm);
            KvmCall.Close(kvm);
        }
    }

    [Fact]
    public void Unknown_guest_memfd_flags_are_rejected()
    {
        Arm64Env.RequireArm64Kvm();
        int kvm = KvmCall.OpenKvm();
        int vm = KvmCall.CreateVm(kvm);
        try
        {
            Arm64Env.RequireMmapGuestMemfd(kvm);
            Assert.Equal(Errno.EINVAL, KvmCall.Fails(KvmCall.TryCreateGmem(vm, Size, 1UL << 63), "KVM_CREATE_GUEST_MEMFD(flags 1<<63)"));
            Assert.Equal(Errno.EINVAL, KvmCall.Fails(KvmCall.TryCreateGmem(vm, 0x1234, KvmConstants.GUEST_MEMFD_FLAG_MMAP), "KVM_CREATE_GUEST_MEMFD(size not page-aligned)"));
        }
        finally
        {
            KvmCall.Close(vm);
            KvmCall.Close(kvm);
        }
    }

    [Fact]
    public void No_memory_attributes_on_arm64()
    {
        Arm64Env.RequireArm64Kvm();
        int kvm = KvmCall.OpenKvm();
        int vm = KvmCall.CreateVm(kvm);
        try
        {
            // cap 233: no private/shared attributes, so no conversion; the x86 SW_PROTECTED story does not exist here
            Assert.Equal(0, KvmCall.Check(kvm, KvmCap.KVM_CAP_MEMORY_ATTRIBUTES));
            Assert.Equal(0, KvmCall.Check(vm, KvmCap.KVM_CAP_MEMORY_ATTRIBUTES));
        }
        finally
        {
            KvmCall.Close(vm);
            KvmCall.Close(kvm);
        }
    }

    [Fact]
    public void Kernel_without_guest_memfd_refuses_every_flag()
    {
        Arm64Env.RequireArm64Kvm();
        int kvm = KvmCall.OpenKvm();
        int vm = KvmCall.CreateVm(kvm);
        try
        {
            if (Arm64Env.ExpectGuestMemfd(KvmCall.Check(kvm, KvmCap.KVM_CAP_GUEST_MEMFD) > 0))
                Assert.Skip($"kernel {Arm64Env.KernelRelease} has guest_memfd (lane '{Arm64Env.Lane}'): this is the 6.12 check");
            Assert.Equal(0, KvmCall.Check(kvm, KvmCap.KVM_CAP_GUEST_MEMFD));
            Assert.Equal(0, KvmCall.Check(vm, KvmCap.KVM_CAP_GUEST_MEMFD));
            // read before the ioctls: file I/O between a failing call and KvmCall.Fails would overwrite the errno
            string release = Arm64Env.KernelRelease;
            foreach (ulong flags in new ulong[] { 0, KvmConstants.GUEST_MEMFD_FLAG_MMAP, KvmConstants.GUEST_MEMFD_FLAG_MMAP | KvmConstants.GUEST_MEMFD_FLAG_INIT_SHARED })
            {
                var e = KvmCall.Fails(KvmCall.TryCreateGmem(vm, Size, flags), $"KVM_CREATE_GUEST_MEMFD(flags 0x{flags:x}) on {release}");
                Assert.Equal(Errno.EINVAL, e);
            }
            Arm64Env.Record($"kernel {release}: KVM_CAP_GUEST_MEMFD 0, KVM_CREATE_GUEST_MEMFD EINVAL for flags 0/1/3");
        }
        finally
        {
            KvmCall.Close(vm);
            KvmCall.Close(kvm);
        }
    }
}
