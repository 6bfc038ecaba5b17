using Kvm.Interop;

namespace Kvm;

public sealed partial class MemslotTable
{
    internal VmFd Vm => _vm;

    /// <summary>The two in-place changes the kernel allows on a live slot (<c>KVM_MR_FLAGS_ONLY</c> and
    /// <c>KVM_MR_MOVE</c>): same id, size and <c>userspace_addr</c>, with new flags or a new guest-physical address.
    /// Everything the kernel would refuse is refused first, naming the errno.</summary>
    internal void Update(SlotHandle slot, ulong newGpa, KvmMemFlags newFlags)
    {
        if (slot.GuestMemfd is not null)
            Fail.Argument(nameof(slot),
                $"{slot} is a guest_memfd slot: the kernel keeps such slots immutable (any change but deletion is EINVAL); delete it and add a new one");
        var known = KvmMemFlags.KVM_MEM_LOG_DIRTY_PAGES | KvmMemFlags.KVM_MEM_READONLY;
        if ((newFlags & ~known) != 0)
            Fail.Argument(nameof(newFlags), $"memslot flags 0x{(uint)(newFlags & ~known):X} are not accepted in an update");
        if (((newFlags ^ slot.Flags) & KvmMemFlags.KVM_MEM_READONLY) != 0)
            Fail.Argument(nameof(newFlags),
                $"KVM_MEM_READONLY cannot change on a live slot ({slot}): the kernel answers EINVAL; delete the slot and add it again");
        Pages.RequireAligned(newGpa, nameof(newGpa), "guest_phys_addr");
        Pages.RequireNoWrap(newGpa, slot.Size, nameof(newGpa), "guest-physical range");
        if (_vm.Type.IpaBits is { } ipa && ipa < 64 && newGpa + slot.Size > 1UL << ipa)
            Fail.Range(nameof(newGpa), newGpa, $"[0x{newGpa:X}, +0x{slot.Size:X}) ends beyond the {ipa}-bit guest-physical space (EFAULT)");

        lock (_gate)
        {
            if (slot.IsDeleted || _closed)
                throw new ObjectDisposedException(nameof(SlotHandle), $"{slot} was deleted");
            if (newGpa == slot.GuestPhysicalAddress && newFlags == slot.Flags)
                return; // the kernel answers 0 and changes nothing
            var space = _spaces[slot.AddressSpace]!;
            var oldGpa = slot.GuestPhysicalAddress;
            var moved = newGpa != oldGpa;
            if (moved)
            {
                space.ByGpa.Remove(oldGpa, slot);
                var other = space.ByGpa.FindOverlap(newGpa, newGpa + slot.Size);
                if (other is not null)
                {
                    space.ByGpa.Add(oldGpa, oldGpa + slot.Size, slot);
                    Fail.Argument(nameof(newGpa), $"[0x{newGpa:X}, 0x{newGpa + slot.Size:X}) overlaps {other} (the kernel answers EEXIST)");
                }
            }
            var region = slot.Region;
            region.guest_phys_addr = newGpa;
            region.flags = (uint)newFlags;
            try
            {
                Set(region);
            }
            catch
            {
                if (moved)
                    space.ByGpa.Add(oldGpa, oldGpa + slot.Size, slot);
                throw;
            }
            slot.Region = region;
            if (moved)
                space.ByGpa.Add(newGpa, newGpa + slot.Size, slot);
        }
    }

    /// <summary>The guest-physical address of page <paramref name="pageOffset"/> of slot <c>(as &lt;&lt; 16) | id</c>,
    /// as the kernel names a page in a dirty ring entry; false when no such slot is live.</summary>
    internal bool TryTranslate(uint slotField, ulong pageOffset, out ulong gpa)
    {
        gpa = 0;
        var addressSpace = (int)(slotField >> 16);
        if (addressSpace >= AddressSpaces)
            return false;
        lock (_gate)
        {
            if (_spaces[addressSpace] is not { } space || !space.ById.TryGetValue((int)(slotField & 0xFFFF), out var slot))
                return false;
            if (pageOffset >= slot.Size / (ulong)Pages.Size)
                return false;
            gpa = slot.GuestPhysicalAddress + pageOffset * (ulong)Pages.Size;
            return true;
        }
    }
}
