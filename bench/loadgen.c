/*
 * forkrpc bench load generator: closed-loop, pipelined ping load over the
 * forkrpc framing (4-byte little-endian length + JSON), written in C so that
 * the client is never what limits the measurement.
 *
 *   loadgen HOST PORT CONNECTIONS PIPELINE SECONDS PAYLOAD [THREADS]
 *
 * Each connection keeps PIPELINE requests {"in":"ping","params":"<PAYLOAD
 * chars>"} in flight: whenever responses arrive, the same number of requests
 * leave again in one write. Every response must be a well-formed frame whose
 * JSON object has "out":"pong"; anything else counts as an error. Latency is
 * the time from the write that carried a request to the read that brought
 * its answer (answers come back in order: the requests carry no id).
 *
 * All connections are opened at once (non-blocking connects, one deadline of
 * CONNECT_DEADLINE_S for all): a connection refused, or not connected by the
 * deadline, is left out and counted (connections_unconnected); the run then
 * loads the ones that connected. A server need not serve them all: one that
 * accepts a few connections and leaves the rest in its backlog shows as
 * connections_served (got at least one answer in the run) below the number
 * connected. The figures come from the connections that were served.
 *
 * Prints one JSON line on stdout: requests, seconds, rps, p50_us, p99_us (and
 * p90/p999/max), errors (bad answers), connections_lost (closed or cut by the
 * server before the end), connections_unconnected, connections_served,
 * connect_ms (how long the connect phase took), plus the generator's own CPU
 * time (cpu_us), so the caller can see what the client cost on a shared
 * machine. If no connection connects at all it prints {"error":"..."}.
 * Exit status: 0, or 1 when there were errors or lost connections (or no
 * report); connections not served are reported, not failed on.
 *
 * Safety: connects only to 127.0.0.1, and an alarm ends the process a few
 * seconds after the run should have finished, whatever happens.
 *
 * Build: cc -O2 -o loadgen loadgen.c -lpthread
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_FRAME (1u << 20) /* forkrpc's default maxFrameBytes */
#define MAX_EVENTS 256
#define CONNECT_DEADLINE_S 3 /* for all connections together, not each */

/* ---- latency histogram: exact below 256 us, then 128 sub-buckets per power of two (<1% error) ---- */

#define SUB_BITS 7
#define SUB (1 << SUB_BITS)
#define LINEAR (2 * SUB)
#define MAX_MSB 40
#define BUCKETS (LINEAR + (MAX_MSB - SUB_BITS) * SUB)

static int bucket_of(uint64_t us) {
  if (us < LINEAR) return (int)us;
  int msb = 63 - __builtin_clzll(us);
  if (msb > MAX_MSB) return BUCKETS - 1;
  int shift = msb - SUB_BITS;
  return LINEAR + (msb - SUB_BITS - 1) * SUB + (int)((us >> shift) & (SUB - 1));
}

/* The middle of a bucket, in microseconds. */
static double bucket_value(int b) {
  if (b < LINEAR) return b;
  int group = (b - LINEAR) / SUB;
  int mant = (b - LINEAR) % SUB;
  int shift = group + 1;
  double low = (double)((uint64_t)(SUB + mant) << shift);
  return low + (double)((uint64_t)1 << shift) / 2.0;
}

static double percentile(const uint64_t *hist, uint64_t total, double q) {
  if (total == 0) return 0;
  uint64_t rank = (uint64_t)(q * (double)total);
  if (rank < 1) rank = 1;
  if (rank > total) rank = total;
  uint64_t seen = 0;
  for (int b = 0; b < BUCKETS; b++) {
    seen += hist[b];
    if (seen >= rank) return bucket_value(b);
  }
  return bucket_value(BUCKETS - 1);
}

/* ---- connections and threads ---- */

struct conn {
  int fd;
  int alive;
  uint64_t answers; /* answers received in the run: served if > 0 */
  int inflight;
  int oldest;     /* ring index of the oldest request in flight */
  uint64_t *sent; /* send time (ns) of each request in flight, a ring of PIPELINE */
  char *rbuf;
  size_t rlen, rcap;
  size_t wlen, woff; /* the batch being written: bytes of the request block */
};

struct worker {
  pthread_t thread;
  struct conn *conns;
  int nconns;
  int ep;
  uint64_t hist[BUCKETS];
  uint64_t requests;
  uint64_t errors;
  uint64_t lost; /* connections closed or cut before the end */
};

static int g_pipeline;
static char *g_block; /* PIPELINE copies of the request frame */
static size_t g_req_len;
static uint64_t g_end_ns;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
  printf("{\"error\":\"%s: %s\"}\n", what, strerror(errno));
  fflush(stdout);
  exit(1);
}

