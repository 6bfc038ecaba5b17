using Kvm.Interop;

namespace Kvm;

/// <summary>
/// Shared part of the in-place backends: a guest-physical range is resolved through the VM's memslot table to one
/// guest_memfd slot, the ioctl is issued on the guest_memfd fd with file offsets, and the guest_memfd's page state is
/// updated. To private: the pages are marked private first (so no host lease can start), and stay marked private if
/// the kernel refuses (the state after a failed conversion is unknown; private is the state that cannot SIGBUS the
/// host — a later successful <see cref="IGuestMemoryConversion.ToShared"/> clears it). To shared: the state changes
/// only after the kernel said yes.
/// </summary>
internal abstract class GmemInPlaceConversion : IGuestMemoryConversion
{
    private readonly VmFd _vm;

    protected GmemInPlaceConversion(VmFd vm) => _vm = vm;

    public abstract ConversionBackend Backend { get; }

    protected abstract string IoctlName(bool toPrivate);

    internal string IoctlNameFor(bool toPrivate) => IoctlName(toPrivate);

    internal nuint RequestFor(bool toPrivate) => Request(toPrivate);

    protected abstract nuint Request(bool toPrivate);

    /// <summary>Issues the ioctl; returns 0 or -errno, and the kernel's error_offset (file offset) on failure.</summary>
    protected abstract int Issue(int gmemFd, ulong offset, ulong size, bool toPrivate, out ulong errorOffset);

    public void ToPrivate(ulong gpa, ulong size) => Throw(Convert(gpa, size, true, out var gmemOffset), true, gmemOffset);

    public void ToShared(ulong gpa, ulong size) => Throw(Convert(gpa, size, false, out var gmemOffset), false, gmemOffset);

    public KvmResult TryToPrivate(ulong gpa, ulong size) => Convert(gpa, size, true, out _);

    public KvmResult TryToShared(ulong gpa, ulong size) => Convert(gpa, size, false, out _);

    public PageState GetState(ulong gpa)
    {
        var slot = _vm.Memslots.Find(gpa);
        if (slot?.GuestMemfd is not { } g)
            return PageState.Shared;
        return g.PageStates.Get(slot.GuestMemfdOffset + (gpa - slot.GuestPhysicalAddress));
    }

    private KvmResult Convert(ulong gpa, ulong size, bool toPrivate, out ulong gmemOffset)
    {
        Pages.RequireAligned(gpa, nameof(gpa), "conversion range address");
        Pages.RequireNonZeroAligned(size, nameof(size), "conversion range size");
        Pages.RequireNoWrap(gpa, size, nameof(size), "conversion range");
        var slot = _vm.Memslots.Find(gpa);
        if (slot?.GuestMemfd is not { } gmem)
        {
            Fail.Argument(nameof(gpa), $"0x{gpa:X} is not in a guest_memfd memslot: in-place conversion works on guest_memfd ranges");
            gmemOffset = 0;
            return default;
        }
        if (size > slot.Size - (gpa - slot.GuestPhysicalAddress))
            Fail.Argument(nameof(size), $"[0x{gpa:X}, 0x{gpa + size:X}) extends past {slot}; convert each slot's part separately");
        gmemOffset = slot.GuestMemfdOffset + (gpa - slot.GuestPhysicalAddress);

        var pages = gmem.PageStates;
        var h = gmem.Fd.Enter();
        try
        {
            lock (pages.Lock)
            {
                if (toPrivate)
                    pages.MarkPrivateLocked(gmemOffset, size);
                var rc = Issue(h.Fd, gmemOffset, size, toPrivate, out var errorOffset);
                if (rc < 0)
                    return new KvmResult((Errno)(-rc), errorOffset);
                if (!toPrivate)
                    pages.MarkSharedLocked(gmemOffset, size);
                return KvmResult.Success;
            }
        }
        finally
        {
            gmem.Fd.Exit();
        }
    }

    private void Throw(KvmResult r, bool toPrivate, ulong gmemOffset)
    {
        if (r.IsSuccess)
            return;
        var detail = r.ErrorOffset is { } eo
            ? $"guest_memfd range starts at 0x{gmemOffset:X}; error_offset = 0x{eo:X}" + (r.Errno == Errno.EAGAIN ? " (a page there is still referenced; retry after releasing it)" : "")
            : null;
        throw new KvmException(r.Errno, IoctlName(toPrivate), Request(toPrivate), KvmFdKind.GuestMemfd, detail) { ErrorOffset = r.ErrorOffset };
    }
}

/// <summary>PROPOSED v8 backend: <c>KVM_SET_MEMORY_ATTRIBUTES2</c> on the guest_memfd fd.</summary>
internal sealed unsafe class Attributes2Conversion : GmemInPlaceConversion
{
    private readonly Syscalls.IKvmSyscalls _sys;
    private readonly nuint _request;

    public Attributes2Conversion(VmFd vm, Syscalls.IKvmSyscalls sys, nuint request) : base(vm)
    {
        _sys = sys;
        _request = request;
    }

    public override ConversionBackend Backend => ConversionBackend.GuestMemfdAttributes2;

    protected override string IoctlName(bool toPrivate) => ProposedAbi.Attributes2Ioctl;

    protected override nuint Request(bool toPrivate) => _request;

    protected override int Issue(int gmemFd, ulong offset, ulong size, bool toPrivate, out ulong errorOffset)
    {
        var arg = new KvmMemoryAttributes2
        {
            Offset = offset,
            Size = size,
            Attributes = toPrivate ? (ulong)KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE : 0,
        };
        // SAFETY: `arg` is a zero-initialised 128-byte stack local whose size equals the size field of `_request`
        // (checked when the backend was created); the kernel reads it and may write error_offset back into it.
        var rc = _sys.Ioctl(gmemFd, _request, &arg);
        errorOffset = rc < 0 ? arg.ErrorOffset : 0;
        return rc;
    }
}

/// <summary>PROPOSED, ABANDONED RFC v2 backend: <c>KVM_GMEM_CONVERT_SHARED/PRIVATE</c> on the guest_memfd fd.</summary>
internal sealed unsafe class GmemConvertRfcV2Conversion : GmemInPlaceConversion
{
    private readonly Syscalls.IKvmSyscalls _sys;
    private readonly nuint _toShared;
    private readonly nuint _toPrivate;

    public GmemConvertRfcV2Conversion(VmFd vm, Syscalls.IKvmSyscalls sys, nuint toShared, nuint toPrivate) : base(vm)
    {
        _sys = sys;
        _toShared = toShared;
        _toPrivate = toPrivate;
    }

    public override ConversionBackend Backend => ConversionBackend.GuestMemfdConvertRfcV2;

    protected override string IoctlName(bool toPrivate) => toPrivate ? ProposedAbi.ConvertPrivateIoctl : ProposedAbi.ConvertSharedIoctl;

    protected override nuint Request(bool toPrivate) => toPrivate ? _toPrivate : _toShared;

    protected override int Issue(int gmemFd, ulong offset, ulong size, bool toPrivate, out ulong errorOffset)
    {
        var arg = new KvmGmemConvert { Offset = offset, Size = size };
        // SAFETY: `arg` is a zero-initialised 64-byte stack local whose size equals the size field of the request
        // (checked when the backend was created); the kernel reads it and may write error_offset back.
        var rc = _sys.Ioctl(gmemFd, Request(toPrivate), &arg);
        errorOffset = rc < 0 ? arg.ErrorOffset : 0;
        return rc;
    }
}
