using System.Diagnostics.CodeAnalysis;
using Kvm.Interop;
using Kvm.Syscalls;

namespace Kvm;

/// <summary>
/// An owned VM fd (<c>KVM_CREATE_VM</c>, close-on-exec). Features exist as non-null properties only when the kernel
/// said yes for this VM: <see cref="GuestMemfd"/>, <see cref="MemoryAttributes"/>, <see cref="Conversion"/>, and the
/// experimental in-place conversions.
/// </summary>
/// <remarks>
/// <b>Lifetime.</b> <see cref="Dispose"/> stops and disposes the VM's vCPUs (kicking any that is inside
/// <see cref="VcpuFd.Run"/> and waiting for it), deassigns and closes the irqfds and ioeventfds still registered,
/// deletes every memslot still registered (releasing their guest_memfd and host-memory holds) and closes the VM fd. A
/// slot whose deletion the kernel refuses keeps its holds for the life of the process: the kernel may still map that
/// memory, so the SDK never unmaps or closes it. The kernel keeps the VM itself alive while a guest_memfd fd holds a
/// reference, so <see cref="GmemFd"/> objects stay usable after their VM's Dispose; VM-fd operations (new slots,
/// attributes, new vCPUs) throw <see cref="ObjectDisposedException"/>.
/// </remarks>
public sealed unsafe partial class VmFd : IDisposable
{
    private readonly IKvmSyscalls _sys;
    private IGuestMemoryConversion? _inPlaceV8;
    private IGuestMemoryConversion? _inPlaceRfcV2;
    private bool _inPlaceV8Probed;
    private bool _inPlaceRfcV2Probed;

    internal VmFd(KvmSystem system, KvmFdHandle handle, VmType type)
    {
        System = system;
        Type = type;
        _sys = system.Syscalls;
        Fd = new SafeHandleRef(handle, nameof(VmFd));
        var perVm = system.Capabilities.Has(KvmCap.KVM_CAP_CHECK_EXTENSION_VM);
        Capabilities = perVm
            ? new KvmCapabilities(Fd, _sys, CapabilityScope.Vm)
            : new KvmCapabilities(system.Fd, _sys, CapabilityScope.SystemFallback);

        if (Capabilities.Has(KvmCap.KVM_CAP_GUEST_MEMFD))
            GuestMemfd = new GuestMemfdFeature(this, (GuestMemfdFlags)Capabilities.CheckMask(KvmCap.KVM_CAP_GUEST_MEMFD_FLAGS));
        var attrs = (KvmMemoryAttributes)Capabilities.CheckMask(KvmCap.KVM_CAP_MEMORY_ATTRIBUTES);
        if (attrs != 0)
            MemoryAttributes = new MemoryAttributesFeature(this, _sys, attrs);
        if (MemoryAttributes?.SupportsPrivate == true)
            Conversion = new VmAttributeConversion(MemoryAttributes);

        var nrSlots = Capabilities.Check(KvmCap.KVM_CAP_NR_MEMSLOTS);
        var spaces = Capabilities.Check(KvmCap.KVM_CAP_MULTI_ADDRESS_SPACE);
        Memslots = new MemslotTable(this, _sys, nrSlots > 0 ? Math.Min(nrSlots, 0x10000) : 32, Math.Max(spaces, 1),
            Capabilities.Has(KvmCap.KVM_CAP_USER_MEMORY2), Capabilities.Has(KvmCap.KVM_CAP_READONLY_MEM));
        InitInterruptsAndDevices();
    }

    internal SafeHandleRef Fd { get; }

    private readonly HashSet<VcpuFd> _vcpus = new();
    private bool _closing; // under _vcpus: Dispose has begun, no new vCPU joins

    internal void ForgetVcpu(VcpuFd vcpu)
    {
        lock (_vcpus)
            _vcpus.Remove(vcpu);
    }

    // Set by the first KVM_RUN of any of its vCPUs: pKVM freezes a protected VM's memslots from then on.
    private bool _hasRun;

    internal bool HasRun => Volatile.Read(ref _hasRun);

