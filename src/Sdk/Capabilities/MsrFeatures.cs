using Kvm.Interop;

namespace Kvm;

/// <summary>
/// x86 MSR accesses handled in userspace (<see cref="VmFd.UserSpaceMsr"/>): <c>KVM_ENABLE_CAP(KVM_CAP_X86_USER_SPACE_MSR)</c>,
/// which exists only when <c>KVM_CHECK_EXTENSION(KVM_CAP_X86_USER_SPACE_MSR)</c> on the VM is non-zero. Accesses of
/// the enabled kinds leave <see cref="VcpuFd.Run"/> as <see cref="VcpuExitReason.X86Rdmsr"/> /
/// <see cref="VcpuExitReason.X86Wrmsr"/> instead of raising #GP in the guest.
/// </summary>
public sealed class UserSpaceMsrFeature
{
    private readonly VmFd _vm;

    internal UserSpaceMsrFeature(VmFd vm) => _vm = vm;

    /// <summary>The reasons the headers define (<c>KVM_MSR_EXIT_REASON_VALID_MASK</c>).</summary>
    public static MsrExitReasons Valid => (MsrExitReasons)KvmConstants.KVM_MSR_EXIT_REASON_VALID_MASK;

    /// <summary><c>KVM_ENABLE_CAP(KVM_CAP_X86_USER_SPACE_MSR, reasons)</c>: replaces the set of reasons that exit to
    /// userspace (<see cref="MsrExitReasons.None"/> turns it off). <see cref="MsrExitReasons.Filter"/> pairs with
    /// <see cref="VmFd.MsrFilter"/>.</summary>
    /// <exception cref="ArgumentException">Bits outside <c>KVM_MSR_EXIT_REASON_VALID_MASK</c> (the kernel answers EINVAL).</exception>
    /// <exception cref="KvmException">The kernel refused.</exception>
    public void Enable(MsrExitReasons reasons)
    {
        if ((reasons & ~Valid) != 0)
            Fail.Argument(nameof(reasons), $"{reasons & ~Valid} is outside KVM_MSR_EXIT_REASON_VALID_MASK = {Valid} (EINVAL)");
        _vm.EnableCap(KvmCap.KVM_CAP_X86_USER_SPACE_MSR, (ulong)reasons);
    }
}

/// <summary>Which accesses an <see cref="MsrFilterRange"/> filters (<c>KVM_MSR_FILTER_READ</c>/<c>WRITE</c>).</summary>
[Flags]
public enum MsrFilterAccess : uint
{
    /// <summary><c>KVM_MSR_FILTER_READ</c>: RDMSR.</summary>
    Read = Interop.X86_64.ArchConstants.KVM_MSR_FILTER_READ,
    /// <summary><c>KVM_MSR_FILTER_WRITE</c>: WRMSR.</summary>
    Write = Interop.X86_64.ArchConstants.KVM_MSR_FILTER_WRITE,
    /// <summary>Both.</summary>
    ReadWrite = Read | Write,
}

/// <summary>One range of an MSR filter (<c>struct kvm_msr_filter_range</c>): MSRs
/// [<paramref name="BaseIndex"/>, +<paramref name="Count"/>); bit i of <paramref name="AllowBitmap"/> set lets the
/// guest access MSR BaseIndex + i in the kernel, clear denies it (a userspace exit with
/// <see cref="MsrExitReasons.Filter"/>, else #GP).</summary>
/// <param name="Access">The accesses the range applies to.</param>
/// <param name="BaseIndex">First MSR index.</param>
/// <param name="Count">MSRs in the range (1..<c>KVM_MSR_FILTER_MAX_BITMAP_SIZE</c> × 8).</param>
/// <param name="AllowBitmap">At least ⌈Count / 8⌉ bytes.</param>
public readonly record struct MsrFilterRange(MsrFilterAccess Access, uint BaseIndex, uint Count, ReadOnlyMemory<byte> AllowBitmap)
{
    /// <summary>A one-MSR range that denies <paramref name="access"/> to MSR <paramref name="index"/>.</summary>
    public static MsrFilterRange Deny(MsrFilterAccess access, uint index) => new(access, index, 1, new byte[] { 0 });
}

/// <summary>
/// x86 MSR filtering (<see cref="VmFd.MsrFilter"/>): <c>KVM_X86_SET_MSR_FILTER</c>, which exists only when
/// <c>KVM_CHECK_EXTENSION(KVM_CAP_X86_MSR_FILTER)</c> on the VM is non-zero.
/// </summary>
public sealed class MsrFilterFeature
{
    private readonly VmFd _vm;

    internal MsrFilterFeature(VmFd vm) => _vm = vm;

