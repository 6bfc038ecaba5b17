using Kvm.Interop;

namespace Kvm;

/// <summary>
/// A KVM ioctl or a libc call the SDK made failed. Carries the errno (as <see cref="Interop.Errno"/>, its name and the
/// C library's text), the ioctl's name and request number or the syscall's name, and the kind of fd it was issued
/// on. Arguments the kernel would reject are refused before the call with <see cref="ArgumentException"/> instead;
/// this exception means the kernel itself said no.
/// </summary>
public class KvmException : IOException
{
    /// <summary>Builds the exception for a failed call; the message is composed from the parts.</summary>
    /// <param name="errno">The errno the call left.</param>
    /// <param name="operation">The ioctl name (e.g. <c>KVM_CREATE_VM</c>) or the syscall name (e.g. <c>mmap</c>).</param>
    /// <param name="request">The ioctl request number, or null for a plain syscall.</param>
    /// <param name="fdKind">The kind of fd the call was made on.</param>
    /// <param name="detail">Optional extra context appended to the message.</param>
    public KvmException(Errno errno, string operation, nuint? request, KvmFdKind fdKind, string? detail = null)
        : base(Compose(errno, operation, request, fdKind, detail))
    {
        Errno = errno;
        Operation = operation;
        Request = request;
        FdKind = fdKind;
        HResult = (int)errno;
    }

    /// <summary>The errno the kernel or libc returned.</summary>
    public Errno Errno { get; }

    /// <summary>The errno's symbolic name, e.g. <c>EINVAL</c>.</summary>
    public string ErrnoName => ErrnoText.Name((int)Errno);

    /// <summary>The C library's text for the errno (strerror).</summary>
    public string ErrnoMessage => ErrnoText.Message((int)Errno);

    /// <summary>The ioctl name (e.g. <c>KVM_SET_USER_MEMORY_REGION2</c>) or the syscall name (e.g. <c>fallocate</c>).</summary>
    public string Operation { get; }

    /// <summary>The ioctl request number; null when <see cref="Operation"/> is a plain syscall.</summary>
    public nuint? Request { get; }

    /// <summary>True when the failed call was an ioctl.</summary>
    public bool IsIoctl => Request.HasValue;

    /// <summary>The kind of fd the call was issued on.</summary>
    public KvmFdKind FdKind { get; }

    /// <summary>For conversions that report one (<c>error_offset</c>): the byte offset of the first page that failed;
    /// otherwise null.</summary>
    public ulong? ErrorOffset { get; init; }

    private static string Compose(Errno errno, string operation, nuint? request, KvmFdKind fdKind, string? detail)
    {
        var what = request is { } r ? IoctlFormat.Describe(operation, r) : operation;
        var on = fdKind == KvmFdKind.None ? "" : $" on the {FdKindText(fdKind)} fd";
        // errno 0: a call that succeeded but did less than asked (KVM_GET/SET_MSRS report a count, not an errno).
        var text = errno == 0
            ? $"{what}{on} did not complete"
            : $"{what}{on} failed: {ErrnoText.Name((int)errno)} ({ErrnoText.Message((int)errno)})";
        return detail is null ? text : $"{text}. {detail}";
    }

    internal static string FdKindText(KvmFdKind kind) => kind switch
    {
        KvmFdKind.System => "system (/dev/kvm)",
        KvmFdKind.Vm => "VM",
        KvmFdKind.Vcpu => "vCPU",
        KvmFdKind.GuestMemfd => "guest_memfd",
        KvmFdKind.Memfd => "memfd",
        KvmFdKind.File => "file",
        KvmFdKind.EventFd => "eventfd",
        KvmFdKind.Device => "device",
        KvmFdKind.Stats => "stats",
        _ => "(none)",
    };
}
