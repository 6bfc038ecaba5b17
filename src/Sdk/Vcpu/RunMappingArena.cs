using System.Runtime.CompilerServices;
using Kvm.Syscalls;

namespace Kvm;

/// <summary>
/// Where every vCPU's <c>kvm_run</c> lives, so that no address the SDK ever handed out as a kvm_run pointer (an exit,
/// an I/O data span) can later belong to someone else. Address space is reserved in chunks (<c>PROT_NONE</c>); each
/// vCPU maps its kvm_run into the next unused piece (<c>MAP_FIXED</c>), and on release the piece is replaced in one
/// step by private zero pages and never used again. A stale span therefore reads zeros and writes into a dead page
/// that nothing else uses; it can never reach the runtime's memory. The price is address space, not memory: about
/// three pages of virtual space per vCPU ever created, and retired neighbours merge into one kernel VMA, so the
/// process's mapping count does not grow with the number of vCPUs created.
/// </summary>
internal sealed unsafe class RunMappingArena
{
    private static readonly ConditionalWeakTable<IKvmSyscalls, RunMappingArena> s_arenas = new();

    private readonly IKvmSyscalls _sys;
    private readonly object _gate = new();
    private byte* _next;
    private byte* _end;

    private RunMappingArena(IKvmSyscalls sys) => _sys = sys;

    /// <summary>The arena of a syscall layer (one per process for the real one).</summary>
    public static RunMappingArena For(IKvmSyscalls sys) => s_arenas.GetValue(sys, s => new RunMappingArena(s));

    /// <summary>Maps <paramref name="length"/> bytes of <paramref name="fd"/> (a vCPU) from file offset
    /// <paramref name="offset"/> (0: kvm_run; <c>KVM_DIRTY_LOG_PAGE_OFFSET</c> pages: the dirty ring) at a never-used
    /// address.</summary>
    /// <returns>The address, or null with <paramref name="errno"/> set.</returns>
    public byte* Map(int fd, nuint length, out int errno, long offset = 0)
    {
        var size = RoundUp(length);
        byte* at;
        lock (_gate)
        {
            if (_next == null || (nuint)(_end - _next) < size)
            {
                var chunk = Math.Max(16u << 20, size * 64);
                var p = (byte*)_sys.Reserve(chunk, out errno);
                if (p == null)
                    return null;
                // The rest of the old chunk stays reserved (PROT_NONE): cheap, and never handed out.
                _next = p;
                _end = p + chunk;
            }
            at = _next;
            _next += size;
        }
        var rc = _sys.MmapSharedFixed(at, length, fd, offset);
        errno = rc < 0 ? -rc : 0;
        return rc < 0 ? null : at;
    }

    /// <summary>Retires a mapping made by <see cref="Map"/>: zero pages replace it in one step (which also drops the
    /// mapping's reference to the vCPU file). If even that fails (ENOMEM), the old mapping is left as it is: it keeps
    /// the vCPU's kernel object alive, which is a leak, never a hazard.</summary>
    public void Retire(byte* address, nuint length) => _sys.ReplaceWithZeroPages(address, RoundUp(length));

    private static nuint RoundUp(nuint length) => (length + (nuint)Pages.Size - 1) & ~((nuint)Pages.Size - 1);
}
