using Kvm.Analyzers.Tests.Support;

namespace Kvm.Analyzers.Tests;

public class CapabilityTests
{
    [Fact]
    public Task Raw_gated_ioctls_without_a_check_are_reported() => Verify.Analyzer<CapabilityRule>("""
        class C
        {
            unsafe int M(int vmFd)
            {
                var arg = new kvm_create_guest_memfd { size = 4096 };
                var attrs = new kvm_memory_attributes { address = 0, size = 4096 };
                Kvm.Interop.Sys.Ioctl(vmFd, KvmIoctls.KVM_SET_MEMORY_ATTRIBUTES, in attrs);
                Sys.Ioctl(vmFd, KvmIoctls.KVM_CREATE_GUEST_MEMFD.Value, &arg);
                return Sys.Ioctl(vmFd, {|KVM2001:KvmIoctls.KVM_CREATE_GUEST_MEMFD|}, ref arg);
            }
        }
        """.Replace("KvmIoctls.KVM_SET_MEMORY_ATTRIBUTES,", "{|KVM2001:KvmIoctls.KVM_SET_MEMORY_ATTRIBUTES|},")
           .Replace("KvmIoctls.KVM_CREATE_GUEST_MEMFD.Value", "{|KVM2001:KvmIoctls.KVM_CREATE_GUEST_MEMFD.Value|}"));

    [Fact]
    public Task A_raw_KVM_CHECK_EXTENSION_in_the_method_is_enough() => Verify.Analyzer<CapabilityRule>("""
        class C
        {
            int M(int vmFd)
            {
                if (Sys.Ioctl(vmFd, KvmIoctls.KVM_CHECK_EXTENSION, (nint)KvmCap.KVM_CAP_GUEST_MEMFD) <= 0)
                    return -1;
                var arg = new kvm_create_guest_memfd { size = 4096 };
                return Sys.Ioctl(vmFd, KvmIoctls.KVM_CREATE_GUEST_MEMFD, ref arg);
            }
        }
        """);

    [Fact]
    public Task An_SDK_capability_check_is_enough() => Verify.Analyzer<CapabilityRule>("""
        class C
        {
            int M(VmFd vm, int vmFd)
            {
                if (!vm.Capabilities.Has(KvmCap.KVM_CAP_MEMORY_ATTRIBUTES))
                    return -1;
                var attrs = new kvm_memory_attributes { address = 0, size = 4096 };
                return Sys.Ioctl(vmFd, KvmIoctls.KVM_SET_MEMORY_ATTRIBUTES, in attrs);
            }
        }
        """);

    [Fact]
    public Task The_SDK_proof_object_is_enough() => Verify.Analyzer<CapabilityRule>("""
        class C
        {
            int M(VmFd vm, int vmFd)
            {
                if (vm.GuestMemfd is null)
                    return -1;
                var arg = new kvm_create_guest_memfd { size = 4096 };
                return Sys.Ioctl(vmFd, KvmIoctls.KVM_CREATE_GUEST_MEMFD, ref arg);
            }
        }
        """);

    [Fact]
    public Task Ungated_ioctls_and_the_typed_SDK_are_silent() => Verify.Analyzer<CapabilityRule>("""
        class C
        {
            int M(int kvmFd, GuestMemfdFeature f)
            {
                using var g = f.Create(4096);                 // the feature object is the proof
                return Sys.Ioctl(kvmFd, KvmIoctls.KVM_GET_API_VERSION);
            }
        }
        """);

    [Fact]
    public Task A_check_in_another_method_does_not_count() => Verify.Analyzer<CapabilityRule>("""
        class C
        {
            bool Has(int vmFd) => Sys.Ioctl(vmFd, KvmIoctls.KVM_CHECK_EXTENSION, (nint)KvmCap.KVM_CAP_GUEST_MEMFD) > 0;
            int M(int vmFd)
            {
                var arg = new kvm_create_guest_memfd { size = 4096 };
                return Sys.Ioctl(vmFd, {|KVM2001:KvmIoctls.KVM_CREATE_GUEST_MEMFD|}, ref arg);
            }
        }
        """);
}
