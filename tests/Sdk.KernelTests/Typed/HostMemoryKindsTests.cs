using System.Globalization;
using Kvm.Interop;
using static Kvm.KernelTests.Typed.KernelFacts;

namespace Kvm.KernelTests.Typed;

/// <summary>
/// Issue #11's host memory kinds on the real kernel: anonymous (base and hugetlb), memfd (base and hugetlb), a regular
/// file and a hugetlbfs file. Each is written through a lease, bound as a memslot, read by a real-mode guest that sends
/// the byte to a port and writes one back; after Dispose, /proc/self/maps and /proc/self/fd must show nothing left.
/// Hugetlb tests need reserved 2 MiB pages: they skip where none are free (a test never changes the sysctl; the QEMU
/// lanes reserve 8 before the tests).
/// </summary>
public class HostMemoryKindsTests
{
    private const ulong Huge = HugePageSizes.TwoMiB;
    private const ulong Gpa = 0x10000; // above TypedGuest's 64 KiB of code
    private const int MarkerOffset = 0x123;
    private const int GuestWriteOffset = 0x124;
    private const byte Marker = 0x5C;
    private const byte GuestByte = 0x77;

    /// <summary>x86 real mode: <c>mov ax, 0x1000 ; mov ds, ax ; mov al, [0x123] ; mov dx, 0x10 ; out dx, al ;
    /// mov byte [0x124], 0x77 ; hlt</c> — reads the marker at GPA 0x10123 and writes 0x77 at 0x10124.</summary>
    private static readonly byte[] ReadOutWrite =
        [0xB8, 0x00, 0x10, 0x8E, 0xD8, 0xA0, 0x23, 0x01, 0xBA, 0x10, 0x00, 0xEE, 0xC6, 0x06, 0x24, 0x01, 0x77, 0xF4];

    private static unsafe nint AddressOf(Span<byte> span)
    {
        fixed (byte* p = span)
            return (nint)p;
    }

    /// <summary>Writes the marker through a lease, runs the guest over a memslot of <paramref name="memory"/>, checks the
    /// byte it sent and the byte it wrote; returns the mapping's address.</summary>
    private static nint GuestRoundTrip(KvmSystem kvm, HostMapping memory)
    {
        nint address;
        using (var lease = memory.Lease(0, MarkerOffset + 1))
        {
            lease.Span[MarkerOffset] = Marker;
            address = AddressOf(lease.Span);
        }
        var (vm, code, codeSlot) = TypedGuest.With(kvm, ReadOutWrite);
        using (vm) using (code) using (codeSlot)
        using (vm.Memslots.Add(Gpa, memory))
        using (var vcpu = TypedGuest.Vcpu(vm))
        {
            var exit = vcpu.Run();
            Assert.Equal(VcpuExitReason.Io, exit.Reason);
            Assert.Equal(0x10, exit.Io.Port);
            Assert.Equal(Marker, exit.Io.Data[0]);
            Assert.Equal(VcpuExitReason.Hlt, vcpu.Run().Reason);
        }
        var back = new byte[1];
        memory.Read(GuestWriteOffset, back);
        Assert.Equal(GuestByte, back[0]);
        Assert.NotNull(ThreadFacts.MappingAt(address));
        return address;
    }

    /// <summary>Free 2 MiB huge pages: HugePages_Free of /proc/meminfo where 2 MiB is the default size, else the
    /// per-size count in sysfs.</summary>
    private static long FreeHugePages()
    {
        var info = File.ReadAllLines("/proc/meminfo").Select(l => l.Split(':', 2)).ToDictionary(p => p[0], p => p[1].Trim());
        if (info.TryGetValue("Hugepagesize", out var size) && size == "2048 kB" && info.TryGetValue("HugePages_Free", out var free))
            return long.Parse(free, CultureInfo.InvariantCulture);
        const string sysfs = "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages";
        return File.Exists(sysfs) ? long.Parse(File.ReadAllText(sysfs).Trim(), CultureInfo.InvariantCulture) : 0;
    }

