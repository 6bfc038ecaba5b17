namespace Kvm;

/// <summary>The live memslots of one address space, indexed three ways so that every memslot-table operation costs
/// O(log n): by id (in-use check, O(1)), by guest-physical range (overlap and lookup), and the free ids.</summary>
internal sealed class AddressSpaceSlots
{
    /// <summary>Ids 0 .. <paramref name="maxSlots"/> − 1 (<c>KVM_CAP_NR_MEMSLOTS</c>), all free.</summary>
    public AddressSpaceSlots(int maxSlots) => Ids = new SlotIdAllocator(maxSlots);

    /// <summary>Live slots by id.</summary>
    public Dictionary<int, SlotHandle> ById { get; } = new();

    /// <summary>Live slots by [guest_phys_addr, + memory_size).</summary>
    public DisjointRangeMap<SlotHandle> ByGpa { get; } = new();

    /// <summary>Which ids are free.</summary>
    public SlotIdAllocator Ids { get; }

    /// <summary>Records a slot the kernel accepted.</summary>
    public void Add(SlotHandle slot)
    {
        Ids.Take(slot.Id);
        ById.Add(slot.Id, slot);
        ByGpa.Add(slot.GuestPhysicalAddress, slot.GuestPhysicalAddress + slot.Size, slot);
    }

    /// <summary>Forgets a slot and frees its id.</summary>
    public void Remove(SlotHandle slot)
    {
        ById.Remove(slot.Id);
        ByGpa.Remove(slot.GuestPhysicalAddress, slot);
        Ids.Free(slot.Id);
    }
}
