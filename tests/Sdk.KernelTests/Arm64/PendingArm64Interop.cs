// PENDING: hand-written stand-ins for the generated bindings (src/Generators, from the vendored kernel headers).
// DELETE THIS FILE when the generated Kvm.Interop / Kvm.Interop.Arm64 types land in the Kvm.Sdk assembly: every
// name below is spelled as the generator contract spells it (C struct/field/macro names), so the arm64 kernel tests
// compile unchanged against the real ones. Only the names the arm64 tests use are declared.
// Values checked against aarch64-linux-gnu-gcc with linux-libc-dev 7.3.4 (trixie-backports) headers:
// sizeof/offsetof of every struct and every ioctl number below (see tests/kvm-guest/arm64/README.md).
#pragma warning disable CS1591, IDE1006 // C names, no XML docs: a temporary file
using System.Runtime.InteropServices;

namespace Kvm.Interop
{
    [StructLayout(LayoutKind.Explicit, Size = 16)]
    internal struct kvm_one_reg
    {
        [FieldOffset(0)] public ulong id;
        [FieldOffset(8)] public ulong addr;
    }

    [StructLayout(LayoutKind.Explicit, Size = 64)]
    internal unsafe struct kvm_create_guest_memfd
    {
        [FieldOffset(0)] public ulong size;
        [FieldOffset(8)] public ulong flags;
        [FieldOffset(16)] public fixed ulong reserved[6];
    }

    [StructLayout(LayoutKind.Explicit, Size = 160)]
    internal unsafe struct kvm_userspace_memory_region2
    {
        [FieldOffset(0)] public uint slot;
        [FieldOffset(4)] public uint flags;
        [FieldOffset(8)] public ulong guest_phys_addr;
        [FieldOffset(16)] public ulong memory_size;
        [FieldOffset(24)] public ulong userspace_addr;
        [FieldOffset(32)] public ulong guest_memfd_offset;
        [FieldOffset(40)] public uint guest_memfd;
        [FieldOffset(44)] public uint pad1;
        [FieldOffset(48)] public fixed ulong pad2[14];
    }

    /// <summary>struct kvm_signal_mask { __u32 len; __u8 sigset[]; } (flexible array: size 4).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 4)]
    internal struct kvm_signal_mask
    {
        [FieldOffset(0)] public uint len;
    }

    /// <summary>The anonymous <c>mmio</c> member of kvm_run's exit union.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 24)]
    internal unsafe struct kvm_run_mmio
    {
        [FieldOffset(0)] public ulong phys_addr;
        [FieldOffset(8)] public fixed byte data[8];
        [FieldOffset(16)] public uint len;
        [FieldOffset(20)] public byte is_write;
    }

    /// <summary>The anonymous <c>system_event</c> member of kvm_run's exit union.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 136)]
    internal unsafe struct kvm_run_system_event
    {
        [FieldOffset(0)] public uint type;
        [FieldOffset(4)] public uint ndata;
        [FieldOffset(8)] public ulong flags;
        [FieldOffset(8)] public fixed ulong data[16];
    }

    internal static class KvmIoctls
    {
        public static readonly Ioctl KVM_GET_API_VERSION = new(0xAE00, nameof(KVM_GET_API_VERSION));
        public static readonly Ioctl KVM_CREATE_VM = new(0xAE01, nameof(KVM_CREATE_VM));
        public static readonly Ioctl KVM_CHECK_EXTENSION = new(0xAE03, nameof(KVM_CHECK_EXTENSION));
        public static readonly Ioctl KVM_GET_VCPU_MMAP_SIZE = new(0xAE04, nameof(KVM_GET_VCPU_MMAP_SIZE));
        public static readonly Ioctl KVM_CREATE_VCPU = new(0xAE41, nameof(KVM_CREATE_VCPU));
        public static readonly Ioctl KVM_RUN = new(0xAE80, nameof(KVM_RUN));
        public static readonly IoctlWrite<kvm_userspace_memory_region2> KVM_SET_USER_MEMORY_REGION2 = new(0x40A0AE49, nameof(KVM_SET_USER_MEMORY_REGION2));
        public static readonly IoctlReadWrite<kvm_create_guest_memfd> KVM_CREATE_GUEST_MEMFD = new(0xC040AED4, nameof(KVM_CREATE_GUEST_MEMFD));
        public static readonly IoctlWrite<kvm_one_reg> KVM_GET_ONE_REG = new(0x4010AEAB, nameof(KVM_GET_ONE_REG));
        public static readonly IoctlWrite<kvm_one_reg> KVM_SET_ONE_REG = new(0x4010AEAC, nameof(KVM_SET_ONE_REG));
        public static readonly IoctlWrite<kvm_signal_mask> KVM_SET_SIGNAL_MASK = new(0x4004AE8B, nameof(KVM_SET_SIGNAL_MASK));
    }