    private static void SkipUnlessHugePages() => Assert.SkipWhen(FreeHugePages() == 0,
        "no free 2 MiB huge pages (HugePages_Free in /proc/meminfo is 0); tests never change /proc/sys/vm/nr_hugepages — the QEMU lanes reserve 8");

    /// <summary>Open fds of this process whose target is the memfd named <paramref name="name"/>.</summary>
    private static int MemfdsNamed(string name)
    {
        var n = 0;
        foreach (var fd in Directory.GetFiles("/proc/self/fd"))
        {
            try { if ((new FileInfo(fd).LinkTarget ?? "").StartsWith($"/memfd:{name} ", StringComparison.Ordinal)) n++; }
            catch (IOException) { } // closed while we looked
        }
        return n;
    }

    private static string UniqueName() => $"hmk-{Guid.NewGuid():N}";

    [Fact]
    public void AnonymousMemory()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        var memory = kvm.AllocateHostMemory(16 * Page);
        var address = GuestRoundTrip(kvm, memory);
        var mapped = ThreadFacts.MappingAt(address);
        memory.Dispose();
        AssertUnmapped(address, mapped);
    }

    [Fact]
    public void AnonymousHugetlbMemory()
    {
        SkipUnlessX86();
        SkipUnlessHugePages();
        using var kvm = KvmSystem.Open();
        var memory = kvm.AllocateHostMemory(Huge, new() { HugePageSize = Huge });
        Assert.Equal(Huge, memory.PageSize);
        var address = GuestRoundTrip(kvm, memory);
        Assert.Equal(0, address % (nint)Huge);
        var mapped = ThreadFacts.MappingAt(address);
        memory.Dispose();
        AssertUnmapped(address, mapped);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MemfdMemory(bool hugetlb)
    {
        SkipUnlessX86();
        if (hugetlb)
            SkipUnlessHugePages();
        using var kvm = KvmSystem.Open();
        var name = UniqueName();
        var memory = kvm.AllocateMemfd(hugetlb ? Huge : 16 * Page, new() { Name = name, HugePageSize = hugetlb ? Huge : null });
        Assert.Equal(1, MemfdsNamed(name));
        var address = GuestRoundTrip(kvm, memory);
        Assert.Contains($"/memfd:{name}", ThreadFacts.MappingAt(address), StringComparison.Ordinal);

        // The fd is the memory: another open of it (as a peer process would) reads the guest's byte.
        var fd = (int)memory.Fd.DangerousGetHandle();
        using (var peer = File.OpenHandle($"/proc/self/fd/{fd}", FileMode.Open, FileAccess.Read))
        {
            var back = new byte[1];
            Assert.Equal(1, RandomAccess.Read(peer, back, GuestWriteOffset));
            Assert.Equal(GuestByte, back[0]);
        }

        var mapped = ThreadFacts.MappingAt(address);
        memory.Dispose();
        AssertUnmapped(address, mapped);
        Assert.Equal(0, MemfdsNamed(name));
    }

    [Fact]
    public void RegularFileAtAnOffset()
    {
        SkipUnlessX86();
        var path = Path.Combine(Path.GetTempPath(), UniqueName());
        try
        {
            using (var f = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite))
                RandomAccess.SetLength(f, (long)(24 * Page));
            using var kvm = KvmSystem.Open();
            var memory = kvm.MapFile(path, 4 * Page, 16 * Page);
            Assert.Equal(4 * Page, memory.Offset);
            Assert.False(memory.IsHugetlb);
            Assert.DoesNotContain(Directory.GetFiles("/proc/self/fd"), fd => SafeLink(fd) == path); // no fd kept
            var address = GuestRoundTrip(kvm, memory);
            var mapped = ThreadFacts.MappingAt(address);
            memory.Dispose();
            AssertUnmapped(address, mapped);

            // MAP_SHARED: the guest's write is in the file, at the mapping's offset.
            var bytes = File.ReadAllBytes(path);
            Assert.Equal(Marker, bytes[(int)(4 * Page) + MarkerOffset]);
            Assert.Equal(GuestByte, bytes[(int)(4 * Page) + GuestWriteOffset]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void AFileShorterThanOffsetPlusLengthIsRefusedBeforeMmap()
    {
        var path = Path.Combine(Path.GetTempPath(), UniqueName());
        try
        {
            using (var f = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite))
                RandomAccess.SetLength(f, (long)(4 * Page));
            using var kvm = KvmSystem.Open();
            var e = Assert.Throws<ArgumentException>(() => kvm.MapFile(path, 2 * Page, 4 * Page));
            Assert.Contains("must cover offset + length", e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(Directory.GetFiles("/proc/self/fd"), fd => SafeLink(fd) == path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void HugetlbfsFileFromAHandle()
    {
        SkipUnlessX86();
        var mount = File.ReadLines("/proc/mounts").Select(l => l.Split(' ')).FirstOrDefault(f =>
            f.Length > 3 && f[2] == "hugetlbfs" && (f[3].Contains("pagesize=2M", StringComparison.Ordinal) || !f[3].Contains("pagesize=", StringComparison.Ordinal)))?[1];
        Assert.SkipWhen(mount is null, "no hugetlbfs mount with 2 MiB pages in /proc/mounts (the QEMU lanes mount one at /dev/hugepages)");
        SkipUnlessHugePages();
        var path = Path.Combine(mount!, UniqueName());
        try
        {
            using var kvm = KvmSystem.Open();
            FileMapping memory;
            using (var file = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite))
            {
                RandomAccess.SetLength(file, (long)Huge);
                var e = Assert.Throws<ArgumentOutOfRangeException>(() => kvm.MapFile(file, 0, Page));
                Assert.Contains("2 MiB page", e.Message, StringComparison.Ordinal);
                memory = kvm.MapFile(file, 0, Huge);
            } // the handle is the caller's and closes here; the mapping keeps the file
            Assert.True(memory.IsHugetlb);
            Assert.Equal(Huge, memory.PageSize);
            var address = GuestRoundTrip(kvm, memory);
            var mapped = ThreadFacts.MappingAt(address);
            memory.Dispose();
            AssertUnmapped(address, mapped);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void HugetlbWithoutReservedPagesIsENOMEMNamingNrHugepagesAndLeavesNoMemfd()
    {
        const string overcommit = "/proc/sys/vm/nr_overcommit_hugepages";
        Assert.SkipUnless(Directory.Exists("/sys/kernel/mm/hugepages/hugepages-2048kB"), "this kernel has no 2 MiB huge pages");
        Assert.SkipWhen(FreeHugePages() != 0 || File.ReadAllText(overcommit).Trim() != "0",
            "2 MiB huge pages are available here (free or overcommittable), so a hugetlb mapping would not fail");
        using var kvm = KvmSystem.Open();
        var e = Assert.Throws<KvmException>(() => kvm.AllocateHostMemory(Huge, new() { HugePageSize = Huge }));
        Assert.Equal(Errno.ENOMEM, e.Errno);
        Assert.Contains("/proc/sys/vm/nr_hugepages", e.Message, StringComparison.Ordinal);

        var name = UniqueName();
        e = Assert.Throws<KvmException>(() => kvm.AllocateMemfd(Huge, new() { Name = name, HugePageSize = Huge }));
        Assert.Equal("mmap", e.Operation);
        Assert.Equal(Errno.ENOMEM, e.Errno);
        Assert.Contains("/proc/sys/vm/nr_hugepages", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, MemfdsNamed(name)); // closed at once, not at the next GC
    }

    private static string? SafeLink(string fd)
    {
        try { return new FileInfo(fd).LinkTarget; }
        catch (IOException) { return null; }
    }

    /// <summary>The mapping seen at <paramref name="address"/> is gone: the address is empty, or (other tests run in
    /// parallel) already holds another mapping, which /proc/self/maps tells apart by its inode and offsets.</summary>
    private static void AssertUnmapped(nint address, string? before)
    {
        Assert.NotNull(before);
        Assert.NotEqual(before, ThreadFacts.MappingAt(address));
    }
}
