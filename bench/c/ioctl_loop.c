/* The C baseline for IoctlBenchmarks: KVM_CHECK_EXTENSION(KVM_CAP_USER_MEMORY) on a VM fd, timed over 2M calls. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <time.h>
#include <linux/kvm.h>

int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int vm = kvm < 0 ? -1 : ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) { perror("KVM_CREATE_VM"); return 1; }
	const long n = 2000000;
	struct timespec a, b;
	long sum = 0;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) sum += ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY);
	clock_gettime(CLOCK_MONOTONIC, &b);
	double ns = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n;
	printf("C: KVM_CHECK_EXTENSION on a VM fd: %.1f ns per call (%ld calls, checksum %ld)\n", ns, n, sum);
	return 0;
}