    internal void MarkRun() => Volatile.Write(ref _hasRun, true);

    /// <summary>The system that created the VM.</summary>
    public KvmSystem System { get; }

    /// <summary>True when some page of this VM can be private: the VM's memory attributes include
    /// <c>KVM_MEMORY_ATTRIBUTE_PRIVATE</c>, or the proposed in-place conversion says so. Where this is false the
    /// kernel treats every page as shared: a guest_memfd slot's guest accesses go to its <c>userspace_addr</c> unless
    /// the guest_memfd is mappable (<c>GUEST_MEMFD_FLAG_MMAP</c>, a guest_memfd-only slot).</summary>
    public bool SupportsPrivateMemory
    {
        get
        {
#pragma warning disable KVMEXP001 // asked only to know whether pages can be private
            return MemoryAttributes?.SupportsPrivate == true || InPlaceConversionV8 is not null;
#pragma warning restore KVMEXP001
        }
    }

    /// <summary>The machine type the VM was created with.</summary>
    public VmType Type { get; }

    /// <summary>True after <see cref="Dispose"/>.</summary>
    public bool IsDisposed => Fd.IsClosed;

    /// <summary><c>KVM_CHECK_EXTENSION</c> on this VM's fd (or on <c>/dev/kvm</c> when the kernel lacks
    /// <c>KVM_CAP_CHECK_EXTENSION_VM</c>; see <see cref="KvmCapabilities.Scope"/>).</summary>
    public KvmCapabilities Capabilities { get; }

    /// <summary>guest_memfd for this VM; null when <c>KVM_CAP_GUEST_MEMFD</c> is 0 on the VM (kernels before 6.8; 6.8–6.17
    /// for VMs without private memory).</summary>
    public GuestMemfdFeature? GuestMemfd { get; }

    /// <summary>VM-level memory attributes; null unless <c>KVM_CAP_MEMORY_ATTRIBUTES</c> is non-zero on this VM.</summary>
    public MemoryAttributesFeature? MemoryAttributes { get; }

    /// <summary>Private/shared conversion through the mainline VM-level attributes (<c>KVM_SET_MEMORY_ATTRIBUTES</c>);
    /// null unless the VM supports <c>KVM_MEMORY_ATTRIBUTE_PRIVATE</c>.</summary>
    public IGuestMemoryConversion? Conversion { get; }

    /// <summary>The VM's memslots.</summary>
    public MemslotTable Memslots { get; }

    /// <summary>
    /// PROPOSED (in-place conversion v8, not merged): conversion with <c>KVM_SET_MEMORY_ATTRIBUTES2</c> on the
    /// guest_memfd fd. Non-null only when the ABI table passed to <see cref="KvmSystem.Open"/> defines
    /// <c>KVM_SET_MEMORY_ATTRIBUTES2</c> and <c>KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES</c>, and that capability — asked on
    /// this VM by the number in the table — reports <c>KVM_MEMORY_ATTRIBUTE_PRIVATE</c>. The numbers come only from the
    /// table (they changed in every revision; 250 is <c>KVM_CAP_PPC_COMPAT_CAPS</c> in released 7.3 headers).
    /// Errors follow the posting: EAGAIN with <c>error_offset</c> when a page is still referenced, EINVAL for bad
    /// ranges, ENOTTY when in-place conversion is disabled.
    /// </summary>
    /// <remarks>This property trusts the capability number alone; <see cref="InPlaceConversion"/> also checks the module
    /// parameter and the ioctl itself (a colliding number on a released kernel cannot turn it on) and serves v7 too.</remarks>
    /// <exception cref="NotSupportedException">The table's ioctl encodes a struct size other than the 128 bytes of v8.</exception>
    [Experimental("KVMEXP001", UrlFormat = "docs/diagnostics/{0}.md",
        Message = "In-place guest_memfd conversion follows the unmerged posting [PATCH v8 00/46] guest_memfd: In-place conversion support (2026-06-18); its ABI can change before merge")]
    public IGuestMemoryConversion? InPlaceConversionV8
    {
        get
        {
            if (!_inPlaceV8Probed)
            {
                var abi = System.Abi;
                if (ProposedAbi.Ioctl(abi, ProposedAbi.Attributes2Ioctl, sizeof(KvmMemoryAttributes2)) is { } request &&
                    ProposedAbi.Cap(abi, ProposedAbi.Attributes2Cap) is { } cap &&
                    (Capabilities.CheckRaw(cap) & (int)KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE) != 0)
                    _inPlaceV8 = new Attributes2Conversion(this, _sys, request);
                _inPlaceV8Probed = true;
            }
            return _inPlaceV8;
        }
    }

