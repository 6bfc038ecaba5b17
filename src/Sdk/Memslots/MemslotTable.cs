using Kvm.Interop;
using Kvm.Syscalls;

namespace Kvm;

/// <summary>
/// The VM's memslots (<see cref="VmFd.Memslots"/>). Each <c>Add</c> checks what the kernel would reject — alignment,
/// overlap with a live slot (EEXIST), a guest_memfd range already bound, guest_memfd with <c>KVM_MEM_READONLY</c> or
/// <c>KVM_MEM_LOG_DIRTY_PAGES</c>, slot ids ≥ <c>KVM_CAP_NR_MEMSLOTS</c>, address spaces ≥
/// <c>KVM_CAP_MULTI_ADDRESS_SPACE</c> — and throws an <see cref="ArgumentException"/> naming the rule before the
/// ioctl; a refusal by the kernel itself is a <see cref="KvmException"/>. Thread-safe: slots can be added and deleted
/// from several threads (one lock covers the check, the ioctl and the table update). Adding, finding and deleting a
/// slot cost O(log n) in the number of live slots, with automatic ids too.
/// </summary>
public sealed partial class MemslotTable
{
    private readonly VmFd _vm;
    private readonly IKvmSyscalls _sys;
    private readonly object _gate = new();
    private readonly AddressSpaceSlots?[] _spaces;
    private int _count;
    private bool _closed;

    // Slots whose delete ioctl failed while the VM was being disposed: the kernel may still map their host memory and
    // guest_memfd, so they stay referenced for the life of the process (their HostMapping is never finalized, so
    // never unmapped; their guest_memfd reference is never dropped). A leak on purpose, and only on that failure.
    private static readonly List<SlotHandle> s_abandoned = new();

    internal MemslotTable(VmFd vm, IKvmSyscalls sys, int maxSlots, int addressSpaces, bool userMemory2, bool readonlyMem)
    {
        _vm = vm;
        _sys = sys;
        MaxSlots = maxSlots;
        AddressSpaces = addressSpaces;
        _spaces = new AddressSpaceSlots?[addressSpaces];
        UsesRegion2 = userMemory2;
        SupportsReadonly = readonlyMem;
    }

    /// <summary>Slot ids per address space: <c>KVM_CAP_NR_MEMSLOTS</c> on the VM.</summary>
    public int MaxSlots { get; }

    /// <summary>Address spaces: <c>KVM_CAP_MULTI_ADDRESS_SPACE</c> on the VM (1 when the kernel reports 0).</summary>
    public int AddressSpaces { get; }

    /// <summary>True when <c>KVM_CAP_USER_MEMORY2</c> is present and slots use <c>KVM_SET_USER_MEMORY_REGION2</c>;
    /// otherwise the v1 ioctl is used and guest_memfd slots are unavailable.</summary>
    public bool UsesRegion2 { get; }

    /// <summary><c>KVM_CAP_READONLY_MEM</c>: whether <c>KVM_MEM_READONLY</c> is accepted.</summary>
    public bool SupportsReadonly { get; }

    /// <summary>Live slots right now (a snapshot), by address space, then by guest-physical address.</summary>
    public IReadOnlyList<SlotHandle> Slots
    {
        get
        {
            lock (_gate)
                return _spaces.SelectMany(s => s?.ByGpa.Values ?? []).ToArray();
        }
    }

