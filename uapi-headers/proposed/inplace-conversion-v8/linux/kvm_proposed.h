/*
 * Kvm.Sdk proposed-ABI overlay: guest_memfd in-place conversion, posting v8.
 *
 * NOT KERNEL ABI. Written by the Kvm.Sdk project (not copied from the kernel) to
 * describe an interface that was posted to the KVM list but is not merged:
 *   "[PATCH v8 00/46] guest_memfd: In-place conversion support", Ackerley Tng,
 *   2026-06-18, <20260618-gmem-inplace-conversion-v8-0-9d2959357853@google.com>.
 * Overlays the released headers of Linux 7.3.4 (uapi-headers/7.3.4). Put this
 * directory first on the include path. See README.md beside this directory.
 *
 * EVERY number below is provisional; the ioctl and capability numbers changed
 * between revisions of the series and may change again before (if) it merges.
 *
 * Our own text (SPDX-License-Identifier: MIT, the Kvm.Sdk licence; not the kernel's); facts from shared/reference/gmem-uapi.md.
 */
#ifndef KVM_SDK_PROPOSED_INPLACE_CONVERSION_V8_H
#define KVM_SDK_PROPOSED_INPLACE_CONVERSION_V8_H

#include <linux/kvm.h>

/* Posting-level fact for the SDK (not a kernel name): which revision of the series this overlay
 * describes. The SDK keys the opt-in module parameter on it (v8: kvm.gmem_in_place_conversion=Y). */
#define KVM_SDK_INPLACE_POSTING 8

/*
 * Set the memory attributes of a range of a guest_memfd file.
 * Issued on the guest_memfd fd (from KVM_CREATE_GUEST_MEMFD), never on the VM fd.
 * 128 bytes; address/size/attributes/flags sit at the same offsets as in
 * struct kvm_memory_attributes.
 */
struct kvm_memory_attributes2 {
	union {
		__u64 address;		/* same slot as kvm_memory_attributes.address */
		__u64 offset;		/* in: byte offset into the guest_memfd file */
	};
	__u64 size;			/* in: bytes, page aligned, non-zero */
	__u64 attributes;		/* in: 0 (shared) or KVM_MEMORY_ATTRIBUTE_PRIVATE */
	__u64 flags;			/* in: must be 0 in v8 */
	__u64 error_offset;		/* out: offset of the first page that failed (on error) */
	__u64 reserved[11];		/* must be 0 */
};

/* Provisional: _IOWR(0xAE, 0xd2, 128 bytes) = 0xC080AED2. Same nr as the VM-fd
 * KVM_SET_MEMORY_ATTRIBUTES (0x4020AED2); direction and size tell them apart. */
#define KVM_SET_MEMORY_ATTRIBUTES2	_IOWR(KVMIO, 0xd2, struct kvm_memory_attributes2)

/* Provisional: 250 in v8 (246, 248, 249 in earlier revisions).
 * COLLIDES with KVM_CAP_PPC_COMPAT_CAPS (250) in the released 7.3 headers. */
#define KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES 250

#endif /* KVM_SDK_PROPOSED_INPLACE_CONVERSION_V8_H */