    /// <summary>
    /// PROPOSED AND ABANDONED (1G-page RFC v2, May 2025): conversion with <c>KVM_GMEM_CONVERT_SHARED/PRIVATE</c> on the
    /// guest_memfd fd. Non-null only when the ABI table defines both ioctls and <c>KVM_CAP_GMEM_CONVERSION</c>, and that
    /// capability, asked on this VM by the table's number, is non-zero. Beware: that number (241) is
    /// <c>KVM_CAP_ARM_EL2_E2H0</c> in released headers, so on a released arm64 kernel the probe can say yes and the
    /// ioctl then fails with ENOTTY. For tests of the SDK's backend selection only.
    /// </summary>
    /// <exception cref="NotSupportedException">The table's ioctls encode a struct size other than 64 bytes.</exception>
    [Experimental("KVMEXP002", UrlFormat = "docs/diagnostics/{0}.md",
        Message = "KVM_GMEM_CONVERT_SHARED/PRIVATE follow the abandoned posting [RFC PATCH v2 00/51] 1G page support for guest_memfd (2025-05-14); no kernel will ship this ABI")]
    public IGuestMemoryConversion? InPlaceConversionRfcV2
    {
        get
        {
            if (!_inPlaceRfcV2Probed)
            {
                var abi = System.Abi;
                if (ProposedAbi.Ioctl(abi, ProposedAbi.ConvertSharedIoctl, sizeof(KvmGmemConvert)) is { } toShared &&
                    ProposedAbi.Ioctl(abi, ProposedAbi.ConvertPrivateIoctl, sizeof(KvmGmemConvert)) is { } toPrivate &&
                    ProposedAbi.Cap(abi, ProposedAbi.ConvertCap) is { } cap &&
                    Capabilities.CheckRaw(cap) > 0)
                    _inPlaceRfcV2 = new GmemConvertRfcV2Conversion(this, _sys, toShared, toPrivate);
                _inPlaceRfcV2Probed = true;
            }
            return _inPlaceRfcV2;
        }
    }

