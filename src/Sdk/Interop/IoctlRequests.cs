namespace Kvm.Interop;

// Typed ioctl request numbers. The generator emits one static field per `_IO*` macro of the kernel headers with
// the number it computed from that architecture's struct layout; the type parameter is the C argument type, so
// passing the wrong struct to an ioctl does not compile. Direction follows the C macro: _IOR means the kernel
// writes the argument (Read), _IOW means it reads it (Write).

/// <summary>An ioctl encoded with <c>_IO</c>: no argument struct; an optional integer argument is passed by value
/// (for example the VM type of <c>KVM_CREATE_VM</c> or the capability of <c>KVM_CHECK_EXTENSION</c>).</summary>
public readonly record struct Ioctl(nuint Value, string Name)
{
    /// <inheritdoc />
    public override string ToString() => IoctlFormat.Describe(Name, Value);
}

/// <summary>An ioctl encoded with <c>_IOR</c>: the kernel fills a <typeparamref name="T"/>.</summary>
public readonly record struct IoctlRead<T>(nuint Value, string Name) where T : unmanaged
{
    /// <inheritdoc />
    public override string ToString() => IoctlFormat.Describe(Name, Value);
}

/// <summary>An ioctl encoded with <c>_IOW</c>: the kernel reads a <typeparamref name="T"/>.</summary>
public readonly record struct IoctlWrite<T>(nuint Value, string Name) where T : unmanaged
{
    /// <inheritdoc />
    public override string ToString() => IoctlFormat.Describe(Name, Value);
}

/// <summary>An ioctl encoded with <c>_IOWR</c>: the kernel reads a <typeparamref name="T"/> and writes it back.</summary>
public readonly record struct IoctlReadWrite<T>(nuint Value, string Name) where T : unmanaged
{
    /// <inheritdoc />
    public override string ToString() => IoctlFormat.Describe(Name, Value);
}

/// <summary>Decodes the asm-generic <c>_IOC</c> layout (dir:2 | size:14 | type:8 | nr:8), used by x86_64 and arm64.</summary>
public static class IoctlFormat
{
    /// <summary>The <c>_IOC_DIR</c> bits: 0 none, 1 write, 2 read, 3 both.</summary>
    public static uint Direction(nuint request) => (uint)(request >> 30) & 0x3;

    /// <summary>The <c>_IOC_SIZE</c> field: the size of the argument struct in bytes.</summary>
    public static uint Size(nuint request) => (uint)(request >> 16) & 0x3fff;

    /// <summary>The <c>_IOC_TYPE</c> field (0xAE for KVM).</summary>
    public static uint Type(nuint request) => (uint)(request >> 8) & 0xff;

    /// <summary>The <c>_IOC_NR</c> field.</summary>
    public static uint Number(nuint request) => (uint)request & 0xff;

    /// <summary>"KVM_CREATE_VM (0xAE01)".</summary>
    public static string Describe(string name, nuint request) => $"{name} (0x{(ulong)request:X})";
}
