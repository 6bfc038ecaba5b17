namespace Kvm;

/// <summary>
/// Converts a guest-physical range that may span several memslots and guest_memfd files, the way a VMM needs it: the
/// range is split at memslot boundaries and converted piece by piece in address order through an
/// <see cref="IGuestMemoryConversion"/> (VM-level <c>KVM_SET_MEMORY_ATTRIBUTES</c>, or in-place
/// <c>KVM_SET_MEMORY_ATTRIBUTES2</c> on each slot's guest_memfd fd), with listeners told before and after each piece,
/// EAGAIN (a page still referenced, with <c>error_offset</c>) retried under <see cref="ConversionOptions"/>, the unused
/// side discarded in legacy mode, and an optional <c>KVM_PRE_FAULT_MEMORY</c>. The result says how far it got.
/// Arguments are checked for the whole range before the first syscall.
/// </summary>
public sealed class GuestRangeConverter
{
    private readonly VmFd _vm;
    private readonly List<IConversionListener> _listeners = new();

    /// <summary>A converter over <paramref name="conversion"/> for <paramref name="vm"/>'s memslots.</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException"><see cref="ConversionOptions.PreFaultVcpu"/> belongs to another VM, or the
    /// VM lacks <c>KVM_CAP_PRE_FAULT_MEMORY</c>; or a negative retry count.</exception>
    public GuestRangeConverter(VmFd vm, IGuestMemoryConversion conversion, ConversionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(vm);
        ArgumentNullException.ThrowIfNull(conversion);
        _vm = vm;
        Conversion = conversion;
        Options = options ?? new ConversionOptions();
        if (Options.MaxRetriesPerPiece < 0)
            Fail.Range(nameof(options), Options.MaxRetriesPerPiece, "MaxRetriesPerPiece must be 0 or more");
        if (Options.PreFaultVcpu is { } vcpu)
        {
            if (!ReferenceEquals(vcpu.Vm, vm))
                Fail.Argument(nameof(options), "PreFaultVcpu must be a vCPU of this VM (KVM_PRE_FAULT_MEMORY maps the vCPU's own VM)");
            if (vm.PreFault is null)
                Fail.Argument(nameof(options), "PreFaultVcpu is set but the VM lacks KVM_CAP_PRE_FAULT_MEMORY");
        }
    }

    /// <summary>The backend each piece goes through.</summary>
    public IGuestMemoryConversion Conversion { get; }

    /// <summary>The policies.</summary>
    public ConversionOptions Options { get; }

    /// <summary>The errno of the last failed pre-fault (<see cref="ConversionOptions.PreFaultVcpu"/>), or success.</summary>
    public KvmResult LastPreFaultError { get; private set; }

    /// <summary>Adds a listener (called in the order added).</summary>
    public void AddListener(IConversionListener listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        lock (_listeners)
            _listeners.Add(listener);
    }

    /// <summary>Removes a listener; false when it was not added.</summary>
    public bool RemoveListener(IConversionListener listener)
    {
        lock (_listeners)
            return _listeners.Remove(listener);
    }

    /// <summary>The pieces [<paramref name="gpa"/>, +<paramref name="size"/>) splits into (no syscall).</summary>
    /// <exception cref="ArgumentException">Unaligned, empty or wrapping range; for an in-place backend, a part of the
    /// range that no guest_memfd memslot covers (in-place conversion works on guest_memfd files only).</exception>
    public IReadOnlyList<ConversionPiece> Split(ulong gpa, ulong size, PageState to)
    {
        Pages.RequireAligned(gpa, nameof(gpa), "conversion range address");
        Pages.RequireNonZeroAligned(size, nameof(size), "conversion range size");
        Pages.RequireNoWrap(gpa, size, nameof(size), "conversion range");
        var inPlace = Conversion.Backend != ConversionBackend.VmMemoryAttributes;
        var slots = _vm.Memslots.Slots.Where(s => s.AddressSpace == 0 && s.GuestPhysicalAddress < gpa + size && s.GuestPhysicalAddress + s.Size > gpa)
            .OrderBy(s => s.GuestPhysicalAddress).ToList();
        var pieces = new List<ConversionPiece>();
        var at = gpa;
        var end = gpa + size;
        foreach (var s in slots)
        {
            var start = Math.Max(at, s.GuestPhysicalAddress);
            if (start > at)
                Gap(at, start);
            var stop = Math.Min(end, s.GuestPhysicalAddress + s.Size);
            if (inPlace && s.GuestMemfd is null)
                Fail.Argument(nameof(gpa), $"{s} has no guest_memfd: in-place conversion works on guest_memfd memslots only");
            pieces.Add(new ConversionPiece(start, stop - start, to, s));
            at = stop;
        }
        if (at < end)
            Gap(at, end);
        return pieces;

        void Gap(ulong from, ulong until)
        {
            if (inPlace)
                Fail.Argument(nameof(gpa), $"[0x{from:X}, 0x{until:X}) is in no memslot: in-place conversion works on guest_memfd memslots only");
            pieces.Add(new ConversionPiece(from, until - from, to, null));
        }
    }