    internal enum KvmCap : int
    {
        KVM_CAP_IRQCHIP = 0,
        KVM_CAP_USER_MEMORY = 3,
        KVM_CAP_SET_TSS_ADDR = 4,
        KVM_CAP_EXT_CPUID = 7,
        KVM_CAP_NR_VCPUS = 9,
        KVM_CAP_NR_MEMSLOTS = 10,
        KVM_CAP_MAX_VCPUS = 66,
        KVM_CAP_ONE_REG = 70,
        KVM_CAP_SYNC_REGS = 74,
        KVM_CAP_ARM_PSCI_0_2 = 102,
        KVM_CAP_ARM_PMU_V3 = 126,
        KVM_CAP_IMMEDIATE_EXIT = 136,
        KVM_CAP_X86_DISABLE_EXITS = 143,
        KVM_CAP_ARM_USER_IRQ = 144,
        KVM_CAP_ARM_VM_IPA_SIZE = 165,
        KVM_CAP_ARM_SVE = 170,
        KVM_CAP_ARM_PTRAUTH_ADDRESS = 171,
        KVM_CAP_ARM_PTRAUTH_GENERIC = 172,
        KVM_CAP_ARM_NISV_TO_USER = 177,
        KVM_CAP_ARM_MTE = 205,
        KVM_CAP_USER_MEMORY2 = 231,
        KVM_CAP_MEMORY_FAULT_INFO = 232,
        KVM_CAP_MEMORY_ATTRIBUTES = 233,
        KVM_CAP_GUEST_MEMFD = 234,
        KVM_CAP_VM_TYPES = 235,
        KVM_CAP_ARM_EL2 = 240,
        KVM_CAP_ARM_EL2_E2H0 = 241,
        KVM_CAP_GUEST_MEMFD_FLAGS = 244,
    }

    internal enum KvmExit : int
    {
        KVM_EXIT_UNKNOWN = 0,
        KVM_EXIT_MMIO = 6,
        KVM_EXIT_INTR = 10,
        KVM_EXIT_FAIL_ENTRY = 9,
        KVM_EXIT_INTERNAL_ERROR = 17,
        KVM_EXIT_SYSTEM_EVENT = 24,
    }

    internal static class KvmConstants
    {
        public const ulong KVM_REG_ARM64 = 0x6000000000000000UL;
        public const ulong KVM_REG_SIZE_U64 = 0x0030000000000000UL;
        public const ulong KVM_MEM_GUEST_MEMFD = 1UL << 2; // (1UL << 2) in kvm.h
        public const ulong GUEST_MEMFD_FLAG_MMAP = 1UL << 0;
        public const ulong GUEST_MEMFD_FLAG_INIT_SHARED = 1UL << 1;
        public const uint KVM_SYSTEM_EVENT_SHUTDOWN = 1;
        public const uint KVM_SYSTEM_EVENT_RESET = 2;
        public const ulong KVM_VM_TYPE_ARM_IPA_SIZE_MASK = 0xffUL;
        public const ulong KVM_VM_TYPE_ARM_PROTECTED = 1UL << 31;
    }
}

namespace Kvm.Interop.Arm64
{
    [StructLayout(LayoutKind.Explicit, Size = 32)]
    internal unsafe struct kvm_vcpu_init
    {
        [FieldOffset(0)] public uint target;
        [FieldOffset(4)] public fixed uint features[7];
    }

    [StructLayout(LayoutKind.Explicit, Size = 272)]
    internal unsafe struct user_pt_regs
    {
        [FieldOffset(0)] public fixed ulong regs[31];
        [FieldOffset(248)] public ulong sp;
        [FieldOffset(256)] public ulong pc;
        [FieldOffset(264)] public ulong pstate;
    }

    [StructLayout(LayoutKind.Explicit, Size = 528)]
    internal unsafe struct user_fpsimd_state
    {
        [FieldOffset(0)] public fixed ulong vregs[64]; // __uint128_t vregs[32]
        [FieldOffset(512)] public uint fpsr;
        [FieldOffset(516)] public uint fpcr;
        [FieldOffset(520)] public fixed uint __reserved[2];
    }

    [StructLayout(LayoutKind.Explicit, Size = 864)]
    internal unsafe struct kvm_regs
    {
        [FieldOffset(0)] public user_pt_regs regs;
        [FieldOffset(272)] public ulong sp_el1;
        [FieldOffset(280)] public ulong elr_el1;
        [FieldOffset(288)] public fixed ulong spsr[5];
        [FieldOffset(336)] public user_fpsimd_state fp_regs;
    }

    /// <summary>struct kvm_run as laid out on arm64 (the sync-regs union is arch-specific).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 2352)]
    internal struct kvm_run
    {
        [FieldOffset(0)] public byte request_interrupt_window;
        [FieldOffset(1)] public byte immediate_exit;
        [FieldOffset(8)] public uint exit_reason;
        [FieldOffset(12)] public byte ready_for_interrupt_injection;
        [FieldOffset(13)] public byte if_flag;
        [FieldOffset(14)] public ushort flags;
        [FieldOffset(32)] public kvm_run_mmio mmio;
        [FieldOffset(32)] public kvm_run_system_event system_event;
        [FieldOffset(288)] public ulong kvm_valid_regs;
        [FieldOffset(296)] public ulong kvm_dirty_regs;
    }

    internal static class ArchIoctls
    {
        public static readonly IoctlWrite<kvm_vcpu_init> KVM_ARM_VCPU_INIT = new(0x4020AEAE, nameof(KVM_ARM_VCPU_INIT));
        public static readonly IoctlRead<kvm_vcpu_init> KVM_ARM_PREFERRED_TARGET = new(0x8020AEAF, nameof(KVM_ARM_PREFERRED_TARGET));
    }

    internal static class ArchConstants
    {
        public const uint KVM_ARM_VCPU_PSCI_0_2 = 2;
        public const ulong KVM_REG_ARM_CORE = 0x0010UL << 16;
    }
}
