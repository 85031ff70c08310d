/* fuzz_file.h: the file a fuzz harness hands the engine by its path, as a
 * user's file would be: a memfd (no disk), emptied at each call, named
 * /proc/self/fd/N.  Shared by fuzz_store.c and fuzz_model.c. */
#ifndef TLPX_FUZZ_FILE_H
#define TLPX_FUZZ_FILE_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* The harness's file, empty; *path gets its name. */
static int fuzz_file(const char *name, const char **path)
{
    static int fd = -1;
    static char buf[64];
    if (fd < 0) {
        fd = memfd_create(name, 0);
        if (fd < 0) abort();
        snprintf(buf, sizeof buf, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0) abort();
    *path = buf;
    return fd;
}

#endif