    /// <summary><c>KVM_CREATE_VCPU(id)</c>, then maps its kvm_run (<c>KVM_GET_VCPU_MMAP_SIZE</c> bytes, shared).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is negative or not below
    /// <c>KVM_CAP_MAX_VCPU_ID</c> (when the kernel reports it).</exception>
    /// <exception cref="KvmException">The ioctl (EEXIST: id in use; EINVAL) or mmap failed.</exception>
    /// <exception cref="ObjectDisposedException">The VM was disposed.</exception>
    public VcpuFd CreateVcpu(int id)
    {
        var maxId = Capabilities.Check(KvmCap.KVM_CAP_MAX_VCPU_ID);
        if (id < 0 || (maxId > 0 && id >= maxId))
            Fail.Range(nameof(id), id, $"vCPU id must be 0..{(maxId > 0 ? maxId - 1 : int.MaxValue)} (KVM_CAP_MAX_VCPU_ID)");
        var size = System.VcpuMmapSize;
        var h = Fd.Enter();
        try
        {
            var fd = _sys.Ioctl(h.Fd, KvmIoctls.KVM_CREATE_VCPU.Value, (nint)id);
            if (fd < 0)
                Fail.Ioctl(fd, KvmIoctls.KVM_CREATE_VCPU.Name, KvmIoctls.KVM_CREATE_VCPU.Value, KvmFdKind.Vm, $"id {id}");
            var handle = new KvmFdHandle(fd, _sys, KvmFdKind.Vcpu);
            var run = RunMappingArena.For(_sys).Map(fd, (nuint)size, out var errno);
            if (run == null)
            {
                handle.Dispose();
                Fail.Syscall(-errno, "mmap", KvmFdKind.Vcpu, "mapping kvm_run");
            }
            handle.TiedMapping = run;
            handle.TiedMappingLength = (nuint)size;
            byte* ring = null;
            var ringBytes = DirtyRing?.Bytes ?? 0;
            if (ringBytes != 0)
            {
                // The dirty ring sits KVM_DIRTY_LOG_PAGE_OFFSET pages into the vCPU fd; mapped like kvm_run, so it is
                // retired to zero pages (never unmapped) when the fd is released.
                ring = RunMappingArena.For(_sys).Map(fd, (nuint)ringBytes, out errno,
                    (long)KvmConstants.KVM_DIRTY_LOG_PAGE_OFFSET * Pages.Size);
                if (ring == null)
                {
                    handle.Dispose();
                    Fail.Syscall(-errno, "mmap", KvmFdKind.Vcpu, $"mapping the {ringBytes}-byte dirty ring at KVM_DIRTY_LOG_PAGE_OFFSET");
                }
                handle.TiedRing = ring;
                handle.TiedRingLength = (nuint)ringBytes;
            }
            var vcpu = new VcpuFd(this, id, handle, _sys, run, size, System.Options);
            if (ring != null)
                vcpu.AttachDirtyRing(ring, ringBytes / sizeof(kvm_dirty_gfn));
            bool joined;
            lock (_vcpus)
                joined = !_closing && _vcpus.Add(vcpu);
            if (!joined)
            {
                vcpu.Dispose();
                throw new ObjectDisposedException(nameof(VmFd));
            }
            return vcpu;
        }
        finally
        {
            Fd.Exit();
        }
    }

    internal KvmResult CreateGuestMemfdCore(ulong size, GuestMemfdFlags flags, out GmemFd? gmem)
    {
        gmem = null;
        var arg = new kvm_create_guest_memfd { size = size, flags = (ulong)flags };
        var h = Fd.Enter();
        try
        {
            // SAFETY: `arg` is a zero-initialised stack local of the 64-byte layout (reserved zero); the kernel reads it.
            var fd = _sys.Ioctl(h.Fd, KvmIoctls.KVM_CREATE_GUEST_MEMFD.Value, &arg);
            if (fd < 0)
                return new KvmResult((Errno)(-fd));
            var handle = new KvmFdHandle(fd, _sys, KvmFdKind.GuestMemfd);
            try
            {
                // The kernel creates guest_memfd fds without O_CLOEXEC (get_unused_fd_flags(0)).
                var rc = _sys.SetCloexec(fd);
                if (rc < 0)
                    Fail.Syscall(rc, "fcntl(F_SETFD, FD_CLOEXEC)", KvmFdKind.GuestMemfd);
                gmem = new GmemFd(this, handle, _sys, size, flags);
                return KvmResult.Success;
            }
            catch
            {
                handle.Dispose();   // whatever failed after the kernel made the file, the fd goes now, not at a GC
                throw;
            }
        }
        finally
        {
            Fd.Exit();
        }
    }

    /// <summary>Stops and disposes the vCPUs, deletes the remaining memslots and closes the VM fd (see the remarks
    /// on lifetime).</summary>
    public void Dispose()
    {
        VcpuFd[] vcpus;
        lock (_vcpus)
        {
            if (_closing)
                return;
            _closing = true;
            vcpus = _vcpus.ToArray();
        }
        // Guests stop before their memory goes: slots are deleted with the VM fd still open, then it closes.
        foreach (var v in vcpus)
            v.Dispose();
        EventFds.Close();   // irqfds and ioeventfds: deassigned while the VM fd is open, once no guest runs
        Memslots.Close();
        Fd.Dispose();
        _coalesced?.Close(); // the VM fd took its coalesced zones with it
    }
}
