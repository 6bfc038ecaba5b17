using Kvm.Interop;

namespace Kvm;

public sealed partial class VmFd
{
    /// <summary>x86 userspace MSR exits; null unless <c>KVM_CHECK_EXTENSION(KVM_CAP_X86_USER_SPACE_MSR)</c> on this VM is
    /// non-zero.</summary>
    public UserSpaceMsrFeature? UserSpaceMsr { get; private set; }

    /// <summary>x86 MSR filter; null unless <c>KVM_CHECK_EXTENSION(KVM_CAP_X86_MSR_FILTER)</c> on this VM is non-zero.</summary>
    public MsrFilterFeature? MsrFilter { get; private set; }

    /// <summary>The bus-lock detection modes this host offers: <c>KVM_CHECK_EXTENSION(KVM_CAP_X86_BUS_LOCK_EXIT)</c>
    /// (<see cref="BusLockDetection.None"/> where the capability is absent, e.g. hosts without the VMX/SVM feature).</summary>
    public BusLockDetection SupportedBusLockDetection => (BusLockDetection)Capabilities.CheckMask(KvmCap.KVM_CAP_X86_BUS_LOCK_EXIT);

    /// <summary>x86: <c>KVM_ENABLE_CAP(KVM_CAP_X86_BUS_LOCK_EXIT, mode)</c>: with <see cref="BusLockDetection.Exit"/> a
    /// guest bus lock leaves <see cref="VcpuFd.Run"/> as <see cref="VcpuExitReason.X86BusLock"/> (and sets
    /// <c>KVM_RUN_X86_BUS_LOCK</c> in <see cref="VcpuExit.RunFlags"/>).</summary>
    /// <exception cref="ArgumentException"><paramref name="mode"/> is not exactly one of the modes in
    /// <see cref="SupportedBusLockDetection"/> (OFF and EXIT together are EINVAL).</exception>
    /// <exception cref="KvmException">The kernel refused.</exception>
    public void EnableBusLockDetection(BusLockDetection mode)
    {
        var supported = SupportedBusLockDetection;
        if (mode is not (BusLockDetection.Off or BusLockDetection.Exit) || (mode & ~supported) != 0)
            Fail.Argument(nameof(mode), $"mode {mode} must be one of KVM_CAP_X86_BUS_LOCK_EXIT = {supported} on this VM (EINVAL)");
        EnableCap(KvmCap.KVM_CAP_X86_BUS_LOCK_EXIT, (ulong)mode);
    }

    partial void InitExits()
    {
        if (Type.Architecture != VmArchitecture.X86_64)
            return;
        if (Capabilities.Has(KvmCap.KVM_CAP_X86_USER_SPACE_MSR))
            UserSpaceMsr = new UserSpaceMsrFeature(this);
        if (Capabilities.Has(KvmCap.KVM_CAP_X86_MSR_FILTER))
            MsrFilter = new MsrFilterFeature(this);
    }
}

/// <summary>Modes of <c>KVM_CAP_X86_BUS_LOCK_EXIT</c> (<c>KVM_BUS_LOCK_DETECTION_*</c>).</summary>
[Flags]
public enum BusLockDetection : uint
{
    /// <summary>The capability is absent.</summary>
    None = 0,
    /// <summary><c>KVM_BUS_LOCK_DETECTION_OFF</c>: bus locks are not reported.</summary>
    Off = KvmConstants.KVM_BUS_LOCK_DETECTION_OFF,
    /// <summary><c>KVM_BUS_LOCK_DETECTION_EXIT</c>: each bus lock exits to userspace.</summary>
    Exit = KvmConstants.KVM_BUS_LOCK_DETECTION_EXIT,
}
