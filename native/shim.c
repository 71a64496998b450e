/*
 * flt-shim: the kubelet's container shim in C (the Node.js shim, src/kubelet/shim-main.ts, does the same
 * with ~40 MB per container; this one needs ~1 MB). Usage: flt-shim ATTEMPT_DIR. Reads ATTEMPT_DIR/argv and
 * ATTEMPT_DIR/env (NUL-separated strings, written by the kubelet), starts the container process in its own
 * process group with real pipes as stdout/stderr, appends CRI log lines ("<RFC3339Nano> stdout|stderr F|P
 * text") to ATTEMPT_DIR/container.log, writes ATTEMPT_DIR/state.json {shimPid,pid,startedAt} once started
 * and ATTEMPT_DIR/exit.json {exitCode,signal,startedAt,finishedAt} when it exits; when the main process
 * exits the rest of its process group is killed (as when a pid namespace's init dies). Ignores SIGTERM,
 * SIGINT and SIGHUP. Exit status 0 after writing exit.json, 1 when it cannot start at all.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_LINE 16384

static const char *dir;
static int log_fd = -1;

static char *read_all(const char *name, size_t *len) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap + 1);
  for (;;) {
    if (n == cap) buf = realloc(buf, (cap *= 2) + 1);
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    n += (size_t)r;
  }
  close(fd);
  buf[n] = 0;
  *len = n;
  return buf;
}

/* Splits NUL-separated strings into a NULL-terminated vector. */
static char **split(char *buf, size_t len) {
  size_t count = 0;
  for (size_t i = 0; i < len; i++) if (buf[i] == 0) count++;
  if (len > 0 && buf[len - 1] != 0) count++;
  char **v = calloc(count + 1, sizeof *v);
  size_t k = 0;
  for (size_t i = 0; i < len && k < count; k++) {
    v[k] = buf + i;
    i += strlen(buf + i) + 1;
  }
  return v;
}

static void now_rfc3339(char *out, size_t size) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  char base[32];
  strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, size, "%s.%09ldZ", base, ts.tv_nsec);
}

static void write_full(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w;
    n -= (size_t)w;
  }
}

static void emit(const char *stream, const char *text, size_t n, int partial) {
  char ts[48];
  now_rfc3339(ts, sizeof ts);
  char head[96];
  int h = snprintf(head, sizeof head, "%s %s %c ", ts, stream, partial ? 'P' : 'F');
  write_full(log_fd, head, (size_t)h);
  write_full(log_fd, text, n);
  write_full(log_fd, "\n", 1);
}

struct stream {
  const char *name;
  int fd;
  char buf[MAX_LINE];
  size_t len;
};

static void drain(struct stream *s, int final) {
  size_t start = 0;
  for (size_t i = 0; i < s->len; i++) {
    if (s->buf[i] == '\n') {
      size_t end = i;
      if (end > start && s->buf[end - 1] == '\r') end--;
      emit(s->name, s->buf + start, end - start, 0);
      start = i + 1;
    }
  }
  memmove(s->buf, s->buf + start, s->len - start);
  s->len -= start;
  if (s->len == sizeof s->buf || (final && s->len > 0)) {
    emit(s->name, s->buf, s->len, 1);
    s->len = 0;
  }
}

static void write_json(const char *name, const char *text) {
  char path[4096], tmp[4200];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  write_full(fd, text, strlen(text));
  close(fd);
  rename(tmp, path);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: flt-shim ATTEMPT_DIR\n");
    return 2;
  }
  dir = argv[1];
  signal(SIGTERM, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  size_t alen = 0, elen = 0;
  char *abuf = read_all("argv", &alen), *ebuf = read_all("env", &elen);
  char started[48], finished[48], json[512];
  if (!abuf || alen == 0) {
    now_rfc3339(finished, sizeof finished);
    snprintf(json, sizeof json, "{\"exitCode\":128,\"message\":\"shim: cannot read argv\",\"finishedAt\":\"%s\"}", finished);
    write_json("exit.json", json);
    return 1;
  }
  char **cargv = split(abuf, alen);
  char **cenv = ebuf ? split(ebuf, elen) : calloc(1, sizeof(char *));
  char logpath[4096];
  snprintf(logpath, sizeof logpath, "%s/container.log", dir);
  log_fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) return 1;
  now_rfc3339(started, sizeof started);
  pid_t pid = fork();
  if (pid < 0) return 1;
  if (pid == 0) {
    setpgid(0, 0);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    execvpe(cargv[0], cargv, cenv);
    fprintf(stderr, "flt-shim: cannot run %s: %s\n", cargv[0], strerror(errno));
    _exit(127);
  }
  setpgid(pid, pid);
  close(out[1]);
  close(err[1]);
  snprintf(json, sizeof json, "{\"shimPid\":%d,\"pid\":%d,\"startedAt\":\"%s\"}", (int)getpid(), (int)pid, started);
  write_json("state.json", json);
  static struct stream so = {"stdout", -1, {0}, 0}, se = {"stderr", -1, {0}, 0};
  so.fd = out[0];
  se.fd = err[0];
  int status = 0, exited = 0;
  while (so.fd >= 0 || se.fd >= 0 || !exited) {
    struct pollfd p[2] = {{so.fd, POLLIN, 0}, {se.fd, POLLIN, 0}};
    int r = poll(p, 2, 100);
    if (r < 0 && errno != EINTR) break;
    struct stream *ss[2] = {&so, &se};
    for (int i = 0; i < 2; i++) {
      if (ss[i]->fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(ss[i]->fd, ss[i]->buf + ss[i]->len, sizeof ss[i]->buf - ss[i]->len);
      if (n > 0) {
        ss[i]->len += (size_t)n;
        drain(ss[i], 0);
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        drain(ss[i], 1);
        close(ss[i]->fd);
        ss[i]->fd = -1;
      }
    }
    if (!exited && waitpid(pid, &status, WNOHANG) == pid) {
      exited = 1;
      kill(-pid, SIGKILL); /* the rest of the container's process group */
    }
  }
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  now_rfc3339(finished, sizeof finished);
  if (WIFSIGNALED(status)) {
    snprintf(json, sizeof json, "{\"exitCode\":%d,\"signal\":%d,\"startedAt\":\"%s\",\"finishedAt\":\"%s\"}", code,
             WTERMSIG(status), started, finished);
  } else {
    snprintf(json, sizeof json, "{\"exitCode\":%d,\"startedAt\":\"%s\",\"finishedAt\":\"%s\"}", code, started, finished);
  }
  write_json("exit.json", json);
  return 0;
}
