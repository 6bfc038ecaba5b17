using Kvm.Analyzers.CodeFixes;
using Kvm.Analyzers.Tests.Support;

namespace Kvm.Analyzers.Tests;

public class PrivateThroughVmTests
{
    [Fact]
    public Task Sdk_call_is_reported_when_the_project_targets_in_place_conversion() => Verify.Analyzer<MemoryAttributesRule>("""
        class C
        {
            void M(VmFd vm)
            {
                {|KVM1001:vm.MemoryAttributes!.Set(0x1000, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE)|};
                var r = vm.MemoryAttributes?{|KVM1001:.TrySet(0, 4096, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE)|};
                var attrs = vm.MemoryAttributes!;
                {|KVM1001:attrs.Set(0, 4096, (KvmMemoryAttributes)8)|};
            }
        }
        """, Verify.InPlaceOn);

    [Fact]
    public Task Raw_ioctl_is_reported_when_the_profile_names_the_overlay() => Verify.Analyzer<MemoryAttributesRule>("""
        class C
        {
            int M(int vmFd)
            {
                var a = new kvm_memory_attributes { address = 0x1000, size = 0x1000 };
                a.attributes = KvmConstants.KVM_MEMORY_ATTRIBUTE_PRIVATE;
                {|KVM1001:Sys.Ioctl(vmFd, KvmIoctls.KVM_SET_MEMORY_ATTRIBUTES, in a)|};
                return {|KVM1001:Sys.Ioctl(vmFd, KvmIoctls.KVM_SET_MEMORY_ATTRIBUTES, new kvm_memory_attributes { size = 4096, attributes = 8 })|};
            }
        }
        """, "build_property.KvmUapiProfile = 7.3.4+inplace-conversion-v8");

    [Fact]
    public Task Call_inside_the_non_null_branch_of_the_in_place_feature_is_reported() => Verify.Analyzer<MemoryAttributesRule>("""
        #pragma warning disable KVMEXP001
        class C
        {
            void M(VmFd vm)
            {
                if (vm.InPlaceConversionV8 is { } inPlace)
                    {|KVM1001:vm.MemoryAttributes!.Set(0, 4096, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE)|};
            }

            void EarlyExit(VmFd vm)
            {
                if (vm.InPlaceConversionV8 == null)
                    return;
                {|KVM1001:vm.MemoryAttributes!.Set(0, 4096, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE)|};
            }

            void Obtained(VmFd vm)
            {
                var conv = vm.InPlaceConversionV8 ?? throw new InvalidOperationException();
                conv.ToShared(0, 4096);
                {|KVM1001:vm.MemoryAttributes!.Set(0x2000, 4096, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE)|};
            }
        }
        """);

    [Fact]
    public Task Without_target_ABI_or_evidence_it_is_silent() => Verify.Analyzer<MemoryAttributesRule>("""
        class C
        {
            void M(VmFd vm, int vmFd)
            {
                vm.MemoryAttributes!.Set(0x1000, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE);
                var a = new kvm_memory_attributes { address = 0, size = 4096, attributes = 8 };
                Sys.Ioctl(vmFd, KvmIoctls.KVM_SET_MEMORY_ATTRIBUTES, in a);
            }
        }
        """);

    [Fact]
    public Task Shared_and_the_fallback_branch_are_silent() => Verify.Analyzer<MemoryAttributesRule>("""
        #pragma warning disable KVMEXP001
        class C
        {
            void Shared(VmFd vm) => vm.MemoryAttributes!.Set(0, 4096, 0);

            void Fallback(VmFd vm)
            {
                if (vm.InPlaceConversionV8 is { } inPlace)
                    inPlace.ToPrivate(0, 4096);
                else
                    vm.MemoryAttributes!.Set(0, 4096, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE);
            }

            void FallbackAfterReturn(VmFd vm)
            {
                if (vm.InPlaceConversionV8 is not null)
                {
                    vm.InPlaceConversionV8.ToPrivate(0, 4096);
                    return;
                }
                vm.MemoryAttributes!.Set(0, 4096, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE);
            }

            void OtherVm(VmFd a, VmFd b)
            {
                var inPlace = a.InPlaceConversionV8!;
                b.MemoryAttributes!.Set(0, 4096, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE);
            }
        }
        """);

