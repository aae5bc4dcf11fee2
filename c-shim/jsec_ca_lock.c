/*
 * jsec_ca_lock.c — the lock that keeps two processes from changing a CA
 * directory at once: an exclusive flock(2) on a lock file. The kernel drops
 * it when its holder closes it or dies, so a crashed holder never leaves a
 * stale lock behind that others would have to judge and take over.
 */
#include <errno.h>
#include <string.h>

#include "jsec_ca.h"
#include "jsec_ca_util.h"

#ifdef _WIN32

int jsec_ca_lock(const char *path, const char *holder) {
  (void)path;
  (void)holder;
  return ca_fail(JSEC_ERROR, "CA directory locks need flock(2), which this platform lacks");
}

int jsec_ca_unlock(int fd) {
  (void)fd;
  return JSEC_ERROR;
}

#else

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

int jsec_ca_lock(const char *path, const char *holder) {
  int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return ca_fail(JSEC_ERROR, strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int busy = errno == EWOULDBLOCK || errno == EAGAIN;
    const char *why = strerror(errno);
    close(fd);
    return busy ? JSEC_CA_LOCKED : ca_fail(JSEC_ERROR, why);
  }
  /* A lock on a file that was removed or replaced meanwhile guards nothing: try again. */
  struct stat held, named;
  if (fstat(fd, &held) != 0 || lstat(path, &named) != 0 || held.st_ino != named.st_ino ||
      held.st_dev != named.st_dev) {
    close(fd);
    return JSEC_CA_LOCKED;
  }
  /* Who holds it, for the message others get while they wait; the lock itself does not depend on it. */
  if (holder && ftruncate(fd, 0) == 0) {
    ssize_t written = write(fd, holder, strlen(holder));
    (void)written; /* only a note */
  }
  return fd;
}

int jsec_ca_unlock(int fd) { return close(fd) == 0 ? 0 : ca_fail(JSEC_ERROR, strerror(errno)); }

#endif
