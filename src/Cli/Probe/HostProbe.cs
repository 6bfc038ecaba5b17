using Kvm.Interop;

namespace Kvm.Cli.Probe;

/// <summary>Probes the KVM of the machine it runs on (a host with /dev/kvm, or the throw-away guest) through the
/// typed SDK, so a pass here means the SDK works on this kernel, not only the raw ioctl.</summary>
internal static class HostProbe
{
    private const ulong MemorySize = 64 * 1024;
    private const ulong DataPage = ProbeGuest.DataPage;
    private static readonly ProbeGuest? Guest = ProbeGuest.ForThisMachine();

    private static bool IsArm64 => System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.Arm64;

    public static ProbeReport Run(string devicePath, Action<string> progress)
    {
        var report = new ProbeReport
        {
            Kernel = File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : Environment.OSVersion.VersionString,
            Architecture = IsArm64 ? "arm64" : "x86_64",
            Bindings = KvmUapi.Profile,
        };
        using var kvm = KvmSystem.Open(devicePath);
        report.ApiVersion = kvm.ApiVersion;

        var types = CandidateTypes().Where(kvm.SupportsVmType).ToList();
        report.VmTypes.AddRange(types.Select(t => t.Name));
        progress($"kernel {report.Kernel}: VM types {string.Join(", ", report.VmTypes)}");

        var vms = new Dictionary<string, VmFd>();
        try
        {
            foreach (var t in types)
            {
                if (kvm.TryCreateVm(t, out var vm) is { Errno: var e } r && vm is null)
                    report.Checks.Add(new ProbeCheck("create VM (KVM_CREATE_VM)", t.Name, Verdict.Fail, $"{e}"));
                else
                {
                    vms[t.Name] = vm!;
                    report.Checks.Add(new ProbeCheck("create VM (KVM_CREATE_VM)", t.Name, Verdict.Pass, ""));
                }
            }
            bool vmScope = kvm.Capabilities.Has(KvmCap.KVM_CAP_CHECK_EXTENSION_VM);
            foreach (var cap in Enum.GetValues<KvmCap>().Distinct().OrderBy(c => (int)c))
            {
                var per = new Dictionary<string, int>();
                if (vmScope) foreach (var (name, vm) in vms) per[name] = Answer(vm.Capabilities, cap);
                report.Capabilities.Add(new CapabilityAnswer(cap.ToString(), (int)cap, Answer(kvm.Capabilities, cap), per));
            }
            progress($"{report.Capabilities.Count} capabilities asked at system scope and on {vms.Count} VM type(s)");
            foreach (var (name, vm) in vms) ProbeVm(kvm, vm, report);
            InPlaceProbe.Run(vms, report, IsArm64);
        }
        finally
        {
            foreach (var vm in vms.Values) vm.Dispose();
        }
        return report;
    }

    // The answer, or -errno where the kernel refuses the question (arm64 /dev/kvm does for VM-only capabilities).
    private static int Answer(KvmCapabilities caps, KvmCap cap) =>
        caps.TryCheckRaw((int)cap, out var answer) is { IsSuccess: false } refused ? -(int)refused.Errno : answer;

    private static IEnumerable<VmType> CandidateTypes() =>
        IsArm64
            ? new[] { VmType.Arm64Default }
            : Enum.GetValues<X86VmType>().Distinct().Select(VmType.X86);

