using static Kvm.KernelTests.Typed.KernelFacts;

namespace Kvm.KernelTests.Typed;

/// <summary>
/// Issue #12: the exit loop allocates nothing against the real kernel. 10,000 port-I/O exits through
/// <see cref="VcpuFd.Run"/>, each read through <c>exit.Io</c> (port, direction, size, count, the data byte), after a
/// warm-up that gets JIT, first-Run setup (<c>KVM_SET_SIGNAL_MASK</c>, the thread's kick mask) and tiering behind us.
/// </summary>
public class RunLoopAllocationTests
{
    private const int Exits = 10_000;

    [Fact]
    public void TenThousandIoExitsThroughRunAllocateNothing()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        var (vm, memory, slot) = TypedGuest.With(kvm, TypedGuest.IoLoop);
        using (vm) using (memory) using (slot)
        using (var vcpu = TypedGuest.Vcpu(vm))
        {
            ThreadFacts.OnNewThread(() =>
            {
                var warm = Loop(vcpu, 2_000);
                Assert.Equal(2_000 * 0x10L, warm);
                var before = GC.GetAllocatedBytesForCurrentThread();
                var ports = Loop(vcpu, Exits);
                var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                Assert.Equal(Exits * 0x10L, ports);   // every exit was the guest's `out 0x10, al`
                Assert.True(allocated == 0, $"{allocated} bytes allocated over {Exits} exits ({(double)allocated / Exits:F2} per exit)");
            }, timeoutMs: 300_000);
        }
    }

    private static long Loop(VcpuFd vcpu, int exits)
    {
        long ports = 0;
        for (var i = 0; i < exits; i++)
        {
            var exit = vcpu.Run();
            if (exit.Reason != VcpuExitReason.Io)
                throw new InvalidOperationException($"exit {i}: {exit.Reason}, not Io");
            var io = exit.Io;
            if (io.Direction != IoDirection.Out || io.Size != 1 || io.Count != 1 || io.Data.Length != 1)
                throw new InvalidOperationException($"exit {i}: not a one-byte out");
            ports += io.Port;
        }
        return ports;
    }
}
