namespace Kvm;

/// <summary>What a writable exit view needs to re-check, at each read or write of kvm_run after the view was made, that
/// its exit is still current (and to hold the vCPU's handle meanwhile): the vCPU and the run generation.</summary>
internal readonly struct ExitWriter(VcpuFd vcpu, long generation)
{
    public void Begin() => vcpu.BeginExitRead(generation);

    public void End() => vcpu.EndExitRead();
}
