/*
 * Kvm.Sdk proposed-ABI overlay: guest_memfd conversion ioctls of the 1G-page RFC v2.
 *
 * NOT KERNEL ABI, AND ABANDONED. Written by the Kvm.Sdk project (not copied from
 * the kernel) to describe an interface that was posted but never merged:
 *   "[RFC PATCH v2 00/51] 1G page support for guest_memfd", Ackerley Tng,
 *   2025-05-14, <cover.1747264138.git.ackerleytng@google.com>.
 * Kept only so that the SDK's generator and tests can show how it handles a dead
 * proposal whose numbers collide with released ones. See README.md beside this
 * directory. Overlays the released headers of Linux 7.3.4 (uapi-headers/7.3.4).
 *
 * EVERY number below is provisional (and dead).
 *
 * Our own text (SPDX-License-Identifier: MIT, the Kvm.Sdk licence; not the kernel's); facts from shared/reference/gmem-uapi.md.
 */
#ifndef KVM_SDK_PROPOSED_GMEM_CONVERT_RFC_V2_H
#define KVM_SDK_PROPOSED_GMEM_CONVERT_RFC_V2_H

#include <linux/kvm.h>

/* A new ioctl type for guest_memfd fds, distinct from KVMIO (0xAE). */
#define KVM_GMEM_IO 0xAF

/* Convert a range of a guest_memfd file; issued on the guest_memfd fd. 64 bytes. */
struct kvm_gmem_convert {
	__u64 offset;			/* in: byte offset into the guest_memfd file */
	__u64 size;			/* in: bytes */
	__u64 error_offset;		/* out: offset of the first page that failed */
	__u64 reserved[5];
};

/* _IOWR(0xAF, 0x41, 64 bytes) = 0xC040AF41, _IOWR(0xAF, 0x42, 64 bytes) = 0xC040AF42 */
#define KVM_GMEM_CONVERT_SHARED		_IOWR(KVM_GMEM_IO, 0x41, struct kvm_gmem_convert)
#define KVM_GMEM_CONVERT_PRIVATE	_IOWR(KVM_GMEM_IO, 0x42, struct kvm_gmem_convert)

/* Capabilities. COLLIDE with released 240 KVM_CAP_ARM_EL2, 241 KVM_CAP_ARM_EL2_E2H0
 * and 242 KVM_CAP_RISCV_MP_STATE_RESET. */
#define KVM_CAP_GMEM_SHARED_MEM		240
#define KVM_CAP_GMEM_CONVERSION		241
#define KVM_CAP_GMEM_HUGETLB		242

/* kvm_create_guest_memfd.flags. Bits 0 and 1 are GUEST_MEMFD_FLAG_MMAP and
 * GUEST_MEMFD_FLAG_INIT_SHARED in released headers (6.18+): same bits, other
 * meanings (bit 1 even has the opposite default). */
#define GUEST_MEMFD_FLAG_SUPPORT_SHARED	(1ULL << 0)
#define GUEST_MEMFD_FLAG_INIT_PRIVATE	(1ULL << 1)
#define GUEST_MEMFD_FLAG_HUGETLB	(1ULL << 2)

#endif /* KVM_SDK_PROPOSED_GMEM_CONVERT_RFC_V2_H */
