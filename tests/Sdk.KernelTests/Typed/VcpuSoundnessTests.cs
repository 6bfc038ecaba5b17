// xUnit1031: the kickers are pool-thread tasks on purpose (the finding was about pool threads), and the test body
// must stay synchronous: it runs vCPUs on threads of its own.
#pragma warning disable xUnit1031
using Kvm.KernelTests.Support;
using static Kvm.KernelTests.Typed.KernelFacts;

namespace Kvm.KernelTests.Typed;

/// <summary>
/// Issue #18's vCPU findings against the real kernel: dispose while running, exits after dispose and after GC, kick
/// storms while vCPU threads come and go, late kicks on a thread that runs another vCPU, two runners, the signal
/// mask. Each asserts what must not happen (process death, a stray write, a spurious Interrupted, a stuck runner).
/// Loop counts are larger on the host lane (real hardware speed) than under QEMU's emulation.
/// </summary>
public class VcpuSoundnessTests
{
    private static int Rounds(int host, int emulated) => Kernel.IsHostLane ? host : emulated;

    [Fact]
    public void DisposeWhileAnotherThreadRunsAnIoLoopStopsTheRunnerCleanly()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        using var gc = new GcPressure();
        for (var round = 0; round < Rounds(50, 5); round++)
        {
            var (vm, memory, slot) = TypedGuest.With(kvm, TypedGuest.IoLoop);
            using (vm) using (memory) using (slot)
            {
                var vcpu = TypedGuest.Vcpu(vm);
                var exits = 0;
                Exception? unexpected = null;
                var worker = new Thread(() =>
                {
                    try
                    {
                        while (true)
                        {
                            var exit = vcpu.Run();
                            if (exit.Reason == VcpuExitReason.Interrupted)
                                return;
                            Assert.Equal(0x10, exit.Io.Port);   // may throw ObjectDisposedException: the clean signal
                            _ = exit.Io.Data[0];
                            Interlocked.Increment(ref exits);
                        }
                    }
                    catch (ObjectDisposedException)
                    {
                    }
                    catch (Exception e)
                    {
                        unexpected = e;
                    }
                });
                worker.Start();
                SpinWait.SpinUntil(() => Volatile.Read(ref exits) >= 10, 10_000);
                vcpu.Dispose();
                Assert.True(worker.Join(10_000), "the runner did not leave Run after Dispose");
                Assert.Null(unexpected);
                Assert.True(exits >= 10, $"only {exits} exits before Dispose");
                Assert.Throws<ObjectDisposedException>(() => vcpu.Run());
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DisposingASpinningVcpuOrItsVmStopsTheRunner(bool disposeVm)
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        var (vm, memory, slot) = TypedGuest.With(kvm, TypedGuest.Spin);
        using (vm) using (memory) using (slot)
        {
            var vcpu = TypedGuest.Vcpu(vm);
            VcpuExitReason? reason = null;
            var worker = new Thread(() => reason = vcpu.Run().Reason);
            worker.Start();
            Assert.True(SpinWait.SpinUntil(() => vcpu.IsRunning, 10_000), "the worker never entered Run");
            if (disposeVm)
                vm.Dispose();
            else
                vcpu.Dispose();
            Assert.True(worker.Join(10_000), "a spinning guest kept its runner after Dispose");
            Assert.Equal(VcpuExitReason.Interrupted, reason);
            Assert.True(vcpu.IsDisposed);
        }
    }

    [Fact]
    public unsafe void AnExitAfterDisposeThrowsAndItsSpanReachesOnlyADeadPage()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        var (vm, memory, slot) = TypedGuest.With(kvm, TypedGuest.IoLoop);
        using (vm) using (memory) using (slot)
        {
            var vcpu = TypedGuest.Vcpu(vm);
            var exit = vcpu.Run();
            var data = exit.Io.Data;
            nint address;
            fixed (byte* p = data)
                address = (nint)p;
            Assert.Contains("kvm-vcpu", ThreadFacts.MappingAt(address) ?? "");
            Assert.True(exit.IsCurrent);

            vcpu.Dispose();

            Assert.False(exit.IsCurrent);
            var threw = false;
            try { _ = exit.Io; }
            catch (ObjectDisposedException) { threw = true; }
            Assert.True(threw, "exit.Io after Dispose did not throw");
            // The old kvm_run address now holds private zero pages of this process that nothing else is given.
            var line = ThreadFacts.MappingAt(address);
            Assert.NotNull(line);
            Assert.DoesNotContain("kvm", line);
            Assert.Contains(" rw-p ", line);
            Assert.Equal(0, data[0]);
            data[0] = 0x55;                         // the stale write lands in the dead page...
            Assert.Equal(0x55, data[0]);
            var page = new ReadOnlySpan<byte>((void*)(address & ~(nint)(Page - 1)), (int)Page);
            Assert.Equal(1, page.Length - page.Count((byte)0));   // ...and nowhere else on the page
        }
    }

