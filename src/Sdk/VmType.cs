using Kvm.Interop;

namespace Kvm;

/// <summary>The machine-type argument of <c>KVM_CREATE_VM</c>. x86 types are <see cref="X86VmType"/> values
/// (supported set in <c>KVM_CAP_VM_TYPES</c>); arm64 encodes the IPA size in bits 7:0
/// (<c>KVM_VM_TYPE_ARM_IPA_SIZE_MASK</c>, limit in <c>KVM_CAP_ARM_VM_IPA_SIZE</c>).</summary>
public readonly record struct VmType
{
    private VmType(VmArchitecture architecture, ulong value, string name)
    {
        Architecture = architecture;
        Value = value;
        Name = name;
    }

    /// <summary>Which architecture the type is for.</summary>
    public VmArchitecture Architecture { get; }

    /// <summary>The raw <c>KVM_CREATE_VM</c> argument.</summary>
    public ulong Value { get; }

    /// <summary>A readable name, e.g. <c>KVM_X86_SW_PROTECTED_VM</c> or <c>arm64 IPA 40 bits</c>.</summary>
    public string Name { get; }

    /// <summary>The platform default (type 0): <c>KVM_X86_DEFAULT_VM</c> on x86_64, the default 40-bit IPA on arm64.</summary>
    public static VmType Default => VmArchitectureInfo.Current == VmArchitecture.Arm64 ? Arm64Default : X86Default;

    /// <summary><c>KVM_X86_DEFAULT_VM</c>.</summary>
    public static VmType X86Default => X86(X86VmType.KVM_X86_DEFAULT_VM);

    /// <summary><c>KVM_X86_SW_PROTECTED_VM</c>: private memory without hardware encryption (needs
    /// <c>CONFIG_KVM_SW_PROTECTED_VM</c> and TDP).</summary>
    public static VmType X86SwProtected => X86(X86VmType.KVM_X86_SW_PROTECTED_VM);

    /// <summary><c>KVM_X86_SEV_VM</c>.</summary>
    public static VmType X86Sev => X86(X86VmType.KVM_X86_SEV_VM);

    /// <summary><c>KVM_X86_SEV_ES_VM</c>.</summary>
    public static VmType X86SevEs => X86(X86VmType.KVM_X86_SEV_ES_VM);

    /// <summary><c>KVM_X86_SNP_VM</c>.</summary>
    public static VmType X86Snp => X86(X86VmType.KVM_X86_SNP_VM);

    /// <summary><c>KVM_X86_TDX_VM</c>.</summary>
    public static VmType X86Tdx => X86(X86VmType.KVM_X86_TDX_VM);

    /// <summary>Any x86 VM type from the bindings.</summary>
    public static VmType X86(X86VmType type) => new(VmArchitecture.X86_64, (ulong)(int)type, type.ToString());

    /// <summary>arm64 with the default IPA size (argument 0 = 40 bits).</summary>
    public static VmType Arm64Default => new(VmArchitecture.Arm64, 0, "arm64 default IPA (40 bits)");

    /// <summary>arm64 with an explicit IPA size. Validated here against the encoding (bits 7:0, 32..255 → must fit
    /// <c>KVM_VM_TYPE_ARM_IPA_SIZE_MASK</c>, at least 32), and by <see cref="KvmSystem.CreateVm"/> against
    /// <c>KVM_CAP_ARM_VM_IPA_SIZE</c> before the ioctl.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="ipaBits"/> is outside 32..mask.</exception>
    public static VmType Arm64(int ipaBits)
    {
        if (ipaBits < 32 || (ulong)ipaBits > KvmConstants.KVM_VM_TYPE_ARM_IPA_SIZE_MASK)
            Fail.Range(nameof(ipaBits), ipaBits,
                $"arm64 IPA size must be 32..{KvmConstants.KVM_VM_TYPE_ARM_IPA_SIZE_MASK} bits (KVM_VM_TYPE_ARM_IPA_SIZE_MASK)");
        return new(VmArchitecture.Arm64, (ulong)ipaBits & KvmConstants.KVM_VM_TYPE_ARM_IPA_SIZE_MASK, $"arm64 IPA {ipaBits} bits");
    }

    /// <summary>arm64 pKVM protected VM (<c>KVM_VM_TYPE_ARM_PROTECTED</c>, bit 31), with the default IPA size or
    /// <paramref name="ipaBits"/>. Only a host booted with <c>kvm-arm.mode=protected</c> creates one, and no
    /// capability says so: <see cref="KvmSystem.SupportsVmType"/> finds out by creating one. (pKVM 7.3 ignores the
    /// IPA size; the SDK still holds memslots to it.) pKVM 7.3 backs a protected VM's memory by pinning each
    /// memslot's <c>userspace_addr</c> pages, guest_memfd slots included, and only anonymous or memfd pages can be
    /// pinned: a slot over a guest_memfd mapping is accepted, but the vCPU's first fault in it makes <c>KVM_RUN</c>
    /// fail with EIO. Back protected-VM slots with <see cref="KvmSystem.AllocateHostMemory"/>. Memslots cannot be
    /// deleted once a vCPU has run (EPERM); the SDK keeps them until the VM is disposed.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="ipaBits"/> is neither 0 nor 32..mask.</exception>
    public static VmType Arm64Protected(int ipaBits = 0)
    {
        var ipa = ipaBits == 0 ? 0 : Arm64(ipaBits).Value;
        return new(VmArchitecture.Arm64, KvmConstants.KVM_VM_TYPE_ARM_PROTECTED | ipa,
            ipaBits == 0 ? "arm64 protected (pKVM)" : $"arm64 protected (pKVM), IPA {ipaBits} bits");
    }

    /// <summary>An arm64 pKVM protected VM type (<see cref="Arm64Protected"/>).</summary>
    public bool IsArm64Protected => Architecture == VmArchitecture.Arm64 && (Value & KvmConstants.KVM_VM_TYPE_ARM_PROTECTED) != 0;

    /// <summary>arm64: the guest-physical address size in bits (the default type 0 means 40); null on x86, where the
    /// type does not encode it.</summary>
    public int? IpaBits => Architecture == VmArchitecture.Arm64
        ? (int)(Value & KvmConstants.KVM_VM_TYPE_ARM_IPA_SIZE_MASK) is var bits && bits != 0 ? bits : DefaultArm64IpaBits
        : null;

    private const int DefaultArm64IpaBits = 40;

    /// <summary>True for x86 types whose VMs have private (guest_memfd-backed) memory: SW_PROTECTED, SNP, TDX.</summary>
    public bool HasPrivateMemory => Architecture == VmArchitecture.X86_64 &&
        (Value == (ulong)(int)X86VmType.KVM_X86_SW_PROTECTED_VM || Value == (ulong)(int)X86VmType.KVM_X86_SNP_VM ||
         Value == (ulong)(int)X86VmType.KVM_X86_TDX_VM);

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>The architectures the SDK drives.</summary>
public enum VmArchitecture
{
    /// <summary>x86_64.</summary>
    X86_64,
    /// <summary>arm64 (aarch64).</summary>
    Arm64,
}

internal static class VmArchitectureInfo
{
    public static readonly VmArchitecture Current =
        System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.Arm64
            ? VmArchitecture.Arm64 : VmArchitecture.X86_64;

    public static string UapiName(VmArchitecture a) => a == VmArchitecture.Arm64 ? "arm64" : "x86_64";
}
