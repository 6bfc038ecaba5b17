// STAND-IN: delete this file once the generated bindings (src/Generators, from the vendored kernel headers) land
// in Kvm.Sdk. It declares by hand, with the generator's names, only what the kernel tests use; values and layouts
// are those of linux-libc-dev 7.3.4 (see /work/shared/reference/gmem-uapi.md and kvm-in-qemu.md).
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Kvm.Interop
{
    [StructLayout(LayoutKind.Explicit, Size = 64)]
    public struct kvm_create_guest_memfd
    {
        [FieldOffset(0)] public ulong size;
        [FieldOffset(8)] public ulong flags;
        [FieldOffset(16)] public reserved_e reserved;

        [InlineArray(6)]
        public struct reserved_e { private ulong _e0; }
    }

    [StructLayout(LayoutKind.Explicit, Size = 32)]
    public struct kvm_userspace_memory_region
    {
        [FieldOffset(0)] public uint slot;
        [FieldOffset(4)] public uint flags;
        [FieldOffset(8)] public ulong guest_phys_addr;
        [FieldOffset(16)] public ulong memory_size;
        [FieldOffset(24)] public ulong userspace_addr;
    }

    [StructLayout(LayoutKind.Explicit, Size = 160)]
    public struct kvm_userspace_memory_region2
    {
        [FieldOffset(0)] public uint slot;
        [FieldOffset(4)] public uint flags;
        [FieldOffset(8)] public ulong guest_phys_addr;
        [FieldOffset(16)] public ulong memory_size;
        [FieldOffset(24)] public ulong userspace_addr;
        [FieldOffset(32)] public ulong guest_memfd_offset;
        [FieldOffset(40)] public uint guest_memfd;
        [FieldOffset(44)] public uint pad1;
        [FieldOffset(48)] public pad2_e pad2;

        [InlineArray(14)]
        public struct pad2_e { private ulong _e0; }
    }

    [StructLayout(LayoutKind.Explicit, Size = 32)]
    public struct kvm_memory_attributes
    {
        [FieldOffset(0)] public ulong address;
        [FieldOffset(8)] public ulong size;
        [FieldOffset(16)] public ulong attributes;
        [FieldOffset(24)] public ulong flags;
    }

    [StructLayout(LayoutKind.Explicit, Size = 16)]
    public struct kvm_run_io
    {
        [FieldOffset(0)] public byte direction;
        [FieldOffset(1)] public byte size;
        [FieldOffset(2)] public ushort port;
        [FieldOffset(4)] public uint count;
        [FieldOffset(8)] public ulong data_offset;
    }

    [StructLayout(LayoutKind.Explicit, Size = 24)]
    public struct kvm_run_memory_fault
    {
        [FieldOffset(0)] public ulong flags;
        [FieldOffset(8)] public ulong gpa;
        [FieldOffset(16)] public ulong size;
    }

    [StructLayout(LayoutKind.Explicit, Size = 16)]
    public struct kvm_run_fail_entry
    {
        [FieldOffset(0)] public ulong hardware_entry_failure_reason;
        [FieldOffset(8)] public uint cpu;
    }

    [StructLayout(LayoutKind.Explicit, Size = 136)]
    public struct kvm_run_internal
    {
        [FieldOffset(0)] public uint suberror;
        [FieldOffset(4)] public uint ndata;
        [FieldOffset(8)] public data_e data;

        [InlineArray(16)]
        public struct data_e { private ulong _e0; }
    }

    public static class KvmIoctls
    {
        public static readonly Ioctl KVM_GET_API_VERSION = new(0xAE00, "KVM_GET_API_VERSION");
        public static readonly Ioctl KVM_CREATE_VM = new(0xAE01, "KVM_CREATE_VM");
        public static readonly Ioctl KVM_CHECK_EXTENSION = new(0xAE03, "KVM_CHECK_EXTENSION");
        public static readonly Ioctl KVM_GET_VCPU_MMAP_SIZE = new(0xAE04, "KVM_GET_VCPU_MMAP_SIZE");
        public static readonly Ioctl KVM_CREATE_VCPU = new(0xAE41, "KVM_CREATE_VCPU");
        public static readonly Ioctl KVM_RUN = new(0xAE80, "KVM_RUN");
        public static readonly IoctlWrite<kvm_userspace_memory_region> KVM_SET_USER_MEMORY_REGION = new(0x4020AE46, "KVM_SET_USER_MEMORY_REGION");
        public static readonly IoctlWrite<kvm_userspace_memory_region2> KVM_SET_USER_MEMORY_REGION2 = new(0x40A0AE49, "KVM_SET_USER_MEMORY_REGION2");
        public static readonly IoctlWrite<kvm_memory_attributes> KVM_SET_MEMORY_ATTRIBUTES = new(0x4020AED2, "KVM_SET_MEMORY_ATTRIBUTES");
        public static readonly IoctlReadWrite<kvm_create_guest_memfd> KVM_CREATE_GUEST_MEMFD = new(0xC040AED4, "KVM_CREATE_GUEST_MEMFD");
    }

    public enum KvmCap : int
    {
        KVM_CAP_USER_MEMORY = 3,
        KVM_CAP_NR_MEMSLOTS = 10,
        KVM_CAP_READONLY_MEM = 81,
        KVM_CAP_CHECK_EXTENSION_VM = 105,
        KVM_CAP_MULTI_ADDRESS_SPACE = 118,
        KVM_CAP_USER_MEMORY2 = 231,
        KVM_CAP_MEMORY_FAULT_INFO = 232,
        KVM_CAP_MEMORY_ATTRIBUTES = 233,
        KVM_CAP_GUEST_MEMFD = 234,
        KVM_CAP_VM_TYPES = 235,
        KVM_CAP_PRE_FAULT_MEMORY = 236,
        KVM_CAP_GUEST_MEMFD_FLAGS = 244,
    }

    public enum KvmExit : int
    {
        KVM_EXIT_IO = 2,
        KVM_EXIT_HLT = 5,
        KVM_EXIT_MMIO = 6,
        KVM_EXIT_SHUTDOWN = 8,
        KVM_EXIT_FAIL_ENTRY = 9,
        KVM_EXIT_INTR = 10,
        KVM_EXIT_INTERNAL_ERROR = 17,
        KVM_EXIT_SYSTEM_EVENT = 24,
        KVM_EXIT_MEMORY_FAULT = 39,
    }

    public static class KvmConstants
    {
        public const ulong GUEST_MEMFD_FLAG_MMAP = 1;
        public const ulong GUEST_MEMFD_FLAG_INIT_SHARED = 2;
        public const ulong KVM_MEM_LOG_DIRTY_PAGES = 1;
        public const ulong KVM_MEM_READONLY = 2;
        public const ulong KVM_MEM_GUEST_MEMFD = 4;
        public const ulong KVM_MEMORY_ATTRIBUTE_PRIVATE = 8;
        public const ulong KVM_MEMORY_EXIT_FLAG_PRIVATE = 8;
        public const int KVM_API_VERSION = 12;
        public const int KVM_EXIT_IO_OUT = 1;
    }
}