    [Fact]
    public void AStaleExitThrowsOnceTheVcpuRanAgain()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        var (vm, memory, slot) = TypedGuest.With(kvm, TypedGuest.IoLoop);
        using (vm) using (memory) using (slot)
        using (var vcpu = TypedGuest.Vcpu(vm))
        {
            var first = vcpu.Run();
            var second = vcpu.Run();
            Assert.Equal(0x10, second.Io.Port);
            Assert.False(first.IsCurrent);
            var threw = false;
            try { _ = first.Io; }
            catch (InvalidOperationException) { threw = true; }
            Assert.True(threw, "a stale exit was readable after the next Run");
        }
    }

    private static VcpuExit RunAndDropEverything(KvmSystem kvm)
    {
        var (vm, _, _) = TypedGuest.With(kvm, TypedGuest.IoLoop);
        return TypedGuest.Vcpu(vm).Run();
    }

    [Fact]
    public void AnExitKeepsItsVcpuAliveThroughCollections()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        var exit = RunAndDropEverything(kvm);
        for (var i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        Assert.True(exit.IsCurrent);
        Assert.Equal(0x10, exit.Io.Port);
        Assert.Equal(1, exit.Io.Data.Length);
    }

    [Fact]
    public void ASecondConcurrentRunnerIsRefused()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        var (vm, memory, slot) = TypedGuest.With(kvm, TypedGuest.Spin);
        using (vm) using (memory) using (slot)
        using (var vcpu = TypedGuest.Vcpu(vm))
        {
            VcpuExitReason? reason = null;
            var worker = new Thread(() => reason = vcpu.Run().Reason);
            worker.Start();
            Assert.True(SpinWait.SpinUntil(() => vcpu.IsRunning, 10_000), "the worker never entered Run");
            var e = Assert.Throws<InvalidOperationException>(() => vcpu.Run());
            Assert.Contains("already running", e.Message);
            vcpu.RequestImmediateExit();            // the kick reaches the runner, not the refused caller
            Assert.True(worker.Join(10_000), "the kick did not reach the runner");
            Assert.Equal(VcpuExitReason.Interrupted, reason);
            Assert.False(ThreadFacts.IsPending(vcpu.KickSignal));
        }
    }

    [Fact]
    public void KickStormsFromPoolThreadsWhileVcpuThreadsComeAndGo()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        var (vm, memory, slot) = TypedGuest.With(kvm, TypedGuest.IoLoop);
        using var gc = new GcPressure();
        using (vm) using (memory) using (slot)
        using (var vcpu = TypedGuest.Vcpu(vm))
        {
            var stop = 0;
            var kicks = 0;
            var kickers = Enumerable.Range(0, 3).Select(_ => Task.Run(() =>
            {
                while (Volatile.Read(ref stop) == 0)
                {
                    vcpu.RequestImmediateExit();
                    Interlocked.Increment(ref kicks);
                    Thread.Yield();
                }
            })).ToArray();
            int interrupted = 0, io = 0;
            for (var round = 0; round < Rounds(200, 20); round++)
            {
                // A short-lived thread per round: thread ids come and go under the kickers.
                ThreadFacts.OnNewThread(() =>
                {
                    var before = ThreadFacts.IsBlocked(vcpu.KickSignal);
                    for (var i = 0; i < 20; i++)
                    {
                        if (vcpu.Run().Reason == VcpuExitReason.Interrupted)
                            Interlocked.Increment(ref interrupted);
                        else
                            Interlocked.Increment(ref io);
                    }
                    // The kick stays blocked on a thread that ran a vCPU (no sigmask syscall per exit), with nothing
                    // pending; RestoreSignalMask hands the mask back as it was found.
                    Assert.True(ThreadFacts.IsBlocked(vcpu.KickSignal));
                    Assert.False(ThreadFacts.IsPending(vcpu.KickSignal));
                    VcpuThread.RestoreSignalMask();
                    Assert.Equal(before, ThreadFacts.IsBlocked(vcpu.KickSignal));
                });
            }
            Volatile.Write(ref stop, 1);
            Task.WaitAll(kickers);
            Assert.True(kicks > 0 && interrupted > 0 && io > 0, $"kicks {kicks}, interrupted {interrupted}, io {io}");
        }
    }

    [Fact]
    public void ALateKickNeverInterruptsAnotherVcpuOnTheSameThread()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        var (vm, memory, slot) = TypedGuest.With(kvm, TypedGuest.IoLoop);
        using (vm) using (memory) using (slot)
        using (var kicked = TypedGuest.Vcpu(vm, 0))
        using (var quiet = TypedGuest.Vcpu(vm, 1))
        {
            var stop = 0;
            var kicker = Task.Run(() =>
            {
                while (Volatile.Read(ref stop) == 0)
                    kicked.RequestImmediateExit();
            });
            var spurious = 0;
            ThreadFacts.OnNewThread(() =>
            {
                for (var i = 0; i < Rounds(5000, 300); i++)
                {
                    kicked.Run();
                    if (quiet.Run().Reason == VcpuExitReason.Interrupted)
                        spurious++;
                }
            });
            Volatile.Write(ref stop, 1);
            kicker.Wait();
            Assert.Equal(0, spurious);
        }
    }

    [Fact]
    public void RunKeepsTheKickBlockedOnItsThreadUntilRestoreSignalMaskHandsTheMaskBack()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        var (vm, memory, slot) = TypedGuest.With(kvm, TypedGuest.IoLoop);
        using (vm) using (memory) using (slot)
        using (var vcpu = TypedGuest.Vcpu(vm))
        {
            ThreadFacts.OnNewThread(() =>
            {
                // A new thread inherits its creator's mask, and this test's thread may hold the kick from an earlier
                // test (nothing is pending on a new thread, so unblocking is safe).
                ThreadFacts.Unblock(vcpu.KickSignal);
                Assert.False(VcpuThread.HoldsKickSignal);
                Assert.Equal(VcpuExitReason.Io, vcpu.Run().Reason);
                Assert.True(ThreadFacts.IsBlocked(vcpu.KickSignal), "Run did not leave the kick blocked on its thread");
                Assert.True(VcpuThread.HoldsKickSignal);
                vcpu.RequestImmediateExit();
                Assert.Equal(VcpuExitReason.Interrupted, vcpu.Run().Reason);
                Assert.Equal(VcpuExitReason.Io, vcpu.Run().Reason);
                Assert.False(ThreadFacts.IsPending(vcpu.KickSignal));

                VcpuThread.RestoreSignalMask();
                Assert.False(ThreadFacts.IsBlocked(vcpu.KickSignal));
                Assert.False(VcpuThread.HoldsKickSignal);

                // The next Run blocks it again, and a kick still reaches the guest.
                using var timer = new Timer(_ => vcpu.RequestImmediateExit(), null, 50, Timeout.Infinite);
                var interrupted = false;
                for (var i = 0; i < 1_000_000 && !interrupted; i++)
                    interrupted = vcpu.Run().Reason == VcpuExitReason.Interrupted;
                Assert.True(interrupted, "the kick after RestoreSignalMask never arrived");
                Assert.True(ThreadFacts.IsBlocked(vcpu.KickSignal));
                VcpuThread.RestoreSignalMask();
                Assert.False(ThreadFacts.IsBlocked(vcpu.KickSignal));
            });
        }
    }

    [Fact]
    public void AKickSignalTheThreadBlockedItselfStaysBlockedAfterRestoreSignalMask()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        var (vm, memory, slot) = TypedGuest.With(kvm, TypedGuest.IoLoop);
        using (vm) using (memory) using (slot)
        using (var vcpu = TypedGuest.Vcpu(vm))
        {
            ThreadFacts.OnNewThread(() =>
            {
                ThreadFacts.Block(vcpu.KickSignal);
                Assert.Equal(VcpuExitReason.Io, vcpu.Run().Reason);
                Assert.False(VcpuThread.HoldsKickSignal, "the SDK claimed a signal the thread had blocked itself");
                VcpuThread.RestoreSignalMask();
                Assert.True(ThreadFacts.IsBlocked(vcpu.KickSignal), "RestoreSignalMask unblocked a signal it did not block");
                ThreadFacts.Unblock(vcpu.KickSignal);
            });
        }
    }

    [Fact]
    public void AnotherKickSignalCanBeChosenAndABadOneIsRefusedBeforeAnySyscall()
    {
        SkipUnlessX86();
        Assert.Throws<ArgumentOutOfRangeException>(() => KvmSystem.Open(options: new KvmOptions { KickSignal = 9 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => KvmSystem.Open(options: new KvmOptions { KickSignal = 11 }));
        const int SIGUSR1 = 10;
        using var kvm = KvmSystem.Open(options: new KvmOptions { KickSignal = SIGUSR1 });
        var (vm, memory, slot) = TypedGuest.With(kvm, TypedGuest.Spin);
        using (vm) using (memory) using (slot)
        using (var vcpu = TypedGuest.Vcpu(vm))
        {
            Assert.Equal(SIGUSR1, vcpu.KickSignal);
            // On a thread of its own: Run leaves SIGUSR1 blocked on its thread, and a test worker thread that kept it
            // blocked would hang the raw-ioctl tests whose KVM_RUN watchdog kicks with SIGUSR1 (seen in the legacy lane).
            ThreadFacts.OnNewThread(() =>
            {
                using var timer = new Timer(_ => vcpu.RequestImmediateExit(), null, 100, Timeout.Infinite);
                Assert.Equal(VcpuExitReason.Interrupted, vcpu.Run().Reason);
            });
        }
    }
}
