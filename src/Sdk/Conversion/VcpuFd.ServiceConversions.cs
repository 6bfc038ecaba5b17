namespace Kvm;

public sealed unsafe partial class VcpuFd
{
    /// <summary>
    /// Runs, servicing both ways a guest asks for a private/shared conversion, and re-entering after each: a
    /// <c>KVM_EXIT_MEMORY_FAULT</c> (the access's private/shared kind disagrees with the page; a size of 0 means one page)
    /// and a <c>KVM_EXIT_HYPERCALL</c> for <c>KVM_HC_MAP_GPA_RANGE</c> (SEV-SNP guests, and TDX guests' MapGPA
    /// TDVMCALL, which KVM forwards the same way with the shared bit stripped from the address; needs
    /// <see cref="VmFd.EnableExitHypercall"/> with <see cref="ExitHypercalls.MapGpaRange"/>). Each range goes through
    /// <paramref name="converter"/> (split over memslots, listeners, EAGAIN retries, discard, pre-fault). The hypercall's
    /// return value is 0 on success, else the negated errno of the refused piece (EAGAIN lets a TDX guest retry).
    /// Returns the first other exit (including <c>KVM_EXIT_TDX</c>, whose leaves the SDK does not convert on).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxConversions"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">More than <paramref name="maxConversions"/> conversions in one call.</exception>
    /// <exception cref="KvmException">KVM_RUN failed, or a memory-fault conversion was refused (the ioctl, errno and
    /// how far it got in the message; a refused MAP_GPA_RANGE is returned to the guest instead).</exception>
    public VcpuExit RunServicingConversions(GuestRangeConverter converter, int maxConversions = 64)
    {
        ArgumentNullException.ThrowIfNull(converter);
        if (maxConversions < 0)
            Fail.Range(nameof(maxConversions), maxConversions, "maxConversions must be 0 or more");
        var page = (ulong)Pages.Size;
        for (var i = 0; ; i++)
        {
            var exit = Run();
            if (exit.Reason == VcpuExitReason.MemoryFault)
            {
                if (i >= maxConversions)
                    throw new InvalidOperationException($"the guest asked for {i} conversions in one call; last fault {exit.MemoryFault}");
                var mf = exit.MemoryFault;
                var start = mf.Gpa & ~(page - 1);
                var end = mf.Size == 0 ? start + page : (mf.Gpa + mf.Size + page - 1) & ~(page - 1);
                var r = mf.IsPrivate ? converter.ToPrivate(start, end - start) : converter.ToShared(start, end - start);
                if (!r.IsComplete)
                    throw converter.ToException(r);
                continue;
            }
            if (exit.Reason == VcpuExitReason.Hypercall && exit.Hypercall.IsMapGpaRange)
            {
                if (i >= maxConversions)
                    throw new InvalidOperationException($"the guest asked for {i} conversions in one call");
                var hc = exit.Hypercall;
                hc.Return = ServiceMapGpaRange(converter, hc.MapGpa, hc.MapPages, hc.MapToPrivate);
                continue;
            }
            return exit;
        }
    }

    /// <summary>Converts a MAP_GPA_RANGE request; the hypercall's return value (0, or -errno).</summary>
    private static ulong ServiceMapGpaRange(GuestRangeConverter converter, ulong gpa, ulong pages4k, bool toPrivate)
    {
        const ulong Granule = 4096; // MAP_GPA_RANGE counts 4 KiB pages whatever the host page size
        var page = (ulong)Pages.Size;
        if (pages4k == 0 || pages4k > ulong.MaxValue / Granule || gpa % Granule != 0 || gpa + pages4k * Granule < gpa)
            return unchecked((ulong)-(long)Interop.Errno.EINVAL);
        var start = gpa & ~(page - 1);
        var end = (gpa + pages4k * Granule + page - 1) & ~(page - 1);
        try
        {
            var r = toPrivate ? converter.ToPrivate(start, end - start) : converter.ToShared(start, end - start);
            return r.IsComplete ? 0 : unchecked((ulong)-(long)r.Error.Errno);
        }
        catch (ArgumentException)
        {
            return unchecked((ulong)-(long)Interop.Errno.EINVAL); // the guest named memory the VMM has no slot for
        }
    }
}
