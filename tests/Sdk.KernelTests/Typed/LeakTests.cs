using Xunit;
using static Kvm.KernelTests.Typed.KernelFacts;

namespace Kvm.KernelTests.Typed;

/// <summary>Runs alone: other tests open and close fds concurrently, which would blur the before/after counts.</summary>
[CollectionDefinition(nameof(LeakTests), DisableParallelization = true)]
public sealed class LeakTestsCollection;

[Collection(nameof(LeakTests))]
public class LeakTests
{
    /// <summary>Runs pending finalizers, so fds other tests left to the GC are closed before we count.</summary>
    private static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    private static (int All, int Kvm) CountFds()
    {
        int all = 0, kvm = 0;
        foreach (var fd in Directory.GetFiles("/proc/self/fd"))
        {
            all++;
            try { if ((new FileInfo(fd).LinkTarget ?? "").Contains("kvm", StringComparison.Ordinal)) kvm++; }
            catch (IOException) { } // closed while we looked
        }
        return (all, kvm);
    }

    private static (int All, int Kvm) CountMaps()
    {
        var lines = File.ReadAllLines("/proc/self/maps");
        return (lines.Length, lines.Count(l => l.Contains("kvm", StringComparison.Ordinal)));
    }

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
        Settle();
        var (fds, kvmFds) = CountFds();
        var (maps, kvmMaps) = CountMaps();
        for (var i = 0; i < Cycles; i++)
            Cycle();
        Settle();
        var (fdsAfter, kvmFdsAfter) = CountFds();
        var (mapsAfter, kvmMapsAfter) = CountMaps();
        // KVM fds (anon_inode:kvm-*, [kvm-gmem]) and mappings of them must not grow. They may shrink: handles
        // other test classes dropped without disposing are closed by finalizers whenever the GC runs.
        Assert.InRange(kvmFdsAfter, 0, kvmFds);
        Assert.InRange(kvmMapsAfter, 0, kvmMaps);
        // Everything else belongs to the runtime and other test classes too (they open and close fds meanwhile);
        // a leak per cycle would show as ~10,000 here.
        Assert.InRange(fdsAfter - fds, -100, 20);
        Assert.InRange(mapsAfter - maps, -100, 100);
        Assert.Equal(0, vm.Memslots.Count);
    }
}
