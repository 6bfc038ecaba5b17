using Kvm.Interop;

namespace Kvm;

/// <summary>
/// Coalesced MMIO (and PIO) of one VM (<see cref="VmFd.CoalescedMmio"/>): exists only when
/// <c>KVM_CHECK_EXTENSION(KVM_CAP_COALESCED_MMIO)</c> is non-zero; the answer is the page, inside every vCPU's mapping
/// (<c>KVM_GET_VCPU_MMAP_SIZE</c>), where the VM's one ring lives. Guest writes to a registered zone do not exit: the
/// kernel appends them to the ring (<c>struct kvm_coalesced_mmio_ring</c>) and the VMM replays them later, in order,
/// with <see cref="Drain"/> (typically at its next exit). Reads, and writes when the ring is full, still exit as usual.
/// </summary>
public sealed class CoalescedMmioFeature
{
    private readonly VmFd _vm;
    private readonly object _gate = new();
    private readonly List<CoalescedZone> _zones = new();

    internal CoalescedMmioFeature(VmFd vm, int pageOffset, bool pio)
    {
        _vm = vm;
        RingPageOffset = pageOffset;
        SupportsPio = pio;
        // KVM_COALESCED_MMIO_MAX: the entries that fit in the ring's page after its header.
        Capacity = (Pages.Size - sizeof(uint) * 2) / 24;
    }

    /// <summary>The ring's page index in the vCPU mapping: the answer of <c>KVM_CAP_COALESCED_MMIO</c> (x86: 2, arm64: 1).</summary>
    public int RingPageOffset { get; }

    /// <summary><c>KVM_CAP_COALESCED_PIO</c>: port-I/O zones are accepted.</summary>
    public bool SupportsPio { get; }

    /// <summary>Ring entries (<c>KVM_COALESCED_MMIO_MAX</c>); one slot always stays empty, so at most Capacity − 1
    /// writes wait in it.</summary>
    public int Capacity { get; }

    /// <summary><c>KVM_REGISTER_COALESCED_MMIO</c>: guest writes to [<paramref name="address"/>, +
    /// <paramref name="size"/>) (ports with <paramref name="pio"/>) are queued in the ring instead of exiting. The
    /// address must not be RAM (a memslot) for MMIO, or the guest never reaches the zone.</summary>
    /// <exception cref="ArgumentException">Empty or wrapping; <paramref name="pio"/> without <c>KVM_CAP_COALESCED_PIO</c>
    /// or beyond port 0xFFFF; overlapping a live zone of the same kind (the kernel's unregister removes every zone
    /// inside the range it is given, so the SDK keeps zones disjoint to keep each one owned).</exception>
    /// <exception cref="KvmException">The kernel refused (ENOMEM; ENOSPC: the VM's I/O bus is full).</exception>
    public unsafe CoalescedZone Register(ulong address, uint size, bool pio = false)
    {
        if (size == 0)
            Fail.Range(nameof(size), size, "a coalesced zone covers at least one byte");
        if (address + size < address)
            Fail.Range(nameof(size), size, "address + size wraps around 2^64");
        if (pio && !SupportsPio)
            Fail.Argument(nameof(pio), "coalesced port I/O needs KVM_CAP_COALESCED_PIO, which this VM does not report");
        if (pio && address + size > 0x10000)
            Fail.Range(nameof(address), address, "coalesced PIO zones are ports 0x0..0xFFFF");
        lock (_gate)
        {
            foreach (var z in _zones)
                if (z.IsPio == pio && address < z.Address + z.Size && z.Address < address + size)
                    Fail.Argument(nameof(address), $"[0x{address:X}, +0x{size:X}) overlaps the live {z}");
            var zone = new kvm_coalesced_mmio_zone { addr = address, size = size, pio = pio ? 1u : 0u };
            // SAFETY: `zone` is a stack local of the 16-byte layout; the kernel only reads it.
            var rc = _vm.VmIoctl(KvmIoctls.KVM_REGISTER_COALESCED_MMIO.Value, &zone);
            if (rc < 0)
                Fail.Ioctl(rc, KvmIoctls.KVM_REGISTER_COALESCED_MMIO.Name, KvmIoctls.KVM_REGISTER_COALESCED_MMIO.Value, KvmFdKind.Vm,
                    $"{(pio ? "PIO" : "MMIO")} [0x{address:X}, +0x{size:X})");
            var owned = new CoalescedZone(this, address, size, pio);
            _zones.Add(owned);
            return owned;
        }
    }

