using Kvm.Analyzers.CodeFixes;
using Kvm.Analyzers.Tests.Support;

namespace Kvm.Analyzers.Tests;

/// <summary>KVM1013: an arm64 memslot bound to a guest_memfd created without GUEST_MEMFD_FLAG_MMAP (EINVAL from
/// KVM_SET_USER_MEMORY_REGION2), and its fix.</summary>
public class Arm64GmemMmapTests
{
    [Fact]
    public Task Arm64_vm_type_in_the_method_is_reported() => Verify.Analyzer<Arm64GmemMmapRule>("""
        class C
        {
            void M(KvmSystem kvm, bool big)
            {
                using var vm = kvm.CreateVm(big ? VmType.Arm64(48) : VmType.Arm64Default);
                using var a = vm.GuestMemfd!.Create(0x200000);
                using var sa = vm.Memslots.Add(0, {|KVM1013:a|}, 0, 0x200000);
                var flags = GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED;
                using var b = vm.GuestMemfd!.Create(0x200000, flags);
                using var sb = vm.Memslots.Add(0x200000, {|KVM1013:b|}, 0, 0x200000);
            }
        }
        """);

    [Fact]
    public Task MMAP_on_every_path_or_no_arm64_evidence_is_not_reported() => Verify.Analyzer<Arm64GmemMmapRule>("""
        class C
        {
            void Mapped(KvmSystem kvm, bool shared)
            {
                using var vm = kvm.CreateVm(VmType.Arm64Default);
                using var g = vm.GuestMemfd!.Create(0x200000, shared
                    ? GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED
                    : GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP);
                using var s = vm.Memslots.Add(0, g, 0, 0x200000);
            }

            void X86(KvmSystem kvm)
            {
                using var vm = kvm.CreateVm(VmType.X86SwProtected);
                using var g = vm.GuestMemfd!.Create(0x200000);
                using var s = vm.Memslots.Add(0, g, 0, 0x200000);
            }

            void Unknown(VmFd vm, bool arm)
            {
                using var g = vm.GuestMemfd!.Create(0x200000);
                using var s = vm.Memslots.Add(0, g, 0, 0x200000);
            }

            void Protected(KvmSystem kvm)
            {
                using var vm = kvm.CreateVm(VmType.Arm64Protected());
                using var g = vm.GuestMemfd!.Create(0x200000);
                using var s = vm.Memslots.Add(0, g, 0, 0x200000);
            }

            void FlagsUnknown(KvmSystem kvm, GuestMemfdFlags flags)
            {
                using var vm = kvm.CreateVm(VmType.Arm64Default);
                using var g = vm.GuestMemfd!.Create(0x200000, flags);
                using var s = vm.Memslots.Add(0, g, 0, 0x200000);
            }
        }
        """);

    [Fact]
    public Task The_project_can_say_arm64() => Verify.Analyzer<Arm64GmemMmapRule>("""
        class C
        {
            void M(VmFd vm)
            {
                using var g = vm.GuestMemfd!.Create(0x200000, 0);
                using var s = vm.Memslots.Add(0, {|KVM1013:g|}, 0, 0x200000);
            }
        }
        """, "build_property.KvmTargetArchitecture = arm64");

    [Fact]
    public Task An_arm64_runtime_identifier_says_arm64_and_x86_64_does_not() => Task.WhenAll(
        Verify.Analyzer<Arm64GmemMmapRule>("""
            class C
            {
                void M(VmFd vm)
                {
                    using var g = vm.GuestMemfd!.Create(0x200000);
                    using var s = vm.Memslots.Add(0, {|KVM1013:g|}, 0, 0x200000);
                }
            }
            """, "build_property.RuntimeIdentifier = linux-arm64"),
        Verify.Analyzer<Arm64GmemMmapRule>("""
            class C
            {
                void M(KvmSystem kvm)
                {
                    using var vm = kvm.CreateVm(VmType.Arm64Default);
                    using var g = vm.GuestMemfd!.Create(0x200000);
                    using var s = vm.Memslots.Add(0, g, 0, 0x200000);
                }
            }
            """, "build_property.KvmTargetArchitecture = x86_64"));

