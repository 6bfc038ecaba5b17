using Kvm.Interop;
using Microsoft.Win32.SafeHandles;

namespace Kvm.Tests.Typed;

/// <summary>Host memory kinds (issue #11) against the fake kernel: the rules checked before any syscall, the syscall
/// sequence of each kind, kernel objects closed at once when a later step fails, and use after KvmSystem.Dispose.</summary>
public class HostMemoryKindsTests
{
    private static readonly ulong Page = (ulong)Environment.SystemPageSize;
    private const ulong Huge = HugePageSizes.TwoMiB;
    private const long HugetlbfsMagic = 0x958458f6;

    /// <summary>The fds the fake kernel handed out that are still open, besides /dev/kvm's.</summary>
    private static int[] OpenBesides(FakeSyscalls sys, KvmSystem kvm) =>
        sys.Open.Keys.Where(fd => fd != kvm.Fd.Handle.Fd).ToArray();

    [Theory]
    [InlineData(3000UL)]            // not a power of two
    [InlineData(4096UL)]            // the base page is not a huge page
    [InlineData(1024UL)]
    public void HugePageSizesAreCheckedBeforeAnySyscall(ulong hugePageSize)
    {
        var sys = new FakeSyscalls();
        using var kvm = KvmSystem.OpenWith(sys);
        var before = sys.Calls.Count;
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => kvm.AllocateHostMemory(Huge, new() { HugePageSize = hugePageSize }));
        Assert.Contains("power of two above", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => kvm.AllocateMemfd(Huge, new() { HugePageSize = hugePageSize }));
        Assert.Contains("power of two above", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, sys.Calls.Count);
    }

    [Fact]
    public void SizesMustBeWholePagesOfTheirKind()
    {
        var sys = new FakeSyscalls();
        using var kvm = KvmSystem.OpenWith(sys);
        var before = sys.Calls.Count;
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => kvm.AllocateHostMemory(Page, new() { HugePageSize = Huge }));
        Assert.Equal("size", e.ParamName);
        Assert.Contains("multiple of the 2 MiB page", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => kvm.AllocateMemfd(Huge + Page, new() { HugePageSize = Huge }));
        Assert.Contains("multiple of the 2 MiB page", e.Message, StringComparison.Ordinal);
#pragma warning disable KVM1009 // the zero size is the point: the SDK's own check
        e = Assert.Throws<ArgumentOutOfRangeException>(() => kvm.AllocateMemfd(0));
