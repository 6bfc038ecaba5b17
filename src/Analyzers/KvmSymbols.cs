using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;

namespace Kvm.Analyzers;

/// <summary>The SDK symbols the analyzers match against, resolved once per compilation (in CompilationStart).
/// <see cref="TryCreate"/> returns null when the compilation does not reference Kvm.Sdk, and the analyzers then
/// register nothing.</summary>
internal sealed class KvmSymbols
{
    private KvmSymbols(Compilation c, IAssemblySymbol? sdk, INamedTypeSymbol vmFd)
    {
        Compilation = c;
        VmFd = vmFd;
        KvmSystem = Type(c, sdk, "Kvm.KvmSystem");
        VcpuFd = Type(c, sdk, "Kvm.VcpuFd");
        GmemFd = Type(c, sdk, "Kvm.GmemFd");
        SlotHandle = Type(c, sdk, "Kvm.SlotHandle");
        HostMapping = Type(c, sdk, "Kvm.HostMapping");
        GmemMapping = Type(c, sdk, "Kvm.GmemMapping");
        HostMemory = Type(c, sdk, "Kvm.HostMemory");
        GuestMemfdFeature = Type(c, sdk, "Kvm.GuestMemfdFeature");
        MemoryAttributesFeature = Type(c, sdk, "Kvm.MemoryAttributesFeature");
        MemslotTable = Type(c, sdk, "Kvm.MemslotTable");
        Conversion = Type(c, sdk, "Kvm.IGuestMemoryConversion");
        KvmCapabilities = Type(c, sdk, "Kvm.KvmCapabilities");
        VmType = Type(c, sdk, "Kvm.VmType");
        Sys = Type(c, sdk, "Kvm.Interop.Sys");
        KvmIoctls = Type(c, sdk, "Kvm.Interop.KvmIoctls");
        KvmCap = Type(c, sdk, "Kvm.Interop.KvmCap");
        GuestMemfdFlags = Type(c, sdk, "Kvm.Interop.GuestMemfdFlags");
        KvmMemFlags = Type(c, sdk, "Kvm.Interop.KvmMemFlags");
        X86VmType = Type(c, sdk, "Kvm.Interop.X86VmType");
        MemoryAttributesStruct = Type(c, sdk, "Kvm.Interop.kvm_memory_attributes");
        CreateGuestMemfdStruct = Type(c, sdk, "Kvm.Interop.kvm_create_guest_memfd");
        Region2Struct = Type(c, sdk, "Kvm.Interop.kvm_userspace_memory_region2");
        RegionStruct = Type(c, sdk, "Kvm.Interop.kvm_userspace_memory_region");
        PreFaultStruct = Type(c, sdk, "Kvm.Interop.kvm_pre_fault_memory");

        KnownGmemFlags = EnumMask(GuestMemfdFlags);
        KnownMemFlags = EnumMask(KvmMemFlags);
        MemGuestMemfd = EnumValue(KvmMemFlags, "KVM_MEM_GUEST_MEMFD") ?? 4;
        MemReadonly = EnumValue(KvmMemFlags, "KVM_MEM_READONLY") ?? 2;
        MemLogDirty = EnumValue(KvmMemFlags, "KVM_MEM_LOG_DIRTY_PAGES") ?? 1;
        GmemFlagMmap = EnumValue(GuestMemfdFlags, "GUEST_MEMFD_FLAG_MMAP") ?? 1;
        GmemFlagInitShared = EnumValue(GuestMemfdFlags, "GUEST_MEMFD_FLAG_INIT_SHARED") ?? 2;
        KvmResult = Type(c, sdk, "Kvm.KvmResult");
        AttributePrivate = EnumValue(Type(c, sdk, "Kvm.Interop.KvmMemoryAttributes"), "KVM_MEMORY_ATTRIBUTE_PRIVATE") ?? 8;

        InPlaceConversionV8 = Member<IPropertySymbol>(VmFd, "InPlaceConversionV8");
        InPlaceConversionRfcV2 = Member<IPropertySymbol>(VmFd, "InPlaceConversionRfcV2");
        VmMemoryAttributes = Member<IPropertySymbol>(VmFd, "MemoryAttributes");
        VmGuestMemfd = Member<IPropertySymbol>(VmFd, "GuestMemfd");
        VmMemslots = Member<IPropertySymbol>(VmFd, "Memslots");

        // Ioctls whose capability the types cannot enforce when issued raw: request field -> capability (name, number).
        var gated = new Dictionary<ISymbol, (string Cap, long Number, string Errno)>(SymbolEqualityComparer.Default);
        AddGate(gated, "KVM_CREATE_GUEST_MEMFD", "KVM_CAP_GUEST_MEMFD", "EINVAL/ENOTTY");
        AddGate(gated, "KVM_SET_MEMORY_ATTRIBUTES", "KVM_CAP_MEMORY_ATTRIBUTES", "ENOTTY/EINVAL");
        AddGate(gated, "KVM_SET_USER_MEMORY_REGION2", "KVM_CAP_USER_MEMORY2", "ENOTTY");
        AddGate(gated, "KVM_PRE_FAULT_MEMORY", "KVM_CAP_PRE_FAULT_MEMORY", "ENOTTY/EOPNOTSUPP");
        GatedIoctls = gated;
        CheckExtension = Member<IFieldSymbol>(KvmIoctls, "KVM_CHECK_EXTENSION");
        SetMemoryAttributesIoctl = Member<IFieldSymbol>(KvmIoctls, "KVM_SET_MEMORY_ATTRIBUTES");
    }

