namespace Kvm;

/// <summary>One page harvested from a dirty ring: the kernel's <c>kvm_dirty_gfn</c> (slot id with its address space,
/// page offset in the slot) and the guest-physical address the SDK's memslot table gives it.</summary>
/// <param name="Slot">Slot id (bits 15:0 of <c>kvm_dirty_gfn.slot</c>).</param>
/// <param name="AddressSpace">Address-space id (bits 31:16).</param>
/// <param name="PageOffset">Page index inside the slot (<c>kvm_dirty_gfn.offset</c>).</param>
/// <param name="Gpa">The page's guest-physical address, or <see cref="ulong.MaxValue"/> when no live slot has that id
/// any more (deleted since the kernel logged the page); a moved slot gives the page's new address.</param>
public readonly record struct DirtyPage(int Slot, int AddressSpace, ulong PageOffset, ulong Gpa);
