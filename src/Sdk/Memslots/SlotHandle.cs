using Kvm.Interop;

namespace Kvm;

/// <summary>
/// One memslot registered with <c>KVM_SET_USER_MEMORY_REGION2</c> (or v1 on kernels without
/// <c>KVM_CAP_USER_MEMORY2</c>), owned: <see cref="Dispose"/> deletes it (<c>memory_size = 0</c>). While it lives it
/// keeps its guest_memfd fd open (see <see cref="GmemFd"/>) and its host mapping mapped, whatever the user disposed.
/// </summary>
public sealed partial class SlotHandle : IDisposable
{
    private readonly MemslotTable _table;

    internal MemslotTable Table => _table;
    internal kvm_userspace_memory_region2 Region;

    internal SlotHandle(MemslotTable table, in kvm_userspace_memory_region2 region, GmemFd? gmem, HostMapping? host, ulong hostOffset)
    {
        _table = table;
        Region = region;
        GuestMemfd = gmem;
        HostMemory = host;
        HostMemoryOffset = hostOffset;
    }

    /// <summary>The slot id (bits 15:0 of <c>kvm_userspace_memory_region2.slot</c>).</summary>
    public int Id => (int)(Region.slot & 0xFFFF);

    /// <summary>The address-space id (bits 31:16 of <c>slot</c>; x86 SMM uses 1).</summary>
    public int AddressSpace => (int)(Region.slot >> 16);

    /// <summary>First guest-physical address.</summary>
    public ulong GuestPhysicalAddress => Region.guest_phys_addr;

    /// <summary>Bytes covered.</summary>
    public ulong Size => Region.memory_size;

    /// <summary>The slot's flags (<c>KVM_MEM_GUEST_MEMFD</c> is set by the SDK for guest_memfd slots).</summary>
    public KvmMemFlags Flags => (KvmMemFlags)Region.flags;

    /// <summary>The guest_memfd backing the private side, or null.</summary>
    public GmemFd? GuestMemfd { get; }

    /// <summary>Offset of the slot's first byte in <see cref="GuestMemfd"/>.</summary>
    public ulong GuestMemfdOffset => Region.guest_memfd_offset;

    /// <summary>The SDK-owned host memory (anonymous or guest_memfd mapping) at <c>userspace_addr</c>, or null (user
    /// pointer or no host memory).</summary>
    public HostMapping? HostMemory { get; }

    /// <summary>Offset of the slot's first byte in <see cref="HostMemory"/>.</summary>
    public ulong HostMemoryOffset { get; }

    /// <summary>True once deleted (disposed, or its VM disposed).</summary>
    public bool IsDeleted { get; internal set; }

    /// <summary>True when <paramref name="gpa"/> falls inside the slot.</summary>
    public bool Contains(ulong gpa) => gpa >= GuestPhysicalAddress && gpa - GuestPhysicalAddress < Size;

    /// <summary>Deletes the memslot (<c>KVM_SET_USER_MEMORY_REGION2</c> with <c>memory_size = 0</c>) and releases its
    /// guest_memfd and host memory. Idempotent. In an arm64 protected VM (<see cref="VmType.Arm64Protected"/>) that
    /// has run, pKVM refuses deletions (EPERM), so the slot stays, with its memory, until the VM is disposed.</summary>
    /// <exception cref="KvmException">The kernel refused the deletion (the slot stays registered).</exception>
    public void Dispose() => _table.Delete(this, throwOnError: true);

    /// <inheritdoc />
    public override string ToString() =>
        $"slot {AddressSpace}:{Id} [0x{GuestPhysicalAddress:X}, 0x{GuestPhysicalAddress + Size:X})" +
        (GuestMemfd is null ? "" : $" gmem+0x{GuestMemfdOffset:X}");
}
