using Kvm.Interop;
using Kvm.Syscalls;

namespace Kvm;

#pragma warning disable KVMEXP001 // the detector is the experimental profile's own machinery

/// <summary>
/// Asks a running kernel, on one VM, whether it implements an in-place conversion profile. Every signal the kernel
/// gives is collected and none wins alone, because the proposed capability numbers are released capabilities of other
/// architectures (249 <c>KVM_CAP_S390_HPAGE_2G</c>, 250 <c>KVM_CAP_PPC_COMPAT_CAPS</c>):
/// the posting's module parameter under <c>/sys/module/kvm/parameters/</c>, the other posting's parameter, the
/// capability's answer (an attribute mask with PRIVATE, or anything else), and <c>KVM_SET_MEMORY_ATTRIBUTES2</c> on a
/// one-page guest_memfd with size 0 (EINVAL: the ioctl exists and rejected the size; ENOTTY: it does not exist).
/// </summary>
internal static class InPlaceDetector
{
    public static unsafe InPlaceDetection Detect(VmFd vm, IKvmSyscalls sys, InPlaceProfile profile)
    {
        var signals = new List<InPlaceSignal>();

        // 1. Module parameters: the profile's own, and the other known posting's.
        foreach (var name in new[] { InPlaceProfile.V7Parameter, InPlaceProfile.V8Parameter })
        {
            var value = sys.ReadModuleParameter("kvm", name);
            var source = $"kvm.{name}";
            if (profile.Parameter is null)
            {
                if (value is not null)
                    signals.Add(new InPlaceSignal(source, value, null));
                continue;
            }
            if (name == profile.Parameter)
                signals.Add(new InPlaceSignal(source, value ?? "absent", value is null ? false : value == profile.EnabledValue));
            else if (value is not null)
                signals.Add(new InPlaceSignal(source, value + " (another posting's parameter)", false));
        }

        // 2. The capability by the profile's number: a mask holding PRIVATE and nothing else, or not.
        const int Private = (int)KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE;
        var cap = vm.Capabilities.TryCheckRaw(profile.Capability, out var answer);
        signals.Add(!cap.IsSuccess
            ? new InPlaceSignal($"capability {profile.Capability}", cap.ToString(), false)
            : new InPlaceSignal($"capability {profile.Capability}",
                answer == Private ? "8 (PRIVATE)" : answer == 0 ? "0" : $"{answer} (not an attribute mask: a released capability's answer)",
                answer == Private));

        // 3. The ioctl itself on a guest_memfd fd, with size 0 so that it can change nothing.
        signals.Add(ProbeIoctl(vm, sys, profile));

        // 4. Mainline VM-level attributes reporting PRIVATE exclude in-place conversion (the postings make them exclusive).
        var attrs = vm.Capabilities.TryCheckRaw((int)KvmCap.KVM_CAP_MEMORY_ATTRIBUTES, out var mask);
        var legacyPrivate = attrs.IsSuccess && (mask & Private) != 0;
        if (legacyPrivate)
            signals.Add(new InPlaceSignal("KVM_CAP_MEMORY_ATTRIBUTES", $"{mask} (VM-level PRIVATE is on)", false));

        return new InPlaceDetection(profile, Combine(signals, profile), signals, Legacy(vm, sys, legacyPrivate));
    }

    private static InPlaceVerdict Combine(List<InPlaceSignal> signals, InPlaceProfile profile)
    {
        var opinions = signals.Where(s => s.SaysOn is not null).ToList();
        if (opinions.Count > 0 && opinions.All(s => s.SaysOn == true))
            return InPlaceVerdict.Matches;
        if (opinions.All(s => s.SaysOn == false))
        {
            var param = signals.FirstOrDefault(s => s.Source == $"kvm.{profile.Parameter}");
            return param is not null && param.Answer != "absent" ? InPlaceVerdict.Disabled : InPlaceVerdict.NotInKernel;
        }
        return InPlaceVerdict.SignalsDisagree;
    }

    private static unsafe InPlaceSignal ProbeIoctl(VmFd vm, IKvmSyscalls sys, InPlaceProfile profile)
    {
        const string Source = "KVM_SET_MEMORY_ATTRIBUTES2 on a guest_memfd";
        if (vm.GuestMemfd is not { } feature)
            return new InPlaceSignal(Source, "not asked (no guest_memfd on this VM)", null);
        var created = feature.TryCreate((ulong)Pages.Size, 0, out var gmem);
        if (!created.IsSuccess || gmem is null)
            return new InPlaceSignal(Source, $"not asked (KVM_CREATE_GUEST_MEMFD: {created})", null);
        using (gmem)
        {
            var arg = new KvmMemoryAttributes2(); // size 0: rejected by an implementing kernel before any effect
            using var fd = gmem.BorrowFd();
            // SAFETY: `arg` is a zeroed 128-byte stack local; profile.Request encodes 128 bytes (checked by
            // InPlaceProfile.From); the kernel may write error_offset back into it.
            var rc = sys.Ioctl(fd.Value, profile.Request, &arg);
            return rc switch
            {
                0 => new InPlaceSignal(Source, "0 (exists)", true),
                -(int)Errno.EINVAL => new InPlaceSignal(Source, "EINVAL (exists, size 0 refused)", true),
                -(int)Errno.ENOTTY => new InPlaceSignal(Source, "ENOTTY (no such ioctl)", false),
                _ => new InPlaceSignal(Source, ErrnoText.Name(-rc), null),
            };
        }
    }

    private static unsafe LegacyAttributesOutcome Legacy(VmFd vm, IKvmSyscalls sys, bool legacyPrivate)
    {
        var arg = new kvm_memory_attributes(); // size 0: EINVAL where the ioctl exists, before any effect
        var h = vm.Fd.Enter();
        try
        {
            // SAFETY: `arg` is a zeroed stack local of the generated 32-byte layout; the kernel only reads it.
            var rc = sys.Ioctl(h.Fd, KvmIoctls.KVM_SET_MEMORY_ATTRIBUTES.Value, &arg);
            return rc switch
            {
                -(int)Errno.ENOTTY => LegacyAttributesOutcome.Enotty,
                -(int)Errno.EINVAL or 0 => legacyPrivate ? LegacyAttributesOutcome.Works : LegacyAttributesOutcome.EinvalForPrivate,
                _ => LegacyAttributesOutcome.Unknown,
            };
        }
        finally
        {
            vm.Fd.Exit();
        }
    }
}