    public Compilation Compilation { get; }
    public INamedTypeSymbol VmFd { get; }
    public INamedTypeSymbol? KvmSystem { get; }
    public INamedTypeSymbol? VcpuFd { get; }
    public INamedTypeSymbol? GmemFd { get; }
    public INamedTypeSymbol? SlotHandle { get; }
    public INamedTypeSymbol? HostMapping { get; }
    public INamedTypeSymbol? GmemMapping { get; }
    public INamedTypeSymbol? HostMemory { get; }
    public INamedTypeSymbol? GuestMemfdFeature { get; }
    public INamedTypeSymbol? MemoryAttributesFeature { get; }
    public INamedTypeSymbol? MemslotTable { get; }
    public INamedTypeSymbol? Conversion { get; }
    public INamedTypeSymbol? KvmCapabilities { get; }
    public INamedTypeSymbol? VmType { get; }
    public INamedTypeSymbol? Sys { get; }
    public INamedTypeSymbol? KvmIoctls { get; }
    public INamedTypeSymbol? KvmCap { get; }
    public INamedTypeSymbol? GuestMemfdFlags { get; }
    public INamedTypeSymbol? KvmMemFlags { get; }
    public INamedTypeSymbol? X86VmType { get; }
    public INamedTypeSymbol? MemoryAttributesStruct { get; }
    public INamedTypeSymbol? CreateGuestMemfdStruct { get; }
    public INamedTypeSymbol? Region2Struct { get; }
    public INamedTypeSymbol? RegionStruct { get; }
    public INamedTypeSymbol? PreFaultStruct { get; }
    public ulong KnownGmemFlags { get; }
    public ulong KnownMemFlags { get; }
    public ulong MemGuestMemfd { get; }
    public ulong MemReadonly { get; }
    public ulong MemLogDirty { get; }
    public ulong GmemFlagMmap { get; }
    public ulong GmemFlagInitShared { get; }
    public INamedTypeSymbol? KvmResult { get; }

    /// <summary>The value of a <c>KvmCap</c> member, or null.</summary>
    public ulong? Cap(string name) => EnumValue(KvmCap, name);
    public ulong AttributePrivate { get; }
    public IPropertySymbol? InPlaceConversionV8 { get; }
    public IPropertySymbol? InPlaceConversionRfcV2 { get; }
    public IPropertySymbol? VmMemoryAttributes { get; }
    public IPropertySymbol? VmGuestMemfd { get; }
    public IPropertySymbol? VmMemslots { get; }
    public IReadOnlyDictionary<ISymbol, (string Cap, long Number, string Errno)> GatedIoctls { get; }
    public IFieldSymbol? CheckExtension { get; }
    public IFieldSymbol? SetMemoryAttributesIoctl { get; }