    private static void ProbeVm(KvmSystem kvm, VmFd vm, ProbeReport report)
    {
        string t = vm.Type.Name;
        void Add(string check, Verdict v, string detail = "") => report.Checks.Add(new ProbeCheck(check, t, v, detail));
        if (vm.GuestMemfd is not { } gmem)
        {
            Add("guest_memfd (KVM_CREATE_GUEST_MEMFD)", Verdict.Unsupported, "KVM_CAP_GUEST_MEMFD is 0 on this VM");
        }
        else
        {
            foreach (var flags in new[] { (GuestMemfdFlags)0, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED })
            {
                string check = $"guest_memfd flags={(flags == 0 ? "0" : flags.ToString().Replace("GUEST_MEMFD_FLAG_", ""))}";
                if ((flags & ~gmem.SupportedFlags) != 0) { Add(check, Verdict.Unsupported, $"not in KVM_CAP_GUEST_MEMFD_FLAGS (0x{(ulong)gmem.SupportedFlags:X})"); continue; }
                Attempt(check, Add, () =>
                {
                    using var fd = gmem.Create(MemorySize, flags);
                    if (!fd.IsMappable) return "created";
                    using var map = fd.Map();
                    if (!flags.HasFlag(GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED)) return "created and mapped (pages private: not touched)";
                    map.Write(0x2000, "kvm"u8);
                    Span<byte> back = stackalloc byte[3];
                    map.Read(0x2000, back);
                    return back.SequenceEqual("kvm"u8) ? "created, mapped, written and read back" : throw new InvalidOperationException("read back differs");
                });
            }
            RunFromGuestMemfd(kvm, vm, gmem, Add);
        }
        Conversion(kvm, vm, Add);
    }

    private static void RunFromGuestMemfd(KvmSystem kvm, VmFd vm, GuestMemfdFeature gmem, Action<string, Verdict, string> add)
    {
        const string check = "bind a memslot to guest_memfd and run a vCPU from it";
        var flags = GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED;
        if ((flags & ~gmem.SupportedFlags) != 0) { add(check, Verdict.Unsupported, "needs MMAP|INIT_SHARED guest_memfd (host-written guest code)"); return; }
        if (Guest is not { } guest) { add(check, Verdict.Skipped, "the probe has no guest program for this architecture"); return; }
        Attempt(check, (c, v, d) => add(c, v, d), () =>
        {
            using var fd = gmem.Create(MemorySize, flags);
            using var map = fd.Map();
            map.Write(0, guest.Code);
            map.Write(DataPage, "K"u8);
            using var slot = vm.Memslots.Add(gpa: 0, map);
            using var vcpu = vm.CreateVcpu(0);
            byte got = guest.Run(vcpu);
            return got == (byte)'K' ? $"guest read 'K' from guest_memfd and wrote it to {guest.Channel}" : throw new InvalidOperationException($"guest wrote 0x{got:X2}, expected 'K'");
        });
    }

    private static void Conversion(KvmSystem kvm, VmFd vm, Action<string, Verdict, string> add)
    {
        const string check = "turn a page private and back (guest sees guest_memfd, then host memory)";
        if (vm.Conversion is not { } conversion || vm.GuestMemfd is not { } gmem)
        {
            add(check, Verdict.Unsupported, "no PRIVATE memory attribute on this VM (KVM_CAP_MEMORY_ATTRIBUTES)");
            return;
        }
        if (Guest is not { } guest) { add(check, Verdict.Skipped, "the probe has no guest program for this architecture"); return; }
        Attempt(check, add, () =>
        {
            using var fd = gmem.Create(MemorySize);
            using var shared = kvm.AllocateHostMemory(MemorySize);
            shared.Write(0, guest.Code);
            shared.Write(DataPage, "S"u8);
            using var slot = vm.Memslots.Add(gpa: 0, fd, gmemOffset: 0, size: MemorySize, shared: shared);
            using var vcpu = vm.CreateVcpu(1);
            byte before = guest.Run(vcpu);
            conversion.ToPrivate(DataPage, 4096);
            byte during = guest.Run(vcpu);
            conversion.ToShared(DataPage, 4096);
            byte after = guest.Run(vcpu);
            if (before != 'S' || during != 0 || after != 'S') throw new InvalidOperationException($"guest read 0x{before:X2}/0x{during:X2}/0x{after:X2}, expected 'S'/00/'S'");
            return $"via {conversion.Backend}: shared 'S', private 0x00, shared 'S'";
        });
    }

    private static void Attempt(string check, Action<string, Verdict, string> add, Func<string> body)
    {
        try
        {
            add(check, Verdict.Pass, body());
        }
        catch (Exception e) when (e is KvmException or InvalidOperationException or ArgumentException or IOException)
        {
            add(check, Verdict.Fail, e.Message);
        }
    }
}
