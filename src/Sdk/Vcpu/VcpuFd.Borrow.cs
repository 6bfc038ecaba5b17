namespace Kvm;

public sealed partial class VcpuFd
{
    /// <summary>Lends this vCPU fd for raw <c>Kvm.Interop</c> calls without giving up ownership: the returned
    /// <see cref="FdBorrow"/> holds a reference that keeps the number open (and not reused) until it is disposed,
    /// even across a concurrent Dispose of this object.</summary>
    /// <exception cref="ObjectDisposedException">This object was disposed.</exception>
    public FdBorrow BorrowFd() => _fd.Borrow();
}