    internal unsafe void Unregister(CoalescedZone owned)
    {
        lock (_gate)
        {
            if (owned.IsUnregistered)
                return;
            if (!_vm.IsDisposed)
            {
                var zone = new kvm_coalesced_mmio_zone { addr = owned.Address, size = owned.Size, pio = owned.IsPio ? 1u : 0u };
                int rc;
                try
                {
                    // SAFETY: `zone` is a stack local of the 16-byte layout; the kernel only reads it.
                    rc = _vm.VmIoctl(KvmIoctls.KVM_UNREGISTER_COALESCED_MMIO.Value, &zone);
                }
                catch (ObjectDisposedException)
                {
                    rc = 0; // the VM went in between: its zones went with it
                }
                if (rc < 0)
                    Fail.Ioctl(rc, KvmIoctls.KVM_UNREGISTER_COALESCED_MMIO.Name, KvmIoctls.KVM_UNREGISTER_COALESCED_MMIO.Value,
                        KvmFdKind.Vm, owned.ToString());
            }
            owned.IsUnregistered = true;
            _zones.Remove(owned);
        }
    }

    /// <summary>Moves up to <c>into.Length</c> queued writes, oldest first, out of the VM's ring (read through
    /// <paramref name="vcpu"/>'s mapping, where it sits at page <see cref="RingPageOffset"/>); returns how many. Reads
    /// the kernel's <c>last</c> with acquire order and publishes <c>first</c> with release order, so the kernel reuses
    /// only consumed entries. No allocation, no syscall. The ring is one per VM: calls through any of its vCPUs take
    /// turns.</summary>
    /// <exception cref="ArgumentException">A vCPU of another VM.</exception>
    /// <exception cref="InvalidOperationException">The vCPU mapping (<c>KVM_GET_VCPU_MMAP_SIZE</c>) does not reach the
    /// ring's page.</exception>
    /// <exception cref="ObjectDisposedException">The vCPU was disposed.</exception>
    public unsafe int Drain(VcpuFd vcpu, Span<CoalescedMmioEntry> into)
    {
        ArgumentNullException.ThrowIfNull(vcpu);
        if (!ReferenceEquals(vcpu.Vm, _vm))
            Fail.Argument(nameof(vcpu), "the coalesced MMIO ring is read through a vCPU of its own VM");
        if ((long)(RingPageOffset + 1) * Pages.Size > vcpu.MappedRunSize)
            throw new InvalidOperationException(
                $"the vCPU mapping is {vcpu.MappedRunSize} bytes (KVM_GET_VCPU_MMAP_SIZE): it does not reach the ring at page {RingPageOffset}");
        var fd = vcpu.FdRef;
        fd.Enter(); // the mapping is retired only when the vCPU fd is released
        try
        {
            lock (_gate)
            {
                // SAFETY: the ring page lies inside the vCPU mapping (checked above), which stays mapped while the fd
                // reference is held; entries are read at indices below Capacity, inside that page.
                var ring = (kvm_coalesced_mmio_ring*)(vcpu.MappedRun + (long)RingPageOffset * Pages.Size);
                var entries = (kvm_coalesced_mmio*)(ring + 1);
                var first = ring->first;
                var last = Volatile.Read(ref ring->last); // acquire: entries up to last are complete
                var n = 0;
                while (first != last && n < into.Length)
                {
                    if (first >= (uint)Capacity)
                        throw new InvalidOperationException($"the coalesced MMIO ring's first index {first} is outside its {Capacity} entries");
                    var e = entries + first;
                    var len = (int)Math.Min(e->len, 8u);
                    ulong data = 0;
                    for (var i = 0; i < len; i++)
                        data |= (ulong)e->data[i] << (8 * i);
                    into[n++] = new CoalescedMmioEntry(e->phys_addr, len, SupportsPio && e->pio == 1, data);
                    first = (first + 1) % (uint)Capacity;
                }
                Volatile.Write(ref ring->first, first); // release: the entries were copied first
                return n;
            }
        }
        finally
        {
            fd.Exit();
        }
    }

    /// <summary>Forgets the zones (the VM fd closed, taking them with it).</summary>
    internal void Close()
    {
        lock (_gate)
        {
            foreach (var z in _zones)
                z.IsUnregistered = true;
            _zones.Clear();
        }
    }
}
