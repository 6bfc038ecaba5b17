using System.Collections.Frozen;

namespace Kvm.Interop;

/// <summary>
/// Every constant and ioctl number one set of headers defines for one architecture, by name. The generator emits
/// one per architecture (<c>KvmUapi.For("x86_64")</c>); the SDK takes numbers of proposed, unmerged ABI from such a
/// table — the one generated from the headers the user builds against — and never from constants of its own.
/// </summary>
public sealed class UapiTable
{
    private readonly FrozenDictionary<string, ulong> _constants;
    private readonly FrozenDictionary<string, uint> _ioctls;

    /// <summary>Builds a table; normally called only by generated code.</summary>
    public UapiTable(string profile, string architecture, (string Name, ulong Value)[] constants, (string Name, uint Value)[] ioctls)
    {
        Profile = profile;
        Architecture = architecture;
        _constants = constants.ToFrozenDictionary(c => c.Name, c => c.Value, StringComparer.Ordinal);
        _ioctls = ioctls.ToFrozenDictionary(c => c.Name, c => c.Value, StringComparer.Ordinal);
    }

    /// <summary>The header profile (e.g. <c>7.3.4</c> or <c>7.3.4+inplace-conversion-v8</c>).</summary>
    public string Profile { get; }

    /// <summary><c>x86_64</c> or <c>arm64</c>.</summary>
    public string Architecture { get; }

    /// <summary>Every constant name the headers define.</summary>
    public IEnumerable<string> ConstantNames => _constants.Keys;

    /// <summary>Every ioctl name the headers define.</summary>
    public IEnumerable<string> IoctlNames => _ioctls.Keys;

    /// <summary>The constant's 64-bit value, if the headers define it.</summary>
    public bool TryGetConstant(string name, out ulong value) => _constants.TryGetValue(name, out value);

    /// <summary>The ioctl's request number, if the headers define it.</summary>
    public bool TryGetIoctl(string name, out uint value) => _ioctls.TryGetValue(name, out value);

    /// <inheritdoc />
    public override string ToString() => $"{Profile} ({Architecture}): {_constants.Count} constants, {_ioctls.Count} ioctls";
}
