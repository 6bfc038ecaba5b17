/*
 * Kvm.Sdk proposed-ABI overlay: guest_memfd in-place conversion, posting v7.
 *
 * NOT KERNEL ABI. Written by the Kvm.Sdk project (not copied from the kernel) to
 * describe an interface that was posted to the KVM list but is not merged:
 *   "[PATCH v7 00/42] guest_memfd: In-place conversion support", Ackerley Tng,
 *   2026-05-22, <20260522-gmem-inplace-conversion-v7-0-2f0fae496530@google.com>.
 * The revision QEMU's RFC "guest_memfd: support in-place memory conversion"
 * (2026-05-28) runs against. Overlays the released headers of Linux 7.3.4.
 *
 * EVERY number below is provisional.
 *
 * Our own text (SPDX-License-Identifier: MIT, the Kvm.Sdk licence; not the kernel's); facts from
 * shared/reference/gmem-uapi.md section 6.
 */
#ifndef KVM_SDK_PROPOSED_INPLACE_CONVERSION_V7_H
#define KVM_SDK_PROPOSED_INPLACE_CONVERSION_V7_H

#include <linux/kvm.h>

/* Posting-level facts for the SDK (not kernel names): which revision of the series this overlay
 * describes. The SDK keys the opt-in module parameter on it (v7: kvm.vm_memory_attributes=0). */
#define KVM_SDK_INPLACE_POSTING 7

/* Same layout as in v8: 128 bytes, on the guest_memfd fd; content-mode flags were dropped in v7
 * (flags must be 0). */
struct kvm_memory_attributes2 {
	union {
		__u64 address;		/* same slot as kvm_memory_attributes.address */
		__u64 offset;		/* in: byte offset into the guest_memfd file */
	};
	__u64 size;			/* in: bytes, page aligned, non-zero */
	__u64 attributes;		/* in: 0 (shared) or KVM_MEMORY_ATTRIBUTE_PRIVATE */
	__u64 flags;			/* in: must be 0 */
	__u64 error_offset;		/* out: offset of the first page that failed (on error) */
	__u64 reserved[11];		/* must be 0 */
};

/* Provisional: _IOWR(0xAE, 0xd2, 128 bytes) = 0xC080AED2 (unchanged in v8). */
#define KVM_SET_MEMORY_ATTRIBUTES2	_IOWR(KVMIO, 0xd2, struct kvm_memory_attributes2)

/* Provisional: 249 in RFC v6 and v7. COLLIDES with KVM_CAP_S390_HPAGE_2G (249) in the
 * released 7.3 headers. */
#define KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES 249

#endif /* KVM_SDK_PROPOSED_INPLACE_CONVERSION_V7_H */
