using Kvm.Interop;

namespace Kvm;

public sealed partial class VmFd
{
    /// <summary>
    /// x86: <c>KVM_SET_TSS_ADDR</c>, the guest-physical address of the three pages Intel VMX without unrestricted
    /// guest uses to emulate real mode (AMD and unrestricted-guest VMX accept and ignore it). Give it an address no
    /// memslot and no device uses, below 4 GiB (QEMU uses 0xFFFBD000).
    /// </summary>
    /// <exception cref="NotSupportedException"><c>KVM_CAP_SET_TSS_ADDR</c> is 0 on this VM.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The three pages would not end below 4 GiB: the address is above
    /// 0xFFFFFFFF − 3 pages + 1 (EINVAL).</exception>
    /// <exception cref="KvmException">The kernel refused (EINVAL; EEXIST or ENOMEM from the private memslot VMX makes).</exception>
    /// <exception cref="ObjectDisposedException">The VM was disposed.</exception>
    public void SetTssAddress(ulong address)
    {
        if (!Capabilities.Has(KvmCap.KVM_CAP_SET_TSS_ADDR))
            throw new NotSupportedException("KVM_SET_TSS_ADDR needs KVM_CAP_SET_TSS_ADDR, which this VM does not report (x86 only)");
        var limit = (ulong)unchecked((uint)(-3 * Pages.Size));
        if (address > limit)
            Fail.Range(nameof(address), address, $"the TSS's three pages must lie below 4 GiB: address at most 0x{limit:X} (EINVAL)");
        var rc = VmIoctl(KvmIoctls.KVM_SET_TSS_ADDR.Value, (nint)address);
        if (rc < 0)
            Fail.Ioctl(rc, KvmIoctls.KVM_SET_TSS_ADDR.Name, KvmIoctls.KVM_SET_TSS_ADDR.Value, KvmFdKind.Vm, $"address 0x{address:X}");
    }

    /// <summary>
    /// x86: <c>KVM_SET_IDENTITY_MAP_ADDR</c>, the guest-physical page VMX without unrestricted guest uses for the
    /// identity page table of emulated real mode (default 0xFFFBC000, the page before QEMU's TSS). Must precede the
    /// first vCPU.
    /// </summary>
    /// <exception cref="NotSupportedException"><c>KVM_CAP_SET_IDENTITY_MAP_ADDR</c> is 0 on this VM.</exception>
    /// <exception cref="InvalidOperationException">A vCPU of this VM was already created (the kernel answers EINVAL,
    /// even after that vCPU was disposed).</exception>
    /// <exception cref="KvmException">The kernel refused (EINVAL, EFAULT).</exception>
    /// <exception cref="ObjectDisposedException">The VM was disposed.</exception>
    public unsafe void SetIdentityMapAddress(ulong address)
    {
        if (!Capabilities.Has(KvmCap.KVM_CAP_SET_IDENTITY_MAP_ADDR))
            throw new NotSupportedException("KVM_SET_IDENTITY_MAP_ADDR needs KVM_CAP_SET_IDENTITY_MAP_ADDR, which this VM does not report (x86 only)");
        if (HasCreatedVcpus)
            throw new InvalidOperationException(
                "KVM_SET_IDENTITY_MAP_ADDR must come before the VM's first KVM_CREATE_VCPU (the kernel answers EINVAL once a vCPU exists, even a disposed one)");
        // SAFETY: `address` is a u64 parameter on the stack; KVM_SET_IDENTITY_MAP_ADDR reads 8 bytes from it.
        var rc = VmIoctl(KvmIoctls.KVM_SET_IDENTITY_MAP_ADDR.Value, &address);
        if (rc < 0)
            Fail.Ioctl(rc, KvmIoctls.KVM_SET_IDENTITY_MAP_ADDR.Name, KvmIoctls.KVM_SET_IDENTITY_MAP_ADDR.Value, KvmFdKind.Vm, $"address 0x{address:X}");
    }
}
