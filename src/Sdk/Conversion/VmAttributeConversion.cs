using Kvm.Interop;

namespace Kvm;

/// <summary>The mainline backend of <see cref="IGuestMemoryConversion"/>: VM-level <c>KVM_SET_MEMORY_ATTRIBUTES</c>
/// with <c>KVM_MEMORY_ATTRIBUTE_PRIVATE</c>. Page state is tracked per guest-physical page (sparse: pages never
/// converted read as shared, the kernel's initial attribute). It does not change host access to a guest_memfd
/// mapping: on these kernels the shared side of a page is the slot's <c>userspace_addr</c> memory.</summary>
internal sealed class VmAttributeConversion : IGuestMemoryConversion
{
    private readonly MemoryAttributesFeature _attrs;
    private readonly Dictionary<ulong, PageState> _state = new();

    public VmAttributeConversion(MemoryAttributesFeature attrs) => _attrs = attrs;

    public ConversionBackend Backend => ConversionBackend.VmMemoryAttributes;

    public void ToPrivate(ulong gpa, ulong size) => Throw(TryToPrivate(gpa, size));

    public void ToShared(ulong gpa, ulong size) => Throw(TryToShared(gpa, size));

    public KvmResult TryToPrivate(ulong gpa, ulong size) => Convert(gpa, size, PageState.Private);

    public KvmResult TryToShared(ulong gpa, ulong size) => Convert(gpa, size, PageState.Shared);

    public PageState GetState(ulong gpa)
    {
        lock (_state)
            return _state.TryGetValue(gpa / (ulong)Pages.Size, out var s) ? s : PageState.Shared;
    }

    private KvmResult Convert(ulong gpa, ulong size, PageState to)
    {
        var r = _attrs.TrySet(gpa, size, to == PageState.Private ? KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE : 0);
        if (r.IsSuccess)
        {
            lock (_state)
                for (var p = gpa / (ulong)Pages.Size; p < (gpa + size) / (ulong)Pages.Size; p++)
                {
                    if (to == PageState.Shared)
                        _state.Remove(p);
                    else
                        _state[p] = to;
                }
        }
        return r;
    }

    private static void Throw(KvmResult r)
    {
        if (!r.IsSuccess)
            Fail.Ioctl(-(int)r.Errno, KvmIoctls.KVM_SET_MEMORY_ATTRIBUTES.Name, KvmIoctls.KVM_SET_MEMORY_ATTRIBUTES.Value, KvmFdKind.Vm);
    }
}