    /// <summary>Converts the range to private, piece by piece; stops at the first piece the kernel refuses.</summary>
    /// <exception cref="ArgumentException">As <see cref="Split"/>; checked before any syscall.</exception>
    public RangeConversionResult ToPrivate(ulong gpa, ulong size) => Convert(gpa, size, PageState.Private);

    /// <summary>Converts the range to shared, piece by piece; stops at the first piece the kernel refuses.</summary>
    /// <exception cref="ArgumentException">As <see cref="Split"/>; checked before any syscall.</exception>
    public RangeConversionResult ToShared(ulong gpa, ulong size) => Convert(gpa, size, PageState.Shared);

    private RangeConversionResult Convert(ulong gpa, ulong size, PageState to)
    {
        var pieces = Split(gpa, size, to);
        IConversionListener[] listeners;
        lock (_listeners)
            listeners = _listeners.ToArray();
        ulong converted = 0, discarded = 0;
        var retries = 0;
        LastPreFaultError = KvmResult.Success;
        foreach (var piece in pieces)
        {
            foreach (var l in listeners)
                l.Before(piece);
            var r = ConvertPiece(piece, listeners, ref retries);
            foreach (var l in listeners)
                l.After(piece, r);
            if (!r.IsSuccess)
                return new RangeConversionResult(gpa, size, converted, r, piece, retries, discarded);
            converted += piece.Size;
            discarded += Discard(piece);
            if (Options.PreFaultVcpu is { } vcpu)
            {
                var pf = _vm.PreFault!.TryPreFaultMemory(vcpu, piece.Gpa, piece.Size, out _);
                if (!pf.IsSuccess)
                    LastPreFaultError = pf;
            }
        }
        return new RangeConversionResult(gpa, size, converted, KvmResult.Success, null, retries, discarded);
    }

    /// <summary>Throws when <paramref name="result"/> (from this converter) did not convert the whole range.</summary>
    /// <exception cref="KvmException">The ioctl the backend issued for the failed piece (<c>KVM_SET_MEMORY_ATTRIBUTES</c>
    /// on the VM fd, or <c>KVM_SET_MEMORY_ATTRIBUTES2</c> on the guest_memfd fd), its errno, <c>error_offset</c> and how
    /// far the conversion got.</exception>
    public void ThrowIfIncomplete(RangeConversionResult result)
    {
        if (!result.IsComplete)
            throw ToException(result);
    }

    /// <summary>The exception a failed piece is reported with: the ioctl the backend issued, its errno and error_offset.</summary>
    internal KvmException ToException(RangeConversionResult r)
    {
        var toPrivate = r.FailedPiece?.To == PageState.Private;
        var (name, request, kind) = Conversion is GmemInPlaceConversion g
            ? (g.IoctlNameFor(toPrivate), g.RequestFor(toPrivate), KvmFdKind.GuestMemfd)
            : (Interop.KvmIoctls.KVM_SET_MEMORY_ATTRIBUTES.Name, (nuint?)Interop.KvmIoctls.KVM_SET_MEMORY_ATTRIBUTES.Value, KvmFdKind.Vm);
        return new KvmException(r.Error.Errno, name, request, kind, r.ToString()) { ErrorOffset = r.Error.ErrorOffset };
    }

    private KvmResult ConvertPiece(ConversionPiece piece, IConversionListener[] listeners, ref int retries)
    {
        for (var attempt = 1; ; attempt++)
        {
            var r = piece.To == PageState.Private
                ? Conversion.TryToPrivate(piece.Gpa, piece.Size)
                : Conversion.TryToShared(piece.Gpa, piece.Size);
            if (r.Errno != Interop.Errno.EAGAIN || attempt > Options.MaxRetriesPerPiece)
                return r;
            var asked = false;
            foreach (var l in listeners)
                asked |= l.OnBusy(piece, r.ErrorOffset ?? piece.GuestMemfdOffset ?? 0, attempt);
            if (!asked && !Options.RetryWithoutListener)
                return r;
            if (!asked && Options.RetryDelay > TimeSpan.Zero)
                Thread.Sleep(Options.RetryDelay);
            retries++;
        }
    }

    private ulong Discard(ConversionPiece piece)
    {
        if (Options.Discard != DiscardPolicy.DiscardUnusedSide || Conversion.Backend != ConversionBackend.VmMemoryAttributes ||
            piece.Slot is not { } slot || slot.GuestMemfd is not { } gmem)
            return 0;
        var within = piece.Gpa - slot.GuestPhysicalAddress;
        if (piece.To == PageState.Private)
        {
            if (slot.HostMemory is not { } host || host is GmemMapping)
                return 0; // a guest_memfd-only slot has no second copy: its host side is the guest_memfd itself
            return host.TryDiscard(slot.HostMemoryOffset + within, piece.Size).IsSuccess ? piece.Size : 0;
        }
        return gmem.TryPunchHole(slot.GuestMemfdOffset + within, piece.Size).IsSuccess ? piece.Size : 0;
    }
}