static void usage(const char *why) {
  fprintf(stderr, "loadgen: %s\nusage: loadgen HOST PORT CONNECTIONS PIPELINE SECONDS PAYLOAD [THREADS]\n", why);
  exit(2);
}

static void lose(struct worker *w, struct conn *c) {
  if (!c->alive) return;
  c->alive = 0;
  w->lost++;
  epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
}

static void set_out_interest(struct worker *w, struct conn *c, int want) {
  struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c};
  epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Continues the batch being written; returns 0 when it is all out. */
static int write_pending(struct worker *w, struct conn *c) {
  while (c->woff < c->wlen) {
    ssize_t n = write(c->fd, g_block + c->woff, c->wlen - c->woff);
    if (n > 0) {
      c->woff += (size_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return 1;
    } else {
      lose(w, c);
      return 1;
    }
  }
  c->wlen = c->woff = 0;
  return 0;
}

/* Tops the connection up to PIPELINE requests in flight, in one write. */
static void refill(struct worker *w, struct conn *c, uint64_t now) {
  if (!c->alive || c->wlen > 0) return;
  int k = g_pipeline - c->inflight;
  if (k <= 0) return;
  for (int i = 0; i < k; i++) c->sent[(c->oldest + c->inflight + i) % g_pipeline] = now;
  c->inflight += k;
  c->wlen = (size_t)k * g_req_len;
  c->woff = 0;
  if (write_pending(w, c) && c->alive) set_out_interest(w, c, 1);
}

/* A well-formed answer: a JSON object with "out": "pong". */
static int is_pong(const char *b, uint32_t n) {
  if (n < 2 || b[0] != '{' || b[n - 1] != '}') return 0;
  const char *end = b + n;
  const char *p = memmem(b, n, "\"out\"", 5);
  if (p == NULL) return 0;
  p += 5;
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
  if (p >= end || *p != ':') return 0;
  p++;
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
  return end - p >= 6 && memcmp(p, "\"pong\"", 6) == 0;
}

static void on_readable(struct worker *w, struct conn *c, uint64_t now) {
  for (;;) {
    if (c->rlen == c->rcap) break; /* parse first; the buffer grows when a frame needs it */
    ssize_t n = read(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen);
    if (n > 0) {
      c->rlen += (size_t)n;
      break;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    lose(w, c); /* closed by the server, or reset */
    return;
  }
  size_t at = 0;
  while (c->rlen - at >= 4) {
    const unsigned char *p = (const unsigned char *)c->rbuf + at;
    uint32_t len = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    if (len == 0 || len > MAX_FRAME) {
      w->errors++;
      lose(w, c); /* the stream can no longer be framed */
      return;
    }
    if (c->rlen - at - 4 < len) {
      if ((size_t)len + 4 > c->rcap) {
        /* make room for this frame: move what is left to the front, then grow */
        memmove(c->rbuf, c->rbuf + at, c->rlen - at);
        c->rlen -= at;
        at = 0;
        c->rcap = (size_t)len + 4;
        c->rbuf = realloc(c->rbuf, c->rcap);
        if (c->rbuf == NULL) die("realloc");
      }
      break;
    }
    c->answers++;
    if (c->inflight == 0) {
      w->errors++; /* an answer nobody asked for */
    } else {
      if (!is_pong(c->rbuf + at + 4, len)) w->errors++;
      uint64_t sent = c->sent[c->oldest];
      c->oldest = (c->oldest + 1) % g_pipeline;
      c->inflight--;
      w->hist[bucket_of((now - sent) / 1000)]++;
      w->requests++;
    }
    at += 4 + (size_t)len;
  }
  if (at > 0) {
    memmove(c->rbuf, c->rbuf + at, c->rlen - at);
    c->rlen -= at;
  }
  refill(w, c, now);
}

static void *run(void *arg) {
  struct worker *w = arg;
  struct epoll_event evs[MAX_EVENTS];
  uint64_t now = now_ns();
  for (int i = 0; i < w->nconns; i++) refill(w, &w->conns[i], now);
  for (;;) {
    now = now_ns();
    if (now >= g_end_ns) break;
    int timeout_ms = (int)((g_end_ns - now) / 1000000u) + 1;
    int n = epoll_wait(w->ep, evs, MAX_EVENTS, timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    now = now_ns();
    if (now >= g_end_ns) break; /* answers after the end are not counted */
    for (int i = 0; i < n; i++) {
      struct conn *c = evs[i].data.ptr;
      if (!c->alive) continue;
      if (evs[i].events & EPOLLOUT) {
        if (write_pending(w, c) == 0 && c->alive) {
          set_out_interest(w, c, 0);
          refill(w, c, now);
        }
      }
      if (c->alive && (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) on_readable(w, c, now);
    }
  }
  return NULL;
}

static long parse_long(const char *s, long min, long max, const char *name) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || *s == '\0' || *end != '\0' || v < min || v > max) {
    char why[128];
    snprintf(why, sizeof why, "%s must be an integer from %ld to %ld", name, min, max);
    usage(why);
  }
  return v;
}

/* One non-blocking connect; returns 0 once connected, EINPROGRESS while pending, or the error. */
static int start_connect(struct conn *c, const struct sockaddr_in *addr) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (c->fd < 0) die("socket");
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(c->fd, (const struct sockaddr *)addr, sizeof *addr) == 0) return 0;
  return errno;
}

