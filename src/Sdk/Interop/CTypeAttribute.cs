namespace Kvm.Interop;

/// <summary>Records the C type a generated struct or member has in the kernel headers (e.g. <c>__u64[14]</c>).</summary>
[AttributeUsage(AttributeTargets.Struct | AttributeTargets.Field | AttributeTargets.Property, Inherited = false)]
public sealed class CTypeAttribute : Attribute
{
    /// <summary>Records <paramref name="name"/> as the C type.</summary>
    public CTypeAttribute(string name) => Name = name;

    /// <summary>The C spelling of the type.</summary>
    public string Name { get; }
}
