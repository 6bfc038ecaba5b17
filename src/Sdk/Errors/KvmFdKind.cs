namespace Kvm;

/// <summary>Which kind of file descriptor a failed call was issued on; part of every <see cref="KvmException"/>.</summary>
public enum KvmFdKind
{
    /// <summary>No fd (for example <c>open</c> of the device node, or an anonymous <c>mmap</c>).</summary>
    None,
    /// <summary>The system fd: <c>/dev/kvm</c>.</summary>
    System,
    /// <summary>A VM fd from <c>KVM_CREATE_VM</c>.</summary>
    Vm,
    /// <summary>A vCPU fd from <c>KVM_CREATE_VCPU</c>.</summary>
    Vcpu,
    /// <summary>A guest_memfd fd from <c>KVM_CREATE_GUEST_MEMFD</c>.</summary>
    GuestMemfd,
    /// <summary>A memfd from <c>memfd_create</c> (<see cref="MemfdMemory"/>).</summary>
    Memfd,
    /// <summary>A regular or hugetlbfs file mapped as host memory (<see cref="FileMapping"/>).</summary>
    File,
    /// <summary>An eventfd the SDK created for an irqfd or ioeventfd (<c>eventfd(2)</c>).</summary>
    EventFd,
    /// <summary>A device fd from <c>KVM_CREATE_DEVICE</c>.</summary>
    Device,
    /// <summary>A binary stats fd from <c>KVM_GET_STATS_FD</c>.</summary>
    Stats,
}
