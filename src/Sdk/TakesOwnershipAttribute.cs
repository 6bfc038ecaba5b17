namespace Kvm;

/// <summary>
/// Marks a parameter that takes ownership of the handle passed to it (a <see cref="KvmSystem"/>, <see cref="VmFd"/>,
/// <see cref="VcpuFd"/>, <see cref="GmemFd"/> or <see cref="HostMapping"/>): the callee disposes it, so the caller must
/// not. The Kvm.Sdk analyzer KVM1006 counts passing a handle to such a parameter as handing it on, and passing it to a
/// library parameter without the attribute (<c>Console.WriteLine(vm)</c>) as not. Apply it to your own APIs that keep
/// and dispose a handle (a machine or board type's constructor). No public Kvm.Sdk member takes ownership of a handle
/// you pass it, so the SDK applies it only internally. Issues no ioctl and needs no capability.
/// </summary>
[System.AttributeUsage(System.AttributeTargets.Parameter, AllowMultiple = false, Inherited = true)]
public sealed class TakesOwnershipAttribute : System.Attribute
{
}