    /// <summary>At most this many ranges (<c>KVM_MSR_FILTER_MAX_RANGES</c>).</summary>
    public const int MaxRanges = Interop.X86_64.ArchConstants.KVM_MSR_FILTER_MAX_RANGES;

    /// <summary>Bytes of bitmap one range may cover (<c>KVM_MSR_FILTER_MAX_BITMAP_SIZE</c>), in the kernel's
    /// long-rounded size.</summary>
    public const int MaxBitmapBytes = Interop.X86_64.ArchConstants.KVM_MSR_FILTER_MAX_BITMAP_SIZE;

    /// <summary><c>KVM_X86_SET_MSR_FILTER</c>: replaces the VM's filter. MSRs outside every range follow
    /// <paramref name="defaultDeny"/> (<c>KVM_MSR_FILTER_DEFAULT_DENY</c>). No ranges and allow-by-default removes the
    /// filter. The kernel copies the bitmaps; nothing is kept after the call.</summary>
    /// <exception cref="ArgumentException">More than <see cref="MaxRanges"/> ranges; a range with no access bits or
    /// other bits, a count of 0, more MSRs than <see cref="MaxBitmapBytes"/> × 8, or a bitmap shorter than ⌈Count / 8⌉
    /// (the kernel answers EINVAL or reads past it).</exception>
    /// <exception cref="KvmException">The kernel refused (EINVAL).</exception>
    public unsafe void Set(bool defaultDeny, params ReadOnlySpan<MsrFilterRange> ranges)
    {
        if (ranges.Length > MaxRanges)
            Fail.Argument(nameof(ranges), $"an MSR filter has at most {MaxRanges} ranges (KVM_MSR_FILTER_MAX_RANGES), not {ranges.Length}");
        var longBytes = new int[ranges.Length];
        for (var i = 0; i < ranges.Length; i++)
        {
            var r = ranges[i];
            if (r.Access == 0 || ((uint)r.Access & ~(uint)MsrFilterAccess.ReadWrite) != 0)
                Fail.Argument(nameof(ranges), $"range {i}: access must be KVM_MSR_FILTER_READ and/or KVM_MSR_FILTER_WRITE, not 0x{(uint)r.Access:X} (EINVAL)");
            if (r.Count == 0)
                Fail.Argument(nameof(ranges), $"range {i}: count is 0");
            // The kernel copies BITS_TO_LONGS(nmsrs) longs from the bitmap pointer.
            longBytes[i] = (int)((r.Count + 63UL) / 64 * 8);
            if (longBytes[i] > MaxBitmapBytes)
                Fail.Argument(nameof(ranges), $"range {i}: {r.Count} MSRs need a {longBytes[i]}-byte bitmap, above KVM_MSR_FILTER_MAX_BITMAP_SIZE = {MaxBitmapBytes} (EINVAL)");
            if ((ulong)r.AllowBitmap.Length * 8 < r.Count)
                Fail.Argument(nameof(ranges), $"range {i}: {r.Count} MSRs need {(r.Count + 7) / 8} bitmap bytes, got {r.AllowBitmap.Length}");
        }
        // One zeroed buffer holds every range's bitmap, padded to whole longs as the kernel reads them.
        var total = 0;
        foreach (var b in longBytes)
            total += b;
        var buffer = new byte[Math.Max(total, 8)];
        var filter = new Interop.X86_64.kvm_msr_filter
        {
            flags = defaultDeny ? (uint)Interop.X86_64.ArchConstants.KVM_MSR_FILTER_DEFAULT_DENY : 0,
        };
        fixed (byte* p = buffer)
        {
            var at = 0;
            for (var i = 0; i < ranges.Length; i++)
            {
                var r = ranges[i];
                r.AllowBitmap.Span[..(int)((r.Count + 7) / 8)].CopyTo(buffer.AsSpan(at));
                filter.ranges[i] = new Interop.X86_64.kvm_msr_filter_range
                {
                    flags = (uint)r.Access, nmsrs = r.Count, @base = r.BaseIndex, bitmap = (nint)(p + at),
                };
                at += longBytes[i];
            }
            // SAFETY: `filter` is a stack local of the 392-byte layout the ioctl encodes; each range's bitmap pointer
            // points into `buffer`, pinned by this fixed block and sized to the whole longs the kernel copies.
            var rc = _vm.VmIoctl(Interop.X86_64.ArchIoctls.KVM_X86_SET_MSR_FILTER.Value, &filter);
            if (rc < 0)
                Fail.Ioctl(rc, Interop.X86_64.ArchIoctls.KVM_X86_SET_MSR_FILTER.Name, Interop.X86_64.ArchIoctls.KVM_X86_SET_MSR_FILTER.Value, KvmFdKind.Vm);
        }
    }
}
