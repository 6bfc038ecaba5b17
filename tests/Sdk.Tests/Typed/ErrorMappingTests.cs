using Kvm.Interop;

namespace Kvm.Tests.Typed;

/// <summary>Kernel refusals (scripted by the fake) become KvmException with errno, ioctl name/number and fd kind;
/// Try* forms return them as values.</summary>
public unsafe class ErrorMappingTests
{
    private static readonly ulong Page = (ulong)Environment.SystemPageSize;

    [Fact]
    public void CreateGuestMemfdFailureNamesIoctlErrnoAndFd()
    {
        var sys = new FakeSyscalls();
        sys.Handlers[KvmIoctls.KVM_CREATE_GUEST_MEMFD.Value] = (_, _, _) => -(int)Errno.ENOMEM;
        using var kvm = KvmSystem.OpenWith(sys);
        using var vm = kvm.CreateVm();
        var ex = Assert.Throws<KvmException>(() => vm.GuestMemfd!.Create(Page));
        Assert.Equal(Errno.ENOMEM, ex.Errno);
        Assert.Equal("ENOMEM", ex.ErrnoName);
        Assert.Equal("KVM_CREATE_GUEST_MEMFD", ex.Operation);
        Assert.Equal(KvmIoctls.KVM_CREATE_GUEST_MEMFD.Value, ex.Request);
        Assert.Equal(KvmFdKind.Vm, ex.FdKind);
        Assert.Contains("KVM_CREATE_GUEST_MEMFD (0xC040AED4) on the VM fd failed: ENOMEM", ex.Message);
        Assert.False(string.IsNullOrEmpty(ex.ErrnoMessage));

        var r = vm.GuestMemfd!.TryCreate(Page, 0, out var gmem);
        Assert.Equal(Errno.ENOMEM, r.Errno);
        Assert.Null(gmem);
    }

    [Fact]
    public void KernelMemslotRefusalIsAKvmException()
    {
        var sys = new FakeSyscalls();
        sys.Handlers[KvmIoctls.KVM_SET_USER_MEMORY_REGION2.Value] = (_, _, _) => -(int)Errno.EINVAL;
        using var kvm = KvmSystem.OpenWith(sys);
        using var vm = kvm.CreateVm();
        using var host = kvm.AllocateHostMemory(Page);
        var ex = Assert.Throws<KvmException>(() => vm.Memslots.Add(0, host));
        Assert.Equal(Errno.EINVAL, ex.Errno);
        Assert.Equal("KVM_SET_USER_MEMORY_REGION2", ex.Operation);
        Assert.Equal(0, vm.Memslots.Count);
        // The failed slot released its hold on the host memory: disposing unmaps at once.
        host.Dispose();
        Assert.Equal(1, sys.Count("munmap"));
    }

    [Fact]
    public void ARefusedCapabilityQuestionThrowsOrComesBackAsAValue()
    {
        // arm64 /dev/kvm answers KVM_CHECK_EXTENSION(KVM_CAP_MSI_DEVID) with EINVAL: only a VM can answer it.
        var sys = new FakeSyscalls();
        sys.Caps[(int)KvmCap.KVM_CAP_MSI_DEVID] = -(int)Errno.EINVAL;
        using var kvm = KvmSystem.OpenWith(sys);
        var ex = Assert.Throws<KvmException>(() => kvm.Capabilities.Check(KvmCap.KVM_CAP_MSI_DEVID));
        Assert.Equal(Errno.EINVAL, ex.Errno);
        Assert.Equal("KVM_CHECK_EXTENSION", ex.Operation);
        var refused = kvm.Capabilities.TryCheckRaw((int)KvmCap.KVM_CAP_MSI_DEVID, out var answer);
        Assert.Equal(Errno.EINVAL, refused.Errno);
        Assert.Equal(0, answer);
        Assert.True(kvm.Capabilities.TryCheckRaw((int)KvmCap.KVM_CAP_NR_MEMSLOTS, out answer).IsSuccess);
        Assert.Equal(32764, answer);
    }

    [Fact]
    public void OldKernelsUseTheV1MemslotIoctl()
    {
        var sys = new FakeSyscalls();
        sys.Caps[(int)KvmCap.KVM_CAP_USER_MEMORY2] = 0;
        using var kvm = KvmSystem.OpenWith(sys);
        using var vm = kvm.CreateVm();
        using var host = kvm.AllocateHostMemory(Page);
        using (vm.Memslots.Add(0, host))
            Assert.Equal(1, sys.Count($"ioctl 0x{(ulong)KvmIoctls.KVM_SET_USER_MEMORY_REGION.Value:X}"));
        Assert.Equal(2, sys.Count($"ioctl 0x{(ulong)KvmIoctls.KVM_SET_USER_MEMORY_REGION.Value:X}"));
    }