    public static KvmSymbols? TryCreate(Compilation compilation)
    {
        var sdk = SdkAssembly(compilation);
        return Type(compilation, sdk, "Kvm.VmFd") is { } vm ? new KvmSymbols(compilation, sdk, vm) : null;
    }

    /// <summary>The Kvm.Sdk reference, or null (a compilation that declares the SDK's types itself, as tests do).</summary>
    private static IAssemblySymbol? SdkAssembly(Compilation c)
    {
        foreach (var a in c.SourceModule.ReferencedAssemblySymbols)
            if (a.Name == "Kvm.Sdk")
                return a;
        return null;
    }

    /// <summary>A type of the SDK or of its bindings: from the project's own source first (bindings the generator
    /// wrote into the project), then from the Kvm.Sdk reference. Not <c>Compilation.GetTypeByMetadataName</c>: that
    /// asks every reference (about 170 in a .NET project) so as to report ambiguity, and loading their namespace trees
    /// at compilation start was the larger part of what this analyzer cost a fresh compiler process.</summary>
    private static INamedTypeSymbol? Type(Compilation c, IAssemblySymbol? sdk, string metadataName)
    {
        // The declaration table's type names answer "does the project declare a type of this name?" without building
        // the source namespaces' member maps, which are the first thing GetTypeByMetadataName on the source asks for.
        var simpleName = metadataName.Substring(metadataName.LastIndexOf('.') + 1);
        return (c.Assembly.TypeNames.Contains(simpleName) ? c.Assembly.GetTypeByMetadataName(metadataName) : null)
            ?? sdk?.GetTypeByMetadataName(metadataName);
    }

    public static bool Is(ITypeSymbol? type, INamedTypeSymbol? expected) =>
        expected is not null && SymbolEqualityComparer.Default.Equals(type?.OriginalDefinition, expected);

    public bool IsSdkHandle(ITypeSymbol? type, out string resource)
    {
        resource = "";
        if (type is null)
            return false;
        if (Is(type, KvmSystem)) { resource = "/dev/kvm fd"; return true; }
        if (Is(type, VmFd)) { resource = "VM fd (and its memslots)"; return true; }
        if (Is(type, VcpuFd)) { resource = "vCPU fd and kvm_run mapping"; return true; }
        if (Is(type, GmemFd)) { resource = "guest_memfd fd"; return true; }
        for (var t = type; t is not null; t = t.BaseType)
            if (Is(t, HostMapping)) { resource = "host mapping"; return true; }
        return false;
    }

    private void AddGate(Dictionary<ISymbol, (string, long, string)> map, string ioctl, string cap, string errno)
    {
        if (Member<IFieldSymbol>(KvmIoctls, ioctl) is { } f && KvmCap?.GetMembers(cap).Length > 0 &&
            KvmCap.GetMembers(cap)[0] is IFieldSymbol { HasConstantValue: true } c)
            map[f] = (cap, System.Convert.ToInt64(c.ConstantValue, System.Globalization.CultureInfo.InvariantCulture), errno);
    }

    private static T? Member<T>(INamedTypeSymbol? type, string name) where T : class, ISymbol
    {
        if (type is null)
            return null;
        foreach (var m in type.GetMembers(name))
            if (m is T t)
                return t;
        return null;
    }

    private static ulong? EnumValue(INamedTypeSymbol? type, string name) =>
        Member<IFieldSymbol>(type, name) is { HasConstantValue: true } f ? Constants.ToUInt64(f.ConstantValue) : null;

    private static ulong EnumMask(INamedTypeSymbol? type)
    {
        ulong mask = 0;
        if (type is null)
            return 0;
        foreach (var m in type.GetMembers())
            if (m is IFieldSymbol { HasConstantValue: true } f && Constants.ToUInt64(f.ConstantValue) is { } v)
                mask |= v;
        return mask;
    }
}
