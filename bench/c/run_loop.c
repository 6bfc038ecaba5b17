/*
 * The C baseline for the per-exit cost of the run loop (issue #12): a real-mode guest loops on `out dx, al`
 * (mov dx,0x10; l: out dx,al; jmp l), so every KVM_RUN returns one KVM_EXIT_IO. Nothing but the ioctl and a look at
 * kvm_run's exit reason and port per exit, as a minimal C VMM would do.
 *   run_loop [exits per round, default 100000] [rounds, default 1]
 * Prints one line per round: "C: <ns> ns per exit, <ns> ns CPU (<n> exits)": wall-clock time and the thread's CPU
 * time (CLOCK_THREAD_CPUTIME_ID, guest time included), which waiting for a CPU on a loaded machine does not inflate.
 * Needs an x86_64 /dev/kvm.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <linux/kvm.h>

static int fail(const char *what)
{
	perror(what);
	return 1;
}

static double clock_ns(clockid_t clock)
{
	struct timespec t;
	clock_gettime(clock, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char **argv)
{
	long exits = argc > 1 ? atol(argv[1]) : 100000;
	int rounds = argc > 2 ? atoi(argv[2]) : 1;
	static const unsigned char code[] = { 0xBA, 0x10, 0x00, 0xEE, 0xEB, 0xFD };
	const size_t mem_size = 16 * 4096;

	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("open /dev/kvm");
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");
	unsigned char *mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return fail("mmap guest memory");
	memcpy(mem, code, sizeof code);
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = mem_size, .userspace_addr = (unsigned long)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION");
	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < 0)
		return fail("KVM_GET_VCPU_MMAP_SIZE");
	struct kvm_run *run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return fail("mmap kvm_run");

	struct kvm_sregs sregs;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return fail("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	sregs.ds.base = 0;
	sregs.ds.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return fail("KVM_SET_SREGS");
	struct kvm_regs regs = { .rip = 0, .rflags = 2 };
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return fail("KVM_SET_REGS");

	/* Warm-up: the first entries fault the guest page in and settle the vCPU. */
	for (int i = 0; i < 1000; i++)
		if (ioctl(vcpu, KVM_RUN, 0) < 0)
			return fail("KVM_RUN");

	for (int r = 0; r < rounds; r++) {
		unsigned long ports = 0;
		double cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID);
		double start = clock_ns(CLOCK_MONOTONIC);
		for (long i = 0; i < exits; i++) {
			if (ioctl(vcpu, KVM_RUN, 0) < 0)
				return fail("KVM_RUN");
			if (run->exit_reason != KVM_EXIT_IO) {
				fprintf(stderr, "unexpected exit reason %u\n", run->exit_reason);
				return 1;
			}
			ports += run->io.port;
		}
		double ns = (clock_ns(CLOCK_MONOTONIC) - start) / exits;
		double cpu_ns = (clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu) / exits;
		if (ports != 0x10ul * exits) {
			fprintf(stderr, "unexpected ports\n");
			return 1;
		}
		printf("C: %.1f ns per exit, %.1f ns CPU (%ld exits)\n", ns, cpu_ns, exits);
		fflush(stdout);
	}
	return 0;
}
