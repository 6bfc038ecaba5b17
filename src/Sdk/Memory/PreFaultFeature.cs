using Kvm.Interop;

namespace Kvm;

/// <summary>
/// <c>KVM_PRE_FAULT_MEMORY</c> (6.10+) for one VM (<see cref="VmFd.PreFault"/>): exists only when
/// <c>KVM_CHECK_EXTENSION(KVM_CAP_PRE_FAULT_MEMORY)</c> on the VM is non-zero (x86 reports it only with two-dimensional
/// paging, TDP; shadow-paging hosts answer 0). Populates the stage-2 page tables for a guest-physical range through
/// a vCPU, as if the guest had touched each page, so the guest's first accesses do not fault.
/// </summary>
public sealed class PreFaultFeature
{
    private readonly VmFd _vm;

    internal PreFaultFeature(VmFd vm) => _vm = vm;

    /// <summary>Maps [<paramref name="gpa"/>, + <paramref name="size"/>) through <paramref name="vcpu"/> with
    /// <c>KVM_PRE_FAULT_MEMORY</c>, calling again after partial progress (the kernel advances <c>gpa</c> and shrinks
    /// <c>size</c> and answers 0 when at least a page was mapped, or EINTR/EAGAIN when interrupted) until the range is
    /// done.</summary>
    /// <exception cref="ArgumentException">Not page-aligned, empty, wrapping (EINVAL), or a vCPU of another VM.</exception>
    /// <exception cref="KvmException">The kernel stopped: ENOENT where no memslot covers a page, EOPNOTSUPP where the
    /// VM cannot pre-fault, EFAULT, ENOMEM… The message says how many bytes were mapped before.</exception>
    public void PreFaultMemory(VcpuFd vcpu, ulong gpa, ulong size)
    {
        var r = TryPreFaultMemory(vcpu, gpa, size, out var mapped);
        if (!r.IsSuccess)
            Fail.Ioctl(-(int)r.Errno, KvmIoctls.KVM_PRE_FAULT_MEMORY.Name, KvmIoctls.KVM_PRE_FAULT_MEMORY.Value, KvmFdKind.Vcpu,
                $"[0x{gpa:X}, +0x{size:X}): stopped at 0x{gpa + mapped:X} after 0x{mapped:X} bytes" +
                (r.Errno == Errno.ENOENT ? " (no memslot covers that page)" : ""));
    }

    /// <summary><see cref="PreFaultMemory"/> returning the kernel's refusal as a value, with
    /// <paramref name="mapped"/> = bytes from <paramref name="gpa"/> that were mapped before it stopped (the whole size
    /// on success). EINTR and EAGAIN are retried, up to 1000 times without progress.</summary>
    public unsafe KvmResult TryPreFaultMemory(VcpuFd vcpu, ulong gpa, ulong size, out ulong mapped)
    {
        ArgumentNullException.ThrowIfNull(vcpu);
        mapped = 0;
        if (!ReferenceEquals(vcpu.Vm, _vm))
            Fail.Argument(nameof(vcpu), "KVM_PRE_FAULT_MEMORY maps memory of the vCPU's own VM: pass a vCPU of this VM");
        Pages.RequireAligned(gpa, nameof(gpa), "KVM_PRE_FAULT_MEMORY gpa (EINVAL)");
        Pages.RequireNonZeroAligned(size, nameof(size), "KVM_PRE_FAULT_MEMORY size (EINVAL)");
        if (gpa + size <= gpa)
            Fail.Range(nameof(size), size, "KVM_PRE_FAULT_MEMORY: gpa + size wraps around 2^64 (EINVAL)");
        var range = new kvm_pre_fault_memory { gpa = gpa, size = size };
        var stalls = 0;
        while (true)
        {
            // SAFETY: `range` is a zero-initialised stack local of the 64-byte layout (flags and padding 0); the kernel
            // reads it and writes back gpa/size.
            var rc = vcpu.VcpuIoctl(KvmIoctls.KVM_PRE_FAULT_MEMORY.Value, &range);
            var progressed = range.gpa - gpa > mapped;
            mapped = range.gpa - gpa;
            if (rc >= 0 && range.size == 0)
                return KvmResult.Success;
            if (rc >= 0 || (Errno)(-rc) is Errno.EINTR or Errno.EAGAIN)
            {
                stalls = progressed ? 0 : stalls + 1;
                if (stalls < 1000)
                    continue;
                return new KvmResult(rc < 0 ? (Errno)(-rc) : Errno.EAGAIN);
            }
            return new KvmResult((Errno)(-rc));
        }
    }
}
