using Kvm.Interop;

namespace Kvm.KernelTests.Support;

/// <summary>The result of one raw call: its return value and, when it failed, errno (read right after the call).</summary>
public readonly record struct SysResult(long Rc, int Errno)
{
    public override string ToString() => Rc < 0 ? $"{Rc}/{ErrnoText.Name(Errno)}" : $"{Rc}";
}

public static class Checks
{
    /// <summary>Wrap a raw return value; must be called directly on the call's result, before any other P/Invoke.</summary>
    public static SysResult R(long rc) => new(rc, rc < 0 ? Sys.LastErrno : 0);

    public static void Fails(this SysResult r, Errno expected, string what) =>
        Assert.True(r.Rc == -1 && r.Errno == (int)expected, $"{what}: expected -1/{expected}, the kernel gave {r}");

    public static long Ok(this SysResult r, string what)
    {
        Assert.True(r.Rc >= 0, $"{what}: expected success, the kernel gave {r}");
        return r.Rc;
    }
}