    /// <summary>Number of live slots.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
                return _count;
        }
    }

    /// <summary>Host memory only: <paramref name="size"/> bytes of <paramref name="memory"/> from
    /// <paramref name="memoryOffset"/> (0 = the rest of the mapping) at <paramref name="gpa"/>. A
    /// <see cref="GmemMapping"/> passed here is bound as the guest_memfd-only slot its own overload makes.</summary>
    /// <param name="gpa">Guest-physical address, page-aligned.</param>
    /// <param name="memory">SDK-owned host memory; kept mapped while the slot lives.</param>
    /// <param name="memoryOffset">Page-aligned offset into <paramref name="memory"/>.</param>
    /// <param name="size">Bytes, page-aligned; 0 = to the end of <paramref name="memory"/>.</param>
    /// <param name="flags"><c>KVM_MEM_LOG_DIRTY_PAGES</c> and/or <c>KVM_MEM_READONLY</c> (needs <c>KVM_CAP_READONLY_MEM</c>).</param>
    /// <param name="slot">Slot id, or null for the lowest free id.</param>
    /// <param name="addressSpace">Address-space id (x86: 1 = SMM).</param>
    /// <exception cref="ArgumentException">A rule is broken (message names it).</exception>
    /// <exception cref="KvmException">The kernel refused.</exception>
    public SlotHandle Add(ulong gpa, HostMapping memory, ulong memoryOffset = 0, ulong size = 0, KvmMemFlags flags = 0,
        int? slot = null, int addressSpace = 0)
    {
        ArgumentNullException.ThrowIfNull(memory);
        if (memory is GmemMapping gmemMapping)
        {
            // Reached through a HostMapping-typed reference: it is still a guest_memfd-only slot.
            if (flags != 0)
                Fail.Argument(nameof(flags), "a guest_memfd slot cannot be KVM_MEM_READONLY or KVM_MEM_LOG_DIRTY_PAGES (EINVAL)");
            return Add(gpa, gmemMapping, gmemMapping.GuestMemfdOffset + memoryOffset, size, slot, addressSpace);
        }
        if (size == 0 && memoryOffset < memory.Length)
            size = memory.Length - memoryOffset;
        CheckHostRange(memory, memoryOffset, size);
        return AddCore(gpa, size, flags, slot, addressSpace, memory, memoryOffset, (ulong)memory.AddressForSlot + memoryOffset, null, 0);
    }

    /// <summary>Host memory at a caller-owned address.</summary>
    /// <remarks><b>Safety:</b> <paramref name="userAddress"/> must be a page-aligned, read/write mapping of at least
    /// <paramref name="size"/> bytes that stays mapped until the slot is disposed; the guest reads and writes it.</remarks>
    /// <exception cref="ArgumentException">A rule is broken (message names it).</exception>
    /// <exception cref="KvmException">The kernel refused.</exception>
    public SlotHandle AddUserMemory(ulong gpa, nint userAddress, ulong size, KvmMemFlags flags = 0, int? slot = null, int addressSpace = 0)
    {
        Pages.RequireAligned((ulong)userAddress, nameof(userAddress), "userspace_addr");
        return AddCore(gpa, size, flags, slot, addressSpace, null, 0, (ulong)userAddress, null, 0);
    }

    /// <summary>A guest_memfd-only slot over a mapping of a <c>GUEST_MEMFD_FLAG_MMAP</c> guest_memfd (6.18+): the
    /// guest's memory is the guest_memfd, and <c>userspace_addr</c> is the same pages mapped, which KVM uses for
    /// emulated accesses. Covers <paramref name="size"/> bytes (0 = to the end of the mapping) from guest_memfd offset
    /// <paramref name="gmemOffset"/>, which must lie inside the mapping (0 = where the mapping starts, which for a
    /// whole-file mapping is offset 0).</summary>
    /// <exception cref="ArgumentException">A rule is broken (message names it).</exception>
    /// <exception cref="KvmException">The kernel refused.</exception>
    public SlotHandle Add(ulong gpa, GmemMapping mapping, ulong gmemOffset = 0, ulong size = 0, int? slot = null, int addressSpace = 0)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        var offset = gmemOffset == 0 ? mapping.GuestMemfdOffset : gmemOffset;
        if (offset < mapping.GuestMemfdOffset || offset - mapping.GuestMemfdOffset > mapping.Length)
            Fail.Range(nameof(gmemOffset), offset,
                $"guest_memfd offset 0x{offset:X} is outside the mapped window [0x{mapping.GuestMemfdOffset:X}, +0x{mapping.Length:X})");
        var inner = offset - mapping.GuestMemfdOffset;
        if (size == 0 && inner < mapping.Length)
            size = mapping.Length - inner;
        CheckHostRange(mapping, inner, size);
        return AddCore(gpa, size, 0, slot, addressSpace, mapping, inner, (ulong)mapping.AddressForSlot + inner,
            mapping.GuestMemfd, offset);
    }

    /// <summary>A guest_memfd slot: private memory from <paramref name="gmem"/> at <paramref name="gmemOffset"/>, and
    /// optionally shared memory from <paramref name="shared"/> at <paramref name="sharedOffset"/> (the classic CoCo
    /// layout, where the VM's memory attributes pick the side per page).</summary>
    /// <exception cref="ArgumentException">A rule is broken (message names it).</exception>
    /// <exception cref="KvmException">The kernel refused.</exception>
    public SlotHandle Add(ulong gpa, GmemFd gmem, ulong gmemOffset, ulong size, HostMapping? shared = null, ulong sharedOffset = 0,
        int? slot = null, int addressSpace = 0)
    {
        ArgumentNullException.ThrowIfNull(gmem);
        // Without private memory on this VM every access takes the shared side, userspace_addr; with neither that nor
        // a mappable guest_memfd the kernel accepts the slot and the first KVM_RUN fails to emulate.
        if (shared is null && !gmem.IsMappable && !_vm.SupportsPrivateMemory)
            Fail.Argument(nameof(shared),
                $"this {_vm.Type} VM has no private memory, so the guest reads and writes a guest_memfd slot's shared side " +
                "(userspace_addr): pass shared memory, or bind a GUEST_MEMFD_FLAG_MMAP guest_memfd through its mapping");
        ulong uaddr = 0;
        if (shared is not null)
        {
            CheckHostRange(shared, sharedOffset, size);
            uaddr = (ulong)shared.AddressForSlot + sharedOffset;
        }
        return AddCore(gpa, size, 0, slot, addressSpace, shared, sharedOffset, uaddr, gmem, gmemOffset);
    }

    /// <summary>Finds the live slot containing <paramref name="gpa"/> in <paramref name="addressSpace"/>.</summary>
    public SlotHandle? Find(ulong gpa, int addressSpace = 0)
    {
        if (addressSpace < 0 || addressSpace >= AddressSpaces)
            return null;
        lock (_gate)
            return _spaces[addressSpace]?.ByGpa.Find(gpa);
    }

    private static void CheckHostRange(HostMapping memory, ulong offset, ulong size)
    {
        Pages.RequireAligned(offset, nameof(offset), "host memory offset");
        if (offset > memory.Length || size > memory.Length - offset)
            Fail.Range(nameof(size), size, $"[0x{offset:X}, +0x{size:X}) is outside the {memory.Length}-byte host mapping");
    }

    private SlotHandle AddCore(ulong gpa, ulong size, KvmMemFlags flags, int? slot, int addressSpace,
        HostMapping? host, ulong hostOffset, ulong userspaceAddr, GmemFd? gmem, ulong gmemOffset)
    {
        Pages.RequireAligned(gpa, nameof(gpa), "guest_phys_addr");
        Pages.RequireNonZeroAligned(size, nameof(size), "memory_size");
        Pages.RequireNoWrap(gpa, size, nameof(size), "guest-physical range");
        if (size / (ulong)Pages.Size > int.MaxValue)
            Fail.Range(nameof(size), size, "a memslot is limited to 2^31-1 pages (KVM_MEM_MAX_NR_PAGES)");
        if (_vm.Type.IpaBits is { } ipa && ipa < 64 && gpa + size > 1UL << ipa)
            Fail.Range(nameof(size), size,
                $"[0x{gpa:X}, +0x{size:X}) ends beyond the {ipa}-bit guest-physical space of this {_vm.Type} VM (EFAULT)");
        var known = KvmMemFlags.KVM_MEM_LOG_DIRTY_PAGES | KvmMemFlags.KVM_MEM_READONLY;
        if ((flags & ~known) != 0)
            Fail.Argument(nameof(flags), $"memslot flags 0x{(uint)(flags & ~known):X} ({flags & ~known}) are not accepted here (KVM_MEM_GUEST_MEMFD is set by the guest_memfd overloads)");
        if (flags.HasFlag(KvmMemFlags.KVM_MEM_READONLY) && !SupportsReadonly)
            Fail.Argument(nameof(flags), "KVM_MEM_READONLY needs KVM_CAP_READONLY_MEM, which this VM does not report");
        if (addressSpace < 0 || addressSpace >= AddressSpaces)
            Fail.Range(nameof(addressSpace), addressSpace, $"address-space id must be below KVM_CAP_MULTI_ADDRESS_SPACE = {AddressSpaces}");
        if (slot is { } requested && (requested < 0 || requested >= MaxSlots))
            Fail.Range(nameof(slot), requested, $"slot id must be below KVM_CAP_NR_MEMSLOTS = {MaxSlots}");
        if (gmem is not null)
        {
            if (_vm.GuestMemfd is null)
                Fail.Argument(nameof(gmem), "this VM has no guest_memfd support (KVM_CAP_GUEST_MEMFD is 0 on the VM)");
            if (!UsesRegion2)
                Fail.Argument(nameof(gmem), "guest_memfd slots need KVM_SET_USER_MEMORY_REGION2 (KVM_CAP_USER_MEMORY2)");
            if (!ReferenceEquals(gmem.Vm, _vm))
                Fail.Argument(nameof(gmem), "a guest_memfd can only be bound to memslots of the VM that created it (EINVAL)");
            if (flags.HasFlag(KvmMemFlags.KVM_MEM_READONLY) || flags.HasFlag(KvmMemFlags.KVM_MEM_LOG_DIRTY_PAGES))
                Fail.Argument(nameof(flags), "a guest_memfd slot cannot be KVM_MEM_READONLY or KVM_MEM_LOG_DIRTY_PAGES (EINVAL)");
            if (_vm.Type.Architecture == VmArchitecture.Arm64 && !gmem.IsMappable)
                Fail.Argument(nameof(gmem), "arm64 accepts only guest_memfd-only slots, whose guest_memfd has GUEST_MEMFD_FLAG_MMAP (EINVAL)");
            Pages.RequireAligned(gmemOffset, nameof(gmemOffset), "guest_memfd_offset");
            if (gmemOffset > gmem.Size || size > gmem.Size - gmemOffset)
                Fail.Range(nameof(size), size, $"guest_memfd_offset + memory_size passes the end of the {gmem.Size}-byte guest_memfd (EINVAL)");
            flags |= KvmMemFlags.KVM_MEM_GUEST_MEMFD;
        }

        var region = default(kvm_userspace_memory_region2);
        region.flags = (uint)flags;
        region.guest_phys_addr = gpa;
        region.memory_size = size;
        region.userspace_addr = userspaceAddr;
        region.guest_memfd_offset = gmem is null ? 0 : gmemOffset;

        lock (_gate)
        {
            if (_closed)
                throw new ObjectDisposedException(nameof(VmFd));
            var space = _spaces[addressSpace] ??= new AddressSpaceSlots(MaxSlots);
            var id = slot ?? space.Ids.LowestFree
                ?? throw new InvalidOperationException($"all {MaxSlots} slot ids (KVM_CAP_NR_MEMSLOTS) of address space {addressSpace} are in use");
            if (space.ById.TryGetValue(id, out var sameId))
                Fail.Argument(nameof(slot), $"slot {addressSpace}:{id} is in use ({sameId}); dispose it first (the SDK never modifies a slot in place)");
            if (space.ByGpa.FindOverlap(gpa, gpa + size) is { } overlapping)
                Fail.Argument(nameof(gpa), $"[0x{gpa:X}, 0x{gpa + size:X}) overlaps {overlapping} (the kernel answers EEXIST)");
            if (gmem?.FindBindingOverlap(gmemOffset, size) is { } bound)
                Fail.Argument(nameof(gmemOffset), $"guest_memfd range [0x{gmemOffset:X}, 0x{gmemOffset + size:X}) is already bound to {bound} (EINVAL before 7.2, EEXIST since)");
            region.slot = ((uint)addressSpace << 16) | (uint)id;

            var handle = new SlotHandle(this, region, gmem, host, hostOffset);
            var gmemRef = false;
            var hostHold = false;
            try
            {
                if (gmem is not null)
                {
                    gmem.Fd.Handle.DangerousAddRef(ref gmemRef);
                    handle.Region.guest_memfd = (uint)gmem.Fd.Handle.Fd;
                }
                if (host is not null)
                {
                    host.AddSlotHold();
                    hostHold = true;
                }
                Set(handle.Region);
                gmem?.AddBinding(gmemOffset, size, handle);
                space.Add(handle);
                _count++;
                return handle;
            }
            catch (ObjectDisposedException) when (gmem is not null && !gmemRef)
            {
                if (hostHold)
                    host!.ReleaseSlotHold();
                throw new ObjectDisposedException(nameof(GmemFd));
            }
            catch
            {
                if (gmemRef)
                    gmem!.Fd.Handle.DangerousRelease();
                if (hostHold)
                    host!.ReleaseSlotHold();
                throw;
            }
        }
    }

    private unsafe void Set(in kvm_userspace_memory_region2 region)
    {
        var h = _vm.Fd.Enter();
        try
        {
            int rc;
            string name;
            nuint request;
            if (UsesRegion2)
            {
                (name, request) = (KvmIoctls.KVM_SET_USER_MEMORY_REGION2.Name, KvmIoctls.KVM_SET_USER_MEMORY_REGION2.Value);
                // SAFETY: `region` is a readonly ref to a fully initialised 160-byte struct; the kernel only reads it.
                fixed (kvm_userspace_memory_region2* p = &region)
                    rc = _sys.Ioctl(h.Fd, request, p);
            }
            else
            {
                (name, request) = (KvmIoctls.KVM_SET_USER_MEMORY_REGION.Name, KvmIoctls.KVM_SET_USER_MEMORY_REGION.Value);
                var v1 = new kvm_userspace_memory_region
                {
                    slot = region.slot,
                    flags = region.flags,
                    guest_phys_addr = region.guest_phys_addr,
                    memory_size = region.memory_size,
                    userspace_addr = region.userspace_addr,
                };
                // SAFETY: `v1` is a stack local of the 32-byte v1 layout; the kernel only reads it.
                rc = _sys.Ioctl(h.Fd, request, &v1);
            }
            if (rc < 0)
                Fail.Ioctl(rc, name, request, KvmFdKind.Vm,
                    $"slot {region.slot >> 16}:{region.slot & 0xFFFF}, gpa 0x{region.guest_phys_addr:X}, size 0x{region.memory_size:X}");
        }
        finally
        {
            _vm.Fd.Exit();
        }
    }

    internal void Delete(SlotHandle slot, bool throwOnError)
    {
        lock (_gate)
        {
            if (slot.IsDeleted)
                return;
            // pKVM refuses to delete or move a protected VM's memslots once it has run (EPERM): such a slot stays
            // registered, its memory held, until the VM is disposed.
            bool frozen = _vm.Type.IsArm64Protected && _vm.HasRun;
            if (frozen && throwOnError)
                return;
            // The slot's host memory and guest_memfd are released only after a successful delete ioctl. A closed VM
            // fd alone proves nothing: vCPU and guest_memfd fds keep the kernel VM, and its slots, alive. Frozen pKVM
            // slots keep their earlier rule: released in Close(), just before the VM fd closes.
            var mayRelease = frozen;
            if (!frozen && !_vm.Fd.IsClosed)
            {
                var region = slot.Region;
                region.memory_size = 0;
                try
                {
                    Set(region);
                    mayRelease = true;
                }
                catch (Exception) when (!throwOnError)
                {
                    // VM disposal goes on; the slot is abandoned below.
                }
            }
            slot.IsDeleted = true;
            _spaces[slot.AddressSpace]!.Remove(slot);
            _count--;
            if (!mayRelease)
            {
                // The kernel may still map this memory for the guest: unmapping it (or closing the guest_memfd) would
                // let a later mmap at the same address become guest memory. Keep both, and the guest_memfd binding,
                // for the life of the process.
                lock (s_abandoned)
                    s_abandoned.Add(slot);
                return;
            }
            if (slot.GuestMemfd is { } g)
            {
                g.RemoveBinding(slot);
                g.Fd.Handle.DangerousRelease();
            }
            slot.HostMemory?.ReleaseSlotHold();
        }
    }

    /// <summary>Deletes every slot (VM disposal).</summary>
    internal void Close()
    {
        lock (_gate)
        {
            foreach (var s in Slots)
                Delete(s, throwOnError: false);
            _closed = true;
        }
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// A VM dropped without Dispose (#18 finding 5: its bound guest_memfd kept the kernel VM, and all its memory, alive
    /// for the life of the process). Nothing can run its guest any more — a thread inside <see cref="VcpuFd.Run"/>
    /// keeps the vCPU and so its VM reachable — so the slots' holds go: each guest_memfd reference is released (the
    /// kernel invalidates the bindings of a closed guest_memfd, and the kernel VM goes with its last fd), and host
    /// memory is unmapped once its own owner is gone too.
    /// </summary>
    ~MemslotTable()
    {
        foreach (var slot in Slots)
        {
            if (slot.IsDeleted)
                continue;
            slot.IsDeleted = true;
            if (slot.GuestMemfd is { } g)
            {
                g.RemoveBinding(slot);
                g.Fd.Handle.DangerousRelease();
            }
            slot.HostMemory?.ReleaseSlotHold();
        }
    }
}