/*
 * Opens all connections at once and waits for them until one deadline. A
 * connection refused or still pending then is closed (fd -1). Returns how
 * many connected; *first_error is the first failure's errno (ETIMEDOUT for a
 * pending one).
 */
static int connect_all(struct conn *conns, int n, const struct sockaddr_in *addr, int *first_error) {
  int ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  int connected = 0, pending = 0;
  *first_error = 0;
  for (int i = 0; i < n; i++) {
    struct conn *c = &conns[i];
    int e = start_connect(c, addr);
    if (e == 0) {
      c->alive = 1;
      connected++;
    } else if (e == EINPROGRESS) {
      struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
      if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) die("epoll_ctl");
      pending++;
    } else {
      if (*first_error == 0) *first_error = e;
      close(c->fd);
      c->fd = -1;
    }
  }
  uint64_t deadline = now_ns() + (uint64_t)CONNECT_DEADLINE_S * 1000000000u;
  struct epoll_event evs[MAX_EVENTS];
  while (pending > 0) {
    uint64_t now = now_ns();
    if (now >= deadline) break;
    int k = epoll_wait(ep, evs, MAX_EVENTS, (int)((deadline - now) / 1000000u) + 1);
    if (k < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < k; i++) {
      struct conn *c = evs[i].data.ptr;
      int e = 0;
      socklen_t len = sizeof e;
      if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0) e = errno;
      epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
      pending--;
      if (e == 0) {
        c->alive = 1;
        connected++;
      } else {
        if (*first_error == 0) *first_error = e;
        close(c->fd);
        c->fd = -1;
      }
    }
  }
  for (int i = 0; i < n && pending > 0; i++) {
    struct conn *c = &conns[i];
    if (c->fd >= 0 && !c->alive) {
      if (*first_error == 0) *first_error = ETIMEDOUT;
      close(c->fd);
      c->fd = -1;
      pending--;
    }
  }
  close(ep);
  return connected;
}

