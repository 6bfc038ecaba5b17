// A consumer of the Kvm.Sdk package: bindings regenerated from the in-place conversion v8 overlay (MyApp.Interop),
// the experimental conversion API bound to their numbers, and a VM with guest_memfd on a real kernel.
using Kvm;
using Kvm.Interop;

var abi = MyApp.Interop.KvmUapi.For("x86_64") ?? throw new InvalidOperationException("no x86_64 bindings generated");
// The proposed ioctl exists only in the regenerated bindings, typed by the overlay's struct.
var request = MyApp.Interop.KvmIoctls.KVM_SET_MEMORY_ATTRIBUTES2;
Console.WriteLine($"regenerated: {request} from {MyApp.Interop.KvmUapi.Profile}; table: {abi}");

using var kvm = KvmSystem.Open(abi: abi);
using var vm = kvm.CreateVm(VmType.Default);
#pragma warning disable KVMEXP001 // the proposed v8 ABI, opted into on purpose
Console.WriteLine($"in-place conversion v8 on this kernel: {(vm.InPlaceConversionV8 is null ? "not offered" : "offered")}");
#pragma warning restore KVMEXP001
if (vm.GuestMemfd is not { } gmem)
{
    Console.WriteLine("PACKAGE-APP: no guest_memfd on this VM");
    return 1;
}
using var fd = gmem.Create(2 * 1024 * 1024, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP);
Console.WriteLine($"PACKAGE-APP: OK guest_memfd of {fd.Size} bytes on {vm.Type}");
return 0;
