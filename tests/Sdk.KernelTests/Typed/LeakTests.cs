using Xunit;
using static Kvm.KernelTests.Typed.KernelFacts;

namespace Kvm.KernelTests.Typed;

/// <summary>Runs alone: other tests open and close fds concurrently, which would blur the before/after counts.</summary>
[CollectionDefinition(nameof(LeakTests), DisableParallelization = true)]
public sealed class LeakTestsCollection;

[Collection(nameof(LeakTests))]
public class LeakTests
{
    [Fact]
    public void TenThousandCreateBindMapDisposeCyclesLeakNoFdsAndNoMappings()
    {
        const int Cycles = 10_000;
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        var mappable = HasMappableGmem(vm);
        var gmemOnly = vm.GuestMemfd is not null && vm.Memslots.UsesRegion2 && !mappable;

        void Cycle()
        {
            if (mappable)
            {
                using var gmem = vm.GuestMemfd!.Create(4 * Page, MmapShared);
                using var map = gmem.Map();
                using var slot = vm.Memslots.Add(0x100000, map);
                map.Write(0, [1]);
            }
            else if (gmemOnly)
            {
                using var gmem = vm.GuestMemfd!.Create(4 * Page);
                using var host = kvm.AllocateHostMemory(4 * Page);
                using var slot = vm.Memslots.Add(0x100000, gmem, 0, 4 * Page, host);
            }
            else
            {
                using var host = kvm.AllocateHostMemory(4 * Page);
                using var slot = vm.Memslots.Add(0x100000, host);
                host.Write(0, [1]);
            }
        }

        for (var i = 0; i < 10; i++)
            Cycle(); // warm up: lazily created runtime state is not a leak
        var fds = Directory.GetFiles("/proc/self/fd").Length;
        var maps = File.ReadAllLines("/proc/self/maps").Length;
        for (var i = 0; i < Cycles; i++)
            Cycle();
        var fdsAfter = Directory.GetFiles("/proc/self/fd").Length;
        var mapsAfter = File.ReadAllLines("/proc/self/maps").Length;
        Assert.Equal(fds, fdsAfter);
        // The runtime may map a few regions of its own meanwhile (GC, JIT); a leak would be ~10,000.
        Assert.InRange(mapsAfter - maps, -50, 50);
        Assert.Equal(0, vm.Memslots.Count);
    }
}
