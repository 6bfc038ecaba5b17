/* C baseline for bench/Conversion: flip 1 GiB of a KVM_X86_SW_PROTECTED_VM between PRIVATE and shared with
 * KVM_SET_MEMORY_ATTRIBUTES, in 4 KiB and in 2 MiB steps, and report GiB/s. Run inside the private lane. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <time.h>
#include <linux/kvm.h>

struct attrs { uint64_t address, size, attributes, flags; };
#define SET_ATTRS _IOW(KVMIO, 0xd2, struct attrs)

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int vm = kvm < 0 ? -1 : ioctl(kvm, KVM_CREATE_VM, 1);
	if (vm < 0) { perror("KVM_CREATE_VM(SW_PROTECTED)"); return 1; }
	const uint64_t total = 1ull << 30;
	uint64_t steps[] = { 4096, 2ull << 20 };
	for (int s = 0; s < 2; s++) {
		double t0 = now();
		for (uint64_t attr = 8; ; attr = 0) {
			for (uint64_t a = 0; a < total; a += steps[s]) {
				struct attrs r = { a, steps[s], attr, 0 };
				if (ioctl(vm, SET_ATTRS, &r) < 0) { perror("KVM_SET_MEMORY_ATTRIBUTES"); return 1; }
			}
			if (attr == 0) break;
		}
		double t = now() - t0;
		printf("C: 1 GiB private and back in %llu-byte steps: %.3f s (%.2f GiB/s, %.0f ns per call)\n",
		       (unsigned long long)steps[s], t, 2.0 / t, t * 1e9 / (2.0 * total / steps[s]));
	}
	return 0;
}