    [Fact]
    public void FallocateFailureIsASyscallException()
    {
        var sys = new FakeSyscalls { FallocateResult = (_, _, _, _) => -(int)Errno.ENOSPC };
        using var kvm = KvmSystem.OpenWith(sys);
        using var vm = kvm.CreateVm();
        using var gmem = vm.GuestMemfd!.Create(Page);
        var ex = Assert.Throws<KvmException>(() => gmem.Allocate(0, Page));
        Assert.False(ex.IsIoctl);
        Assert.Equal(KvmFdKind.GuestMemfd, ex.FdKind);
        Assert.StartsWith("fallocate", ex.Operation);
        Assert.Equal(Errno.ENOSPC, gmem.TryAllocate(0, Page).Errno);
    }

    [Fact]
    public void WrongApiVersionIsRefused()
    {
        var sys = new FakeSyscalls();
        sys.Handlers[KvmIoctls.KVM_GET_API_VERSION.Value] = (_, _, _) => 11;
        Assert.Throws<NotSupportedException>(() => KvmSystem.OpenWith(sys));
        Assert.Empty(sys.Open); // the fd was closed again
    }

    [Fact]
    public void MemoryFaultExitIsDecodedFromMinusOneEfault()
    {
        var sys = new FakeSyscalls();
        using var kvm = KvmSystem.OpenWith(sys);
        using var vm = kvm.CreateVm();
        using var vcpu = vm.CreateVcpu(0);
        sys.Handlers[KvmIoctls.KVM_RUN.Value] = (fd, _, _) =>
        {
            var run = (Interop.X86_64.kvm_run*)sys.Mappings[fd];
            run->exit_reason = (uint)KvmExit.KVM_EXIT_MEMORY_FAULT;
            run->memory_fault.gpa = 0x5000;
            run->memory_fault.size = Page;
            run->memory_fault.flags = (ulong)KvmMemoryExitFlags.KVM_MEMORY_EXIT_FLAG_PRIVATE;
            return -(int)Errno.EFAULT;
        };
        var exit = vcpu.Run();
        Assert.Equal(VcpuExitReason.MemoryFault, exit.Reason);
        Assert.Equal(0x5000UL, exit.MemoryFault.Gpa);
        Assert.True(exit.MemoryFault.IsPrivate);

        // EFAULT without the memory-fault exit reason is an error.
        sys.Handlers[KvmIoctls.KVM_RUN.Value] = (fd, _, _) =>
        {
            ((Interop.X86_64.kvm_run*)sys.Mappings[fd])->exit_reason = (uint)KvmExit.KVM_EXIT_UNKNOWN;
            return -(int)Errno.EFAULT;
        };
        var ex = Assert.Throws<KvmException>(() => vcpu.Run());
        Assert.Equal(KvmFdKind.Vcpu, ex.FdKind);
        Assert.Equal("KVM_RUN", ex.Operation);
    }

    [Fact]
    public void EagainFromRunReentersTheGuest()
    {
        // x86: a vCPU waiting for INIT/SIPI returns EAGAIN from KVM_RUN when an event woke it; Run enters again.
        var sys = new FakeSyscalls();
        using var kvm = KvmSystem.OpenWith(sys);
        using var vm = kvm.CreateVm();
        using var vcpu = vm.CreateVcpu(0);
        var calls = 0;
        sys.Handlers[KvmIoctls.KVM_RUN.Value] = (fd, _, _) =>
        {
            if (++calls < 3)
                return -(int)Errno.EAGAIN;
            ((Interop.X86_64.kvm_run*)sys.Mappings[fd])->exit_reason = (uint)KvmExit.KVM_EXIT_HLT;
            return 0;
        };
        Assert.Equal(VcpuExitReason.Hlt, vcpu.Run().Reason);
        Assert.Equal(3, calls);
    }

    [Fact]
    public void IoExitDataIsASpanIntoKvmRun()
    {
        var sys = new FakeSyscalls();
        using var kvm = KvmSystem.OpenWith(sys);
        using var vm = kvm.CreateVm();
        using var vcpu = vm.CreateVcpu(0);
        sys.Handlers[KvmIoctls.KVM_RUN.Value] = (fd, _, _) =>
        {
            var p = (byte*)sys.Mappings[fd];
            var run = (Interop.X86_64.kvm_run*)p;
            run->exit_reason = (uint)KvmExit.KVM_EXIT_IO;
            run->io.direction = 1;
            run->io.size = 1;
            run->io.port = 0x10;
            run->io.count = 1;
            run->io.data_offset = 4096;
            p[4096] = 0x4B;
            return 0;
        };
        var exit = vcpu.Run();
        Assert.Equal(VcpuExitReason.Io, exit.Reason);
        Assert.Equal(0x10, exit.Io.Port);
        Assert.Equal(0x4B, exit.Io.Data[0]);
        Assert.Throws<InvalidOperationException>(() => { _ = vcpu.Run().Mmio.Length; });
    }
}
