using Kvm.Analyzers.Tests.Support;

namespace Kvm.Analyzers.Tests;

public class VmLevelConversionTests
{
    [Fact]
    public Task Vm_level_conversion_is_reported_on_a_v7_project() => Verify.Analyzer<VmLevelConversionRule>("""
        class C
        {
            void M(VmFd vm)
            {
                {|KVM1020:vm.Conversion!.ToPrivate(0x1000, 0x1000)|};
                var conv = vm.Conversion!;
                var r = {|KVM1020:conv.TryToShared(0, 4096)|};
                {|KVM1020:vm.MemoryAttributes!.Set(0, 4096, 0)|};
            }
        }
        """, "build_property.KvmUapiProfile = 7.3.4+inplace-conversion-v7");

    [Fact]
    public Task Nothing_is_reported_without_an_in_place_target() => Verify.Analyzer<VmLevelConversionRule>("""
        class C
        {
            void M(VmFd vm, IGuestMemoryConversion other)
            {
                vm.Conversion!.ToPrivate(0x1000, 0x1000);
                vm.MemoryAttributes!.Set(0, 4096, 0);
                other.ToShared(0, 4096);
            }
        }
        """);

    [Fact]
    public Task The_in_place_backend_and_private_attributes_are_not_this_rules() => Verify.Analyzer<VmLevelConversionRule>("""
        #pragma warning disable KVMEXP001
        class C
        {
            void M(VmFd vm)
            {
                vm.InPlaceConversion!.ToPrivate(0x1000, 0x1000);
                vm.MemoryAttributes!.Set(0, 4096, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE); // KVM1001's
            }
        }
        """, Verify.InPlaceOn);
}