int main(int argc, char **argv) {
  if (argc != 7 && argc != 8) usage("wrong number of arguments");
  const char *host = argv[1];
  if (strcmp(host, "localhost") == 0) host = "127.0.0.1";
  if (strcmp(host, "127.0.0.1") != 0) usage("HOST must be 127.0.0.1 (this tool only loads the local machine)");
  int port = (int)parse_long(argv[2], 1, 65535, "PORT");
  int nconns = (int)parse_long(argv[3], 1, 10000, "CONNECTIONS");
  g_pipeline = (int)parse_long(argv[4], 1, 4096, "PIPELINE");
  int seconds = (int)parse_long(argv[5], 1, 3600, "SECONDS");
  long payload = parse_long(argv[6], 0, MAX_FRAME - 64, "PAYLOAD");
  int nthreads = argc == 8 ? (int)parse_long(argv[7], 1, 16, "THREADS") : 1;

  /* Whatever happens (a server that stops answering, a stuck connect), the process ends. */
  alarm((unsigned)seconds + CONNECT_DEADLINE_S + 5);

  /* The request frame, and PIPELINE copies of it back to back. */
  static const char head[] = "{\"in\":\"ping\",\"params\":\"";
  static const char tail[] = "\"}";
  size_t body = sizeof head - 1 + (size_t)payload + sizeof tail - 1;
  g_req_len = 4 + body;
  g_block = malloc(g_req_len * (size_t)g_pipeline);
  if (g_block == NULL) die("malloc");
  unsigned char *r = (unsigned char *)g_block;
  r[0] = body & 0xff, r[1] = (body >> 8) & 0xff, r[2] = (body >> 16) & 0xff, r[3] = (body >> 24) & 0xff;
  memcpy(r + 4, head, sizeof head - 1);
  for (long i = 0; i < payload; i++) r[4 + sizeof head - 1 + i] = (unsigned char)('a' + i % 26);
  memcpy(r + 4 + sizeof head - 1 + payload, tail, sizeof tail - 1);
  for (int i = 1; i < g_pipeline; i++) memcpy(g_block + (size_t)i * g_req_len, g_block, g_req_len);

  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, host, &addr.sin_addr);

  struct conn *conns = calloc((size_t)nconns, sizeof *conns);
  if (conns == NULL) die("calloc");
  uint64_t connect_start = now_ns();
  int first_error;
  int connected = connect_all(conns, nconns, &addr, &first_error);
  double connect_ms = (double)(now_ns() - connect_start) / 1e6;
  if (connected == 0) {
    errno = first_error;
    char why[96];
    snprintf(why, sizeof why, "connect: none of %d connection%s connected", nconns, nconns == 1 ? "" : "s");
    die(why);
  }
  /* The connected ones first, in their order: the threads share them out. */
  for (int i = 0, j = 0; i < nconns; i++) {
    if (conns[i].alive) {
      struct conn moved = conns[i];
      conns[i] = conns[j];
      conns[j++] = moved;
    }
  }
  if (nthreads > connected) nthreads = connected;
  struct worker *workers = calloc((size_t)nthreads, sizeof *workers);
  if (workers == NULL) die("calloc");
  size_t rcap = 65536;
  if (rcap < 4 * (size_t)(payload + 64)) rcap = 4 * (size_t)(payload + 64);
  for (int i = 0; i < connected; i++) {
    struct conn *c = &conns[i];
    c->sent = calloc((size_t)g_pipeline, sizeof *c->sent);
    c->rcap = rcap;
    c->rbuf = malloc(rcap);
    if (c->sent == NULL || c->rbuf == NULL) die("malloc");
  }
  for (int t = 0, first = 0; t < nthreads; t++) {
    struct worker *w = &workers[t];
    w->nconns = connected / nthreads + (t < connected % nthreads ? 1 : 0);
    w->conns = conns + first;
    first += w->nconns;
    w->ep = epoll_create1(0);
    if (w->ep < 0) die("epoll_create1");
    for (int i = 0; i < w->nconns; i++) {
      struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &w->conns[i]};
      if (epoll_ctl(w->ep, EPOLL_CTL_ADD, w->conns[i].fd, &ev) != 0) die("epoll_ctl");
    }
  }

  uint64_t start = now_ns();
  g_end_ns = start + (uint64_t)seconds * 1000000000u;
  for (int t = 0; t < nthreads; t++) {
    if (pthread_create(&workers[t].thread, NULL, run, &workers[t]) != 0) die("pthread_create");
  }
  for (int t = 0; t < nthreads; t++) pthread_join(workers[t].thread, NULL);
  double elapsed = (double)(g_end_ns - start) / 1e9;

  static uint64_t hist[BUCKETS];
  uint64_t requests = 0, errors = 0, lost = 0;
  for (int t = 0; t < nthreads; t++) {
    for (int b = 0; b < BUCKETS; b++) hist[b] += workers[t].hist[b];
    requests += workers[t].requests;
    errors += workers[t].errors;
    lost += workers[t].lost;
  }
  int served = 0;
  for (int i = 0; i < connected; i++) {
    if (conns[i].answers > 0) served++;
    close(conns[i].fd);
  }

  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  uint64_t cpu_us = (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec +
                    (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
  double max_us = 0;
  for (int b = BUCKETS - 1; b >= 0; b--) {
    if (hist[b] > 0) {
      max_us = bucket_value(b);
      break;
    }
  }
  printf(
      "{\"requests\":%llu,\"seconds\":%.3f,\"rps\":%.0f,\"p50_us\":%.0f,\"p90_us\":%.0f,\"p99_us\":%.0f,"
      "\"p999_us\":%.0f,\"max_us\":%.0f,\"errors\":%llu,\"connections_lost\":%llu,"
      "\"connections_unconnected\":%d,\"connections_served\":%d,\"connect_ms\":%.1f,\"cpu_us\":%llu,"
      "\"connections\":%d,\"pipeline\":%d,\"payload\":%ld,\"threads\":%d}\n",
      (unsigned long long)requests, elapsed, (double)requests / elapsed, percentile(hist, requests, 0.50),
      percentile(hist, requests, 0.90), percentile(hist, requests, 0.99), percentile(hist, requests, 0.999), max_us,
      (unsigned long long)errors, (unsigned long long)lost, nconns - connected, served, connect_ms,
      (unsigned long long)cpu_us, nconns, g_pipeline, payload, nthreads);
  return errors > 0 || lost > 0 ? 1 : 0;
}