namespace Kvm.Interop.X86_64
{
    [StructLayout(LayoutKind.Explicit, Size = 144)]
    public struct kvm_regs
    {
        [FieldOffset(0)] public ulong rax;
        [FieldOffset(8)] public ulong rbx;
        [FieldOffset(16)] public ulong rcx;
        [FieldOffset(24)] public ulong rdx;
        [FieldOffset(32)] public ulong rsi;
        [FieldOffset(40)] public ulong rdi;
        [FieldOffset(48)] public ulong rsp;
        [FieldOffset(56)] public ulong rbp;
        [FieldOffset(64)] public ulong r8;
        [FieldOffset(72)] public ulong r9;
        [FieldOffset(80)] public ulong r10;
        [FieldOffset(88)] public ulong r11;
        [FieldOffset(96)] public ulong r12;
        [FieldOffset(104)] public ulong r13;
        [FieldOffset(112)] public ulong r14;
        [FieldOffset(120)] public ulong r15;
        [FieldOffset(128)] public ulong rip;
        [FieldOffset(136)] public ulong rflags;
    }

    [StructLayout(LayoutKind.Explicit, Size = 24)]
    public struct kvm_segment
    {
        [FieldOffset(0)] public ulong @base;
        [FieldOffset(8)] public uint limit;
        [FieldOffset(12)] public ushort selector;
        [FieldOffset(14)] public byte type;
        [FieldOffset(15)] public byte present;
        [FieldOffset(16)] public byte dpl;
        [FieldOffset(17)] public byte db;
        [FieldOffset(18)] public byte s;
        [FieldOffset(19)] public byte l;
        [FieldOffset(20)] public byte g;
        [FieldOffset(21)] public byte avl;
        [FieldOffset(22)] public byte unusable;
        [FieldOffset(23)] public byte padding;
    }

    /// <summary>Only <c>cs</c> is modelled; the rest (ds..ss, tr, ldt, gdt, idt, cr*, efer, apic_base,
    /// interrupt_bitmap) is carried opaquely so GET/SET round-trips it.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 312)]
    public struct kvm_sregs
    {
        [FieldOffset(0)] public kvm_segment cs;
    }

    [StructLayout(LayoutKind.Explicit, Size = 2352)]
    public struct kvm_run
    {
        [FieldOffset(0)] public byte request_interrupt_window;
        [FieldOffset(1)] public byte immediate_exit;
        [FieldOffset(8)] public uint exit_reason;
        [FieldOffset(32)] public kvm_run_io io;
        [FieldOffset(32)] public kvm_run_fail_entry fail_entry;
        [FieldOffset(32)] public kvm_run_internal @internal;
        [FieldOffset(32)] public kvm_run_memory_fault memory_fault;
    }

    public static class ArchIoctls
    {
        public static readonly IoctlRead<kvm_regs> KVM_GET_REGS = new(0x8090AE81, "KVM_GET_REGS");
        public static readonly IoctlWrite<kvm_regs> KVM_SET_REGS = new(0x4090AE82, "KVM_SET_REGS");
        public static readonly IoctlRead<kvm_sregs> KVM_GET_SREGS = new(0x8138AE83, "KVM_GET_SREGS");
        public static readonly IoctlWrite<kvm_sregs> KVM_SET_SREGS = new(0x4138AE84, "KVM_SET_SREGS");
    }

    public static class ArchConstants
    {
        public const int KVM_X86_DEFAULT_VM = 0;
        public const int KVM_X86_SW_PROTECTED_VM = 1;
    }
}