#pragma warning restore KVM1009
        Assert.Contains("non-zero multiple", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => kvm.AllocateHostMemory(Page + 1));
        Assert.Equal(before, sys.Calls.Count);
    }

    [Fact]
    public void MemfdNamesFollowMemfdCreatesRule()
    {
        var sys = new FakeSyscalls();
        using var kvm = KvmSystem.OpenWith(sys);
        var before = sys.Calls.Count;
        Assert.Contains("249", Assert.Throws<ArgumentException>(() => kvm.AllocateMemfd(Page, new() { Name = new string('x', 250) })).Message,
            StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => kvm.AllocateMemfd(Page, new() { Name = "a\0b" }));
        Assert.Equal(before, sys.Calls.Count);
        using var ok = kvm.AllocateMemfd(Page, new() { Name = new string('x', 249) });
    }

    [Fact]
    public void AHugetlbMemfdIsCreatedSizedSealedAndMappedAndItsFdClosesAtDispose()
    {
        var sys = new FakeSyscalls();
        using var kvm = KvmSystem.OpenWith(sys);
        var memory = kvm.AllocateMemfd(2 * Huge, new() { Name = "ram0", HugePageSize = Huge });
        var fd = (int)memory.Fd.DangerousGetHandle();
        Assert.Equal(
            new[] { "memfd_create ram0 21", $"ftruncate {fd} {2 * Huge}", $"seal {fd}", $"mmap {fd}" },
            sys.Calls.SkipWhile(c => !c.StartsWith("memfd_create", StringComparison.Ordinal)).ToArray());
        Assert.Equal(Huge, memory.PageSize);
        Assert.Equal(2 * Huge, memory.Length);
        Assert.Equal("ram0", memory.Name);
        memory.Write(Huge, [1, 2, 3]);

        memory.Dispose();
        Assert.Empty(OpenBesides(sys, kvm));
        Assert.Equal(1, sys.Count("munmap"));
        Assert.Throws<ObjectDisposedException>(() => memory.Fd);
    }

    [Fact]
    public void ABorrowedMemfdStaysOpenPastDisposeUntilReleased()
    {
        var sys = new FakeSyscalls();
        using var kvm = KvmSystem.OpenWith(sys);
        var memory = kvm.AllocateMemfd(Page);
        var handle = memory.Fd;
        var added = false;
        handle.DangerousAddRef(ref added); // e.g. while sending it over a socket
        memory.Dispose();
        Assert.Single(OpenBesides(sys, kvm));
        handle.DangerousRelease();
        Assert.Empty(OpenBesides(sys, kvm));
    }

    [Fact]
    public void AFailedMmapClosesTheMemfdAtOnceAndNamesNrHugepages()
    {
        var sys = new FakeSyscalls { MmapErrno = (int)Errno.ENOMEM };
        using var kvm = KvmSystem.OpenWith(sys);
        var e = Assert.Throws<KvmException>(() => kvm.AllocateMemfd(Huge, new() { HugePageSize = Huge }));
        Assert.Equal(Errno.ENOMEM, e.Errno);
        Assert.Equal("mmap", e.Operation);
        Assert.Equal(KvmFdKind.Memfd, e.FdKind);
        Assert.Contains("/proc/sys/vm/nr_hugepages", e.Message, StringComparison.Ordinal);
        Assert.Contains("hugepages-2048kB", e.Message, StringComparison.Ordinal);
        Assert.Empty(OpenBesides(sys, kvm));
        Assert.Equal(0, sys.Count("munmap"));
    }

    [Fact]
    public void AFailedFtruncateClosesTheMemfd()
    {
        var sys = new FakeSyscalls { FtruncateResult = -(int)Errno.EFBIG };
        using var kvm = KvmSystem.OpenWith(sys);
        var e = Assert.Throws<KvmException>(() => kvm.AllocateMemfd(Page));
        Assert.Equal("ftruncate", e.Operation);
        Assert.Equal(Errno.EFBIG, e.Errno);
        Assert.Empty(OpenBesides(sys, kvm));
        Assert.Equal(0, sys.Count("mmap"));
    }

    [Fact]
    public void MemfdCreateRefusingAHugePageSizeSaysWhereTheSizesAre()
    {
        var sys = new FakeSyscalls { MemfdResult = -(int)Errno.ENODEV };
        using var kvm = KvmSystem.OpenWith(sys);
        var e = Assert.Throws<KvmException>(() => kvm.AllocateMemfd(1UL << 34, new() { HugePageSize = 1UL << 34 }));
        Assert.Equal("memfd_create", e.Operation);
        Assert.Contains("16 GiB", e.Message, StringComparison.Ordinal);
        Assert.Contains("/sys/kernel/mm/hugepages", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnonymousHugetlbMapsWithTheSizeBitsAndExplainsENOMEM()
    {
        var sys = new FakeSyscalls();
        using var kvm = KvmSystem.OpenWith(sys);
        using (var memory = kvm.AllocateHostMemory(Huge, new() { HugePageSize = Huge }))
        {
            Assert.Equal(Huge, memory.PageSize);
            Assert.Equal(1, sys.Count("mmap huge 21"));
        }
        using (var small = kvm.AllocateHostMemory(Page))
            Assert.Equal(Page, small.PageSize);

        sys.MmapErrno = (int)Errno.ENOMEM;
        var e = Assert.Throws<KvmException>(() => kvm.AllocateHostMemory(HugePageSizes.OneGiB, new() { HugePageSize = HugePageSizes.OneGiB }));
        Assert.Equal("mmap", e.Operation);
        Assert.Contains("1 GiB huge pages", e.Message, StringComparison.Ordinal);
        Assert.Contains("/proc/sys/vm/nr_hugepages", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FileOffsetsAndLengthsAreCheckedBeforeOpen()
    {
        var sys = new FakeSyscalls { FileSize = 1 << 20 };
        using var kvm = KvmSystem.OpenWith(sys);
        var before = sys.Calls.Count;
        Assert.Equal("offset", Assert.Throws<ArgumentOutOfRangeException>(() => kvm.MapFile("/f", 100, Page)).ParamName);
        Assert.Equal("length", Assert.Throws<ArgumentOutOfRangeException>(() => kvm.MapFile("/f", 0, 0)).ParamName);
        Assert.Equal("length", Assert.Throws<ArgumentOutOfRangeException>(() => kvm.MapFile("/f", 0, Page - 1)).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => kvm.MapFile("/f", (ulong)long.MaxValue + 1, Page));
        Assert.Equal(before, sys.Calls.Count);
    }

    [Fact]
    public void AFileShorterThanOffsetPlusLengthIsRefusedBeforeMmapAndTheFdClosed()
    {
        var sys = new FakeSyscalls { FileSize = (long)(2 * Page) };
        using var kvm = KvmSystem.OpenWith(sys);
        var e = Assert.Throws<ArgumentException>(() => kvm.MapFile("/f", Page, 2 * Page));
        Assert.Equal("length", e.ParamName);
        Assert.Contains("must cover offset + length", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, sys.Count("mmap"));
        Assert.Empty(OpenBesides(sys, kvm));

        using var ok = kvm.MapFile("/f", Page, Page); // exactly to the end
        Assert.Equal(Page, ok.Offset);
    }

    [Fact]
    public void OnlyRegularFilesAreMapped()
    {
        var sys = new FakeSyscalls { FileSize = 1 << 20, FileIsRegular = false };
        using var kvm = KvmSystem.OpenWith(sys);
        var e = Assert.Throws<ArgumentException>(() => kvm.MapFile("/dev/zero", 0, Page));
        Assert.Equal("path", e.ParamName);
        Assert.Contains("not a regular file", e.Message, StringComparison.Ordinal);
        Assert.Empty(OpenBesides(sys, kvm));
    }

    [Fact]
    public void AHugetlbfsFileIsMappedInItsOwnPageSize()
    {
        var sys = new FakeSyscalls { FileSize = (long)(4 * Huge), FsType = HugetlbfsMagic, FsBlockSize = (long)Huge };
        using var kvm = KvmSystem.OpenWith(sys);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => kvm.MapFile("/dev/hugepages/ram", 0, Page));
        Assert.Contains("multiple of the 2 MiB page", e.Message, StringComparison.Ordinal);
        Assert.Equal("offset", Assert.Throws<ArgumentOutOfRangeException>(() => kvm.MapFile("/dev/hugepages/ram", Page, Huge)).ParamName);
        Assert.Equal(0, sys.Count("mmap"));
        Assert.Empty(OpenBesides(sys, kvm));

        using var mapping = kvm.MapFile("/dev/hugepages/ram", Huge, 2 * Huge);
        Assert.True(mapping.IsHugetlb);
        Assert.Equal(Huge, mapping.PageSize);
        Assert.Empty(OpenBesides(sys, kvm)); // the mapping keeps the file; the SDK's fd is gone
    }

    [Fact]
    public void AFailedFileMmapNamesTheAccessModeAndClosesTheFd()
    {
        var sys = new FakeSyscalls { FileSize = 1 << 20, MmapErrno = (int)Errno.EACCES };
        using var kvm = KvmSystem.OpenWith(sys);
        var e = Assert.Throws<KvmException>(() => kvm.MapFile("/f", 0, Page));
        Assert.Equal(KvmFdKind.File, e.FdKind);
        Assert.Contains("O_RDWR", e.Message, StringComparison.Ordinal);
        Assert.Empty(OpenBesides(sys, kvm));
    }

    [Fact]
    public void AFileHandleStaysTheCallers()
    {
        var sys = new FakeSyscalls { FileSize = 1 << 20 };
        using var kvm = KvmSystem.OpenWith(sys);
        using var file = new SafeFileHandle(555, ownsHandle: false);
        using (var mapping = kvm.MapFile(file, 0, 4 * Page))
        {
            Assert.Equal(1, sys.Count("mmap 555"));
            mapping.Write(0, [9]);
        }
        Assert.Equal(0, sys.Count("close 555"));
        Assert.False(file.IsClosed);
        file.Dispose();
        Assert.Throws<ObjectDisposedException>(() => kvm.MapFile(file, 0, Page));
    }

    [Fact]
    public void EveryKindBacksAMemslotThatDefersItsUnmap()
    {
        var sys = new FakeSyscalls { FileSize = 1 << 22 };
        using var kvm = KvmSystem.OpenWith(sys);
        using var vm = kvm.CreateVm();
        HostMapping[] kinds =
        [
            kvm.AllocateHostMemory(Huge, new() { HugePageSize = Huge }),
            kvm.AllocateMemfd(Huge),
            kvm.AllocateMemfd(Huge, new() { HugePageSize = Huge }),
            kvm.MapFile("/f", 0, Huge),
        ];
        var slots = kinds.Select((m, i) => vm.Memslots.Add((ulong)i * 2 * Huge, m)).ToArray();
        var memfds = kinds.OfType<MemfdMemory>().Select(m => (int)m.Fd.DangerousGetHandle()).ToArray();
        // 4 KiB-aligned slots inside hugetlb memory are the kernel's business, not a rule of the SDK.
        using (var inner = vm.Memslots.Add(16 * Huge, kinds[0], Page, Page)) { }
        foreach (var m in kinds)
            m.Dispose();
        Assert.Equal(0, sys.Count("munmap"));                 // the slots hold the memory
        Assert.DoesNotContain(memfds, sys.Open.ContainsKey); // the memfds close at Dispose: the mappings keep the files
        foreach (var s in slots)
            s.Dispose();
        Assert.Equal(kinds.Length, sys.Count("munmap"));
    }

    [Fact]
    public void EveryKindThrowsObjectDisposedAfterKvmSystemDispose()
    {
        var sys = new FakeSyscalls();
        var kvm = KvmSystem.OpenWith(sys);
        using var file = new SafeFileHandle(555, ownsHandle: false);
        kvm.Dispose();
        var before = sys.Calls.Count;
        Assert.Throws<ObjectDisposedException>(() => kvm.AllocateHostMemory(Page));
        Assert.Throws<ObjectDisposedException>(() => kvm.AllocateHostMemory(Huge, new() { HugePageSize = Huge }));
        Assert.Throws<ObjectDisposedException>(() => kvm.AllocateMemfd(Page));
        Assert.Throws<ObjectDisposedException>(() => kvm.MapFile("/f", 0, Page));
        Assert.Throws<ObjectDisposedException>(() => kvm.MapFile(file, 0, Page));
        Assert.Equal(before, sys.Calls.Count);
    }
}
