using Kvm.Analyzers.Tests.Support;

namespace Kvm.Analyzers.Tests;

/// <summary>One test per rule changed after the independent corpus' blind score (docs/analyzers-corpus.md): each
/// pins the shape the corpus found, with the near-miss beside it.</summary>
public class IndependentCorpusRegressionTests
{
    [Fact]
    public Task KVM1015_counts_a_compound_or_of_GUEST_MEMFD_into_the_flags() => Verify.Analyzer<RawStructRule>("""
        class C
        {
            kvm_userspace_memory_region2 Set(uint fd)
            {
                var r = new kvm_userspace_memory_region2 { slot = 1, memory_size = 0x10000, guest_memfd = fd };
                r.flags |= (uint)KvmMemFlags.KVM_MEM_GUEST_MEMFD;
                return r;
            }

            kvm_userspace_memory_region2 OrWithoutIt(uint fd)
            {
                var r = new kvm_userspace_memory_region2 { slot = 1, memory_size = 0x10000, guest_memfd = {|KVM1015:fd|} };
                r.flags |= (uint)KvmMemFlags.KVM_MEM_LOG_DIRTY_PAGES;
                return r;
            }

            kvm_userspace_memory_region2 AndIsUnknown(uint fd)
            {
                var r = new kvm_userspace_memory_region2 { slot = 1, memory_size = 0x10000, guest_memfd = fd };
                r.flags &= 0;
                return r;
            }
        }
        """);

    [Fact]
    public Task KVM1020_follows_shared_attributes_and_the_backend_through_locals_and_patterns() => Verify.Analyzer<VmLevelConversionRule>("""
        #pragma warning disable KVMEXP001
        class C
        {
            void M(VmFd vm, bool flag)
            {
                KvmMemoryAttributes shared = 0;
                {|KVM1020:vm.MemoryAttributes!.Set(0x1000, 0x1000, shared)|};
                if (vm.Conversion is { } c)
                    {|KVM1020:c.ToPrivate(0, 0x1000)|};
                var either = vm.InPlaceConversion ?? vm.Conversion;
                either?.ToPrivate(0, 0x1000);
                var maybePrivate = flag ? KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
                vm.MemoryAttributes!.TrySet(0, 0x1000, maybePrivate);
            }
        }
        """, "build_property.KvmInPlaceConversion = true");

    [Fact]
    public Task KVM1007_and_KVM1008_look_back_into_the_try_from_finally_and_catch() => Verify.Analyzer<OrderRule>("""
        class C
        {
            void Finally(VcpuFd vcpu, CpuidTable table)
            {
                try
                {
                    vcpu.Run();
                }
                finally
                {
                    {|KVM1007:vcpu.SetCpuid2(table)|};
                }
            }

            void Catch(VmFd vm)
            {
                try
                {
                    using var v = vm.CreateVcpu(0);
                }
                catch (KvmException)
                {
                    {|KVM1008:vm.EnableSplitIrqchip()|};
                }
            }

            void FinallyBeforeAnyRun(VcpuFd vcpu, CpuidTable table)
            {
                try
                {
                    vcpu.EnterRealMode();
                }
                finally
                {
                    vcpu.SetCpuid2(table);
                }
                vcpu.Run();
            }
        }
        """);

    [Fact]
    public Task KVM2001_does_not_count_a_check_inside_a_lambda_that_does_not_hold_the_ioctl() => Verify.Analyzer<CapabilityRule>("""
        class C
        {
            int Uncalled(int vmFd)
            {
                System.Func<bool> ok = () => Sys.Ioctl(vmFd, KvmIoctls.KVM_CHECK_EXTENSION, (nint)KvmCap.KVM_CAP_GUEST_MEMFD) > 0;
                var arg = new kvm_create_guest_memfd { size = 0x10000 };
                return Sys.Ioctl(vmFd, {|KVM2001:KvmIoctls.KVM_CREATE_GUEST_MEMFD|}, ref arg);
            }

            System.Func<int> BothInTheLambda(int vmFd) => () =>
            {
                if (Sys.Ioctl(vmFd, KvmIoctls.KVM_CHECK_EXTENSION, (nint)KvmCap.KVM_CAP_GUEST_MEMFD) <= 0)
                    return -1;
                var arg = new kvm_create_guest_memfd { size = 0x10000 };
                return Sys.Ioctl(vmFd, KvmIoctls.KVM_CREATE_GUEST_MEMFD, ref arg);
            };

            int LocalFunction(int vmFd)
            {
                if (!Supported())
                    return -1;
                var arg = new kvm_create_guest_memfd { size = 0x10000 };
                return Sys.Ioctl(vmFd, KvmIoctls.KVM_CREATE_GUEST_MEMFD, ref arg);

                bool Supported() => Sys.Ioctl(vmFd, KvmIoctls.KVM_CHECK_EXTENSION, (nint)KvmCap.KVM_CAP_GUEST_MEMFD) > 0;
            }
        }
        """);

    [Fact]
    public Task KVM1012_is_silent_where_SupportedFlags_was_asked_first() => Verify.Analyzer<GuestMemfdStateRule>("""
        class C
        {
            void M(KvmSystem kvm)
            {
                using var vm = kvm.CreateVm(VmType.X86SwProtected);
                var f = vm.GuestMemfd!;
                var shared = GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED;
                using var a = (f.SupportedFlags & shared) != 0 ? f.Create(0x10000, shared) : f.Create(0x10000);
                if (f.SupportedFlags.HasFlag(shared))
                {
                    using var b = f.Create(0x10000, shared);
                }
                using var c = {|KVM1012:f.Create(0x10000, shared)|};
            }

            void EarlyExit(KvmSystem kvm)
            {
                using var vm = kvm.CreateVm(VmType.X86SwProtected);
                var f = vm.GuestMemfd!;
                if ((f.SupportedFlags & GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED) == 0)
                    throw new System.NotSupportedException("INIT_SHARED");
                using var g = f.Create(0x10000, GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
            }
        }
        """);
}