    [Fact]
    public Task An_arm64_platform_target_says_arm64_unless_a_runtime_identifier_names_another_architecture() => Task.WhenAll(
        Verify.Analyzer<Arm64GmemMmapRule>("""
            class C
            {
                void M(VmFd vm)
                {
                    using var g = vm.GuestMemfd!.Create(0x200000);
                    using var s = vm.Memslots.Add(0, {|KVM1013:g|}, 0, 0x200000);
                }
                void X86(KvmSystem kvm)
                {
                    using var vm = kvm.CreateVm(VmType.X86SwProtected);
                    using var g = vm.GuestMemfd!.Create(0x200000);
                    using var s = vm.Memslots.Add(0, g, 0, 0x200000);
                }
            }
            """, "build_property.PlatformTarget = ARM64"),
        Verify.Analyzer<Arm64GmemMmapRule>("""
            class C
            {
                void M(VmFd vm)
                {
                    using var g = vm.GuestMemfd!.Create(0x200000);
                    using var s = vm.Memslots.Add(0, g, 0, 0x200000);
                }
            }
            """, "build_property.PlatformTarget = arm64", "build_property.RuntimeIdentifier = linux-x64"),
        Verify.Analyzer<Arm64GmemMmapRule>("""
            class C
            {
                void M(VmFd vm)
                {
                    using var g = vm.GuestMemfd!.Create(0x200000);
                    using var s = vm.Memslots.Add(0, g, 0, 0x200000);
                }
            }
            """, "build_property.PlatformTarget = x64"));

    [Fact]
    public void The_targets_file_makes_PlatformTarget_visible_to_the_analyzer()
    {
        var dir = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(dir, "Sdk.sln")))
            dir = Path.GetDirectoryName(dir) ?? throw new InvalidOperationException("repository root not found");
        var targets = System.Xml.Linq.XDocument.Load(Path.Combine(dir, "src", "Analyzers", "build", "Kvm.Sdk.Analyzers.targets"));
        var visible = targets.Descendants("CompilerVisibleProperty").Select(e => (string?)e.Attribute("Include")).OfType<string>()
            .SelectMany(v => v.Split(';')).ToHashSet();
        Assert.Contains("PlatformTarget", visible);
        Assert.Contains("RuntimeIdentifier", visible);
    }

    [Fact]
    public Task An_x86_vm_created_here_outranks_an_arm64_runtime_identifier() => Verify.Analyzer<Arm64GmemMmapRule>("""
        class C
        {
            // One binary for both architectures, published for linux-arm64 too: its x86 paths are gated at run time.
            void X86(KvmSystem kvm)
            {
                using var vm = kvm.CreateVm(VmType.X86SwProtected);
                using var g = vm.GuestMemfd!.Create(0x200000);
                using var s = vm.Memslots.Add(0, g, 0, 0x200000);
            }

            void Named(KvmSystem kvm)
            {
                using var vm = kvm.CreateVm(VmType.X86(X86VmType.KVM_X86_DEFAULT_VM));
                using var g = vm.GuestMemfd!.Create(0x200000);
                using var s = vm.Memslots.Add(0, g, 0, 0x200000);
            }

            void Neutral(KvmSystem kvm)
            {
                using var vm = kvm.CreateVm();
                using var g = vm.GuestMemfd!.Create(0x200000);
                using var s = vm.Memslots.Add(0, {|KVM1013:g|}, 0, 0x200000);
            }
        }
        """, "build_property.RuntimeIdentifier = linux-arm64");

    [Fact]
    public Task Fix_adds_the_flag_to_the_create_call() => Verify.Fix<Arm64GmemMmapRule, MmapFlagCodeFix>("""
        class C
        {
            void M(KvmSystem kvm)
            {
                using var vm = kvm.CreateVm(VmType.Arm64Default);
                using var a = vm.GuestMemfd!.Create(0x200000);
                using var b = vm.GuestMemfd!.Create(0x200000, GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
                using var sa = vm.Memslots.Add(0, {|KVM1013:a|}, 0, 0x200000);
                using var sb = vm.Memslots.Add(0x200000, {|KVM1013:b|}, 0, 0x200000);
            }
        }
        """, """
        class C
        {
            void M(KvmSystem kvm)
            {
                using var vm = kvm.CreateVm(VmType.Arm64Default);
                using var a = vm.GuestMemfd!.Create(0x200000, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP);
                using var b = vm.GuestMemfd!.Create(0x200000, GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED | GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP);
                using var sa = vm.Memslots.Add(0, a, 0, 0x200000);
                using var sb = vm.Memslots.Add(0x200000, b, 0, 0x200000);
            }
        }
        """);
}
