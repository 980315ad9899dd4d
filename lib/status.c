/* status.c — version queries and status messages. */
#define _POSIX_C_SOURCE 200809L /* the XSI strerror_r */
#include "nn_private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

uint32_t nn_version_number(void) { return NN_VERSION_NUMBER; }

const char *nn_version_string(void) { return NN_VERSION_STRING; }

const char *nn_strerror(nn_status status)
{
    switch (status) {
    case NN_OK: return "success";
    case NN_ERR_NOMEM: return "out of memory";
    case NN_ERR_INVALID: return "invalid argument";
    case NN_ERR_SHAPE: return "shape mismatch";
    case NN_ERR_NUMERIC: return "numeric failure (NaN or Inf)";
    case NN_ERR_IO: return "I/O error";
    case NN_ERR_FORMAT: return "bad file format";
    case NN_ERR_TOO_LARGE: return "size too large (overflows size_t or BLAS int)";
    case NN_ERR_UNSUPPORTED: return "unsupported";
    case NN_ERR_STATE: return "call out of order";
    }
    return "unknown status code";
}

const char *nn__errno_text(int e, char *buf, size_t n)
{
    /* strerror_r, not strerror: the message lands in the caller's buffer,
     * so concurrent calls in other threads cannot overwrite it */
    if (strerror_r(e, buf, n) != 0) snprintf(buf, n, "error %d", e);
    return buf;
}

/* Copy path into a name buffer of cap bytes. A longer name keeps its end
 * (the file's own name is what tells two paths apart) behind a leading
 * "...", cut at a UTF-8 character boundary. */
void nn__copy_path(char *dst, size_t cap, const char *path)
{
    size_t n = strlen(path);
    if (n < cap) {
        memcpy(dst, path, n + 1);
        return;
    }
    const char *tail = path + n - (cap - 4);
    while ((*tail & 0xC0) == 0x80) tail++; /* a continuation byte */
    snprintf(dst, cap, "...%s", tail);
}

void nn__set_error(nn_error_info *err, const char *file, size_t offset,
                   const char *fmt, ...)
{
    if (!err) return;
    memset(err, 0, sizeof *err);
    nn__copy_path(err->file, sizeof err->file, file ? file : "");
    err->offset = offset;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
}

/* O_NONBLOCK makes open return at once on a FIFO that has no writer (a
 * blocking open would wait forever); it is cleared again, so that reads wait
 * for a writer's data as usual and a writer-less FIFO reads as an immediate
 * end of file. */
int nn__open_read(const char *path, bool *regular, uint64_t *size,
                  const char **what, int *err_no)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    *what = "cannot open";
    if (fd < 0) {
        *err_no = errno;
        return -1;
    }
    struct stat sb;
    int fl;
    *what = "cannot stat";
    if (fstat(fd, &sb) == 0) {
        *what = "cannot read";
        *regular = S_ISREG(sb.st_mode);
        *size = *regular ? (uint64_t)sb.st_size : UINT64_MAX;
        if (S_ISDIR(sb.st_mode)) errno = EISDIR;
        else if ((fl = fcntl(fd, F_GETFL)) >= 0 &&
                 fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == 0)
            return fd;
    }
    *err_no = errno;
    close(fd);
    return -1;
}
