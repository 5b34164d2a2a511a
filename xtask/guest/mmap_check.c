// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Shared file mappings on a mount, checked against read(2) and write(2).
 *
 *   mmap_check write FILE   make FILE (an odd size), fill it through a
 *                           shared mapping, msync, munmap; check that
 *                           pread sees the mapping's bytes and the mapping
 *                           sees pwrite's, and that the last page reads
 *                           zeros past the end of the file
 *   mmap_check mtime FILE   set FILE's times to OLD_TIME, store one
 *                           byte (the value it already holds) through a
 *                           fresh shared mapping, msync: mtime and ctime
 *                           must have moved past OLD_TIME (page_mkwrite)
 *   mmap_check verify FILE  after a remount: the same bytes through a
 *                           fresh mapping and through read(2), and an
 *                           mtime that is not OLD_TIME (the mapped
 *                           write's time reached the disk)
 *
 * Exit 0 when every check holds; 1 with a message naming the first one
 * that did not.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SIZE (5 * 4096 * 16 + 1234) /* many pages, a partial last one */
#define PATCH_OFF (3 * 4096 + 100) /* a pwrite inside the mapping */
#define PATCH_LEN 5000
#define OLD_TIME 1000000000 /* 2001: before any time the guest clock gives */

static unsigned char expected(size_t i)
{
	if (i >= PATCH_OFF && i < PATCH_OFF + PATCH_LEN)
		return (unsigned char)(0xA5 ^ (i * 13));
	return (unsigned char)(i * 7 + (i >> 12));
}

static int fail(const char *what)
{
	fprintf(stderr, "mmap_check: %s: %s\n", what, errno ? strerror(errno) : "mismatch");
	return 1;
}

static int check_bytes(const unsigned char *p, const char *what)
{
	size_t i;

	for (i = 0; i < SIZE; i++) {
		if (p[i] != expected(i)) {
			fprintf(stderr, "mmap_check: %s: byte %zu is %u, want %u\n", what, i,
				p[i], expected(i));
			return 1;
		}
	}
	return 0;
}

static int check_read(int fd)
{
	unsigned char *buf = malloc(SIZE);
	ssize_t n;

	if (!buf)
		return fail("malloc");
	n = pread(fd, buf, SIZE, 0);
	if (n != SIZE)
		return fail("pread of the whole file");
	if (check_bytes(buf, "read(2) after the mapping"))
		return 1;
	free(buf);
	return 0;
}

static int do_write(const char *path)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t maplen = (SIZE + page - 1) / page * page;
	unsigned char patch[PATCH_LEN], *p;
	size_t i;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return fail("open");
	if (ftruncate(fd, SIZE))
		return fail("ftruncate");
	p = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return fail("mmap");
	for (i = 0; i < SIZE; i++)
		p[i] = (unsigned char)(i * 7 + (i >> 12));
	/* The bytes past the end in the last page are zeros and stay private. */
	for (i = SIZE; i < maplen; i++)
		if (p[i])
			return fail("zeros past the end of the file");
	if (msync(p, maplen, MS_SYNC))
		return fail("msync");
	/* write(2) into the mapped range: the mapping sees it at once. */
	for (i = 0; i < PATCH_LEN; i++)
		patch[i] = expected(PATCH_OFF + i);
	if (pwrite(fd, patch, PATCH_LEN, PATCH_OFF) != PATCH_LEN)
		return fail("pwrite");
	if (check_bytes(p, "the mapping after pwrite"))
		return 1;
	if (check_read(fd))
		return 1;
	if (munmap(p, maplen))
		return fail("munmap");
	if (fsync(fd))
		return fail("fsync");
	return close(fd) ? fail("close") : 0;
}

static int do_mtime(const char *path)
{
	struct timespec old[2] = { { .tv_sec = OLD_TIME }, { .tv_sec = OLD_TIME } };
	long page = sysconf(_SC_PAGESIZE);
	struct stat st;
	unsigned char *p;
	int fd;

	fd = open(path, O_RDWR);
	if (fd < 0)
		return fail("open");
	if (futimens(fd, old))
		return fail("futimens");
	p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return fail("mmap");
	/* The same value: the store still faults the clean page writable. */
	((volatile unsigned char *)p)[1] = p[1];
	if (msync(p, page, MS_SYNC))
		return fail("msync");
	if (fstat(fd, &st))
		return fail("fstat");
	errno = 0;
	printf("mtime_before=%d mtime_after=%lld ctime_after=%lld\n", OLD_TIME,
	       (long long)st.st_mtim.tv_sec, (long long)st.st_ctim.tv_sec);
	if (st.st_mtim.tv_sec <= OLD_TIME)
		return fail("mtime after a mapped write");
	if (st.st_ctim.tv_sec < st.st_mtim.tv_sec)
		return fail("ctime after a mapped write");
	if (munmap(p, page))
		return fail("munmap");
	return close(fd) ? fail("close") : 0;
}

static int do_verify(const char *path)
{
	struct stat st;
	unsigned char *p;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return fail("open");
	if (fstat(fd, &st))
		return fail("fstat");
	errno = 0;
	if (st.st_size != SIZE)
		return fail("size after the remount");
	if (st.st_mtim.tv_sec == OLD_TIME)
		return fail("mtime after the remount (the mapped write's time was lost)");
	p = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return fail("mmap");
	if (check_bytes(p, "the mapping after the remount") || check_read(fd))
		return 1;
	munmap(p, SIZE);
	return close(fd) ? fail("close") : 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "write"))
		return do_write(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "mtime"))
		return do_mtime(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "verify"))
		return do_verify(argv[2]);
	fprintf(stderr, "usage: mmap_check write|mtime|verify FILE\n");
	return 2;
}
