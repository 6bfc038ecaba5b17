namespace Kvm;

public sealed unsafe partial class VcpuFd
{
    /// <summary>An ioctl on the vCPU fd under a reference (a concurrent Dispose cannot close it mid-call); the result
    /// or -errno. Throws <see cref="ObjectDisposedException"/> after Dispose.</summary>
    internal int VcpuIoctl(nuint request, void* arg) => _fd.Ioctl(_sys, request, arg);

    /// <summary>The vCPU fd's owner reference: hold it (Enter/Exit) while reading <see cref="MappedRun"/>, which is
    /// retired only when the fd is released.</summary>
    internal Syscalls.SafeHandleRef FdRef => _fd;

    /// <summary>The vCPU mapping (kvm_run and the pages after it), <see cref="MappedRunSize"/> bytes.</summary>
    internal byte* MappedRun => _run;

    internal int MappedRunSize => _runSize;
}
