using Kvm.Interop;

namespace Kvm;

/// <summary>
/// The outcome of a <c>Try*</c> call: success, or the errno of an expected refusal. <c>Try*</c> methods still throw
/// <see cref="ArgumentException"/> for arguments the SDK rejects before the syscall; they only turn the kernel's
/// errno into a value instead of a <see cref="KvmException"/>.
/// </summary>
public readonly record struct KvmResult(Errno Errno, ulong? ErrorOffset = null)
{
    /// <summary>The successful result.</summary>
    public static KvmResult Success => default;

    /// <summary>True when the call succeeded.</summary>
    public bool IsSuccess => Errno == 0;

    /// <inheritdoc />
    public override string ToString() => IsSuccess ? "success" : ErrnoText.Name((int)Errno);
}