    [Fact]
    public Task Explicit_false_overrides_the_profile_and_gmem_conversion_is_silent() => Verify.Analyzer<MemoryAttributesRule>("""
        #pragma warning disable KVMEXP001
        class C
        {
            void Vm(VmFd vm) => vm.MemoryAttributes!.Set(0, 4096, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE);

            void Gmem(VmFd vm) => vm.InPlaceConversionV8!.ToPrivate(0, 4096);
        }
        """, "build_property.KvmInPlaceConversion = false", "build_property.KvmUapiProfile = 7.3.4+inplace-conversion-v8");

    [Fact]
    public Task Fix_rewrites_into_the_guest_memfd_conversion_with_fix_all() => Verify.Fix<MemoryAttributesRule, InPlaceConversionCodeFix>("""
        #pragma warning disable KVMEXP001
        class C
        {
            void M(VmFd vm, GmemFd gmem)
            {
                using var slot = vm.Memslots.Add(0, gmem, 0, 0x4000);
                {|KVM1001:vm.MemoryAttributes!.Set(0x1000, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE)|};
                var r = {|KVM1001:vm.MemoryAttributes!.TrySet(0x2000, 0x2000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE)|};
            }
        }
        """, """
        #pragma warning disable KVMEXP001
        class C
        {
            void M(VmFd vm, GmemFd gmem)
            {
                using var slot = vm.Memslots.Add(0, gmem, 0, 0x4000);
                vm.InPlaceConversionV8!.ToPrivate(0x1000, 0x1000);
                var r = vm.InPlaceConversionV8!.TryToPrivate(0x2000, 0x2000);
            }
        }
        """, Verify.InPlaceOn);

    [Fact]
    public Task No_fix_without_a_guest_memfd_slot_in_scope() => Verify.Fix<MemoryAttributesRule, InPlaceConversionCodeFix>("""
        class C
        {
            void M(VmFd vm, HostMemory mem)
            {
                using var slot = vm.Memslots.Add(0, mem);
                {|KVM1001:vm.MemoryAttributes!.Set(0x1000, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE)|};
            }
        }
        """, """
        class C
        {
            void M(VmFd vm, HostMemory mem)
            {
                using var slot = vm.Memslots.Add(0, mem);
                {|KVM1001:vm.MemoryAttributes!.Set(0x1000, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE)|};
            }
        }
        """, Verify.InPlaceOn);
}

public class NoPrivateMemoryTests
{
    [Fact]
    public Task Attributes_on_VM_types_without_private_memory_are_reported() => Verify.Analyzer<MemoryAttributesRule>("""
        class C
        {
            void M(KvmSystem kvm)
            {
                using var a = kvm.CreateVm(VmType.X86Default);
                {|KVM1002:a.MemoryAttributes!.Set(0, 4096, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE)|};
                using var b = kvm.CreateVm();
                if (b.MemoryAttributes is { } attrs)
                    {|KVM1002:attrs.Set(0, 4096, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE)|};
                using var c = kvm.CreateVm(VmType.X86(X86VmType.KVM_X86_SEV_ES_VM));
                {|KVM1002:c.MemoryAttributes!.TrySet(0, 4096, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE)|};
                using var d = kvm.CreateVm(VmType.Arm64(40));
                {|KVM1002:d.MemoryAttributes!.Set(0, 4096, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE)|};
            }
        }
        """);

    [Fact]
    public Task Private_memory_VM_types_are_silent() => Verify.Analyzer<MemoryAttributesRule>("""
        class C
        {
            void M(KvmSystem kvm)
            {
                using var a = kvm.CreateVm(VmType.X86SwProtected);
                a.MemoryAttributes!.Set(0, 4096, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE);
                using var b = kvm.CreateVm(VmType.X86(X86VmType.KVM_X86_SNP_VM));
                b.MemoryAttributes!.Set(0, 4096, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE);
            }
        }
        """);

    [Fact]
    public Task Types_not_known_at_compile_time_are_silent() => Verify.Analyzer<MemoryAttributesRule>("""
        class C
        {
            void M(KvmSystem kvm, VmType type, VmFd given)
            {
                using var a = kvm.CreateVm(type);
                a.MemoryAttributes!.Set(0, 4096, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE);
                given.MemoryAttributes!.Set(0, 4096, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE);
            }
        }
        """);

    [Fact]
    public Task Setting_shared_on_a_default_VM_is_silent() => Verify.Analyzer<MemoryAttributesRule>("""
        class C
        {
            void M(KvmSystem kvm)
            {
                using var a = kvm.CreateVm(VmType.X86Default);
                a.MemoryAttributes?.Set(0, 4096, 0);        // attributes 0 is accepted everywhere
                var conv = a.Conversion;                     // null there: the types already say so
            }
        }
        """);
}
