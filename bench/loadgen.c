/*
 * forkrpc bench load generator: closed-loop, pipelined ping load over the
 * forkrpc framing (4-byte little-endian length + JSON), or over NestJS's TCP
 * transport, written in C so that the client is never what limits the
 * measurement.
 *
 *   loadgen HOST PORT CONNECTIONS PIPELINE SECONDS PAYLOAD [THREADS [PROTOCOL]]
 *
 * PROTOCOL is forkrpc (the default) or nest.
 *
 * Each connection keeps PIPELINE requests {"in":"ping","params":"<PAYLOAD
 * chars>"} in flight: whenever responses arrive, the same number of requests
 * leave again in one write. Every response must be a well-formed frame whose
 * JSON object has "out":"pong"; anything else counts as an error. Latency is
 * the time from the write that carried a request to the read that brought
 * its answer (answers come back in order: the requests carry no id).
 *
 * nest: NestJS microservices' TCP transport (JsonSocket): each message is
 * `<length>#<json>`, the length in UTF-16 code units (JavaScript's string
 * length, which is the byte count only for ASCII). Requests are what Nest's
 * ClientTCP sends, {"pattern":"ping","data":"<PAYLOAD chars>","id":"<36
 * chars>"}, with an id unique in the run that names the connection, the
 * request's slot and its sequence number. Answers are matched to requests by
 * id (Nest may answer out of order); a request is done when an answer with
 * its id has "isDisposed":true or an "err". It must have brought "response"
 * equal to the data sent, and no err, or it counts as an error; so does an
 * answer with an id not in flight.
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
 * time over the window (cpu_us), so the caller can see what the client cost
 * on a shared machine. Before it, {"phase":"start"} and {"phase":"end"}
 * lines mark the measured window as it happens. If no connection connects
 * at all it prints {"error":"..."}.
 * With nest, also answer_messages (answers received: one per request when
 * Nest answers each request in one message) and reordered (answers that
 * came after the answer to a later request on the same connection).
 * Exit status: 0, or 1 when there were errors or lost connections, when no
 * connection was served at all (nothing was measured), or with no report.
 * Some connections not served are reported, not failed on.
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
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MAX_FRAME (1u << 20) /* forkrpc's default maxFrameBytes */
#define MAX_EVENTS 256
#define CONNECT_DEADLINE_S 3 /* for all connections together, not each */
#define IOV_BATCH 1024        /* iovecs per writev (Linux's IOV_MAX) */
#define NEST_ID_LEN 36        /* a UUID's length, as Nest's client sends */
#define NEST_TAIL_LEN (NEST_ID_LEN + 2) /* the id, then the frame's last `"}` */
#define NEST_MAX_UNITS (2 * MAX_FRAME)  /* the longest answer accepted, in UTF-16 units */

enum protocol { PROTO_FORKRPC, PROTO_NEST };

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
  int oldest;     /* forkrpc: ring index of the oldest request in flight */
  uint64_t *sent; /* send time (ns) of each request in flight: forkrpc a ring of PIPELINE, nest by slot */
  char *rbuf;
  size_t rlen, rcap;
  size_t wlen, woff; /* the batch being written, in bytes */
  /* nest: requests in flight by slot (0..PIPELINE-1), matched by the id in their answer */
  int index;        /* the connection's number, in its ids */
  uint64_t *seq;    /* per slot: the sequence number of the request in it, 0 when free */
  char *ids;        /* per slot: NEST_TAIL_LEN bytes, the request's id and `"}` */
  unsigned char *got; /* per slot: the expected response has arrived */
  int *free_slots, nfree;
  int *batch, nbatch; /* the slots of the batch being written, in order */
  uint64_t next_seq, max_done_seq;
  size_t scan_bytes, scan_units; /* how far the answer being received has been measured */
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
  uint64_t messages;  /* nest: answer messages */
  uint64_t reordered; /* nest: answers that came after a later request's */
};

static enum protocol g_protocol;
static int g_pipeline;
static char *g_payload; /* PAYLOAD characters, 'a' to 'z' over and over */
static size_t g_payload_len;
static char *g_block; /* forkrpc: PIPELINE copies of the request frame; nest: a frame up to its id */
static size_t g_block_len;
static size_t g_req_len;
static uint64_t g_end_ns;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* User + system CPU of this process so far, in microseconds. */
static uint64_t cpu_used_us(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec +
         (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
}

static void die(const char *what) {
  printf("{\"error\":\"%s: %s\"}\n", what, strerror(errno));
  fflush(stdout);
  exit(1);
}

static void usage(const char *why) {
  fprintf(stderr, "loadgen: %s\nusage: loadgen HOST PORT CONNECTIONS PIPELINE SECONDS PAYLOAD [THREADS [forkrpc|nest]]\n",
          why);
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

/* nest: the iovecs of the batch from byte c->woff on: each request is the shared frame head, then its slot's id. */
static int nest_iovecs(const struct conn *c, struct iovec *iov) {
  size_t r = c->woff / g_req_len, off = c->woff % g_req_len;
  int n = 0;
  for (; r < (size_t)c->nbatch && n + 2 <= IOV_BATCH; r++, off = 0) {
    char *tail = c->ids + (size_t)c->batch[r] * NEST_TAIL_LEN;
    if (off < g_block_len) {
      iov[n++] = (struct iovec){.iov_base = g_block + off, .iov_len = g_block_len - off};
      iov[n++] = (struct iovec){.iov_base = tail, .iov_len = NEST_TAIL_LEN};
    } else {
      iov[n++] = (struct iovec){.iov_base = tail + (off - g_block_len), .iov_len = NEST_TAIL_LEN - (off - g_block_len)};
    }
  }
  return n;
}

/* Continues the batch being written; returns 0 when it is all out. */
static int write_pending(struct worker *w, struct conn *c) {
  struct iovec iov[IOV_BATCH];
  while (c->woff < c->wlen) {
    ssize_t n = g_protocol == PROTO_NEST ? writev(c->fd, iov, nest_iovecs(c, iov))
                                         : write(c->fd, g_block + c->woff, c->wlen - c->woff);
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

static void put_hex(char *p, uint64_t v, int digits) {
  for (int i = digits - 1; i >= 0; i--, v >>= 4) p[i] = "0123456789abcdef"[v & 15];
}

/* Reads `digits` lowercase hex digits; 0 if one is not. */
static int get_hex(const char *p, int digits, uint64_t *v) {
  *v = 0;
  for (int i = 0; i < digits; i++) {
    char ch = p[i];
    int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
    if (d < 0) return 0;
    *v = *v << 4 | (uint64_t)d;
  }
  return 1;
}

/* A UUID-shaped id, CCCCCCCC-SSSS-4000-8000-NNNNNNNNNNNN: connection, slot, sequence number (hex). */
static void nest_put_id(char *p, int conn, int slot, uint64_t seq) {
  put_hex(p, (uint64_t)conn, 8);
  p[8] = '-';
  put_hex(p + 9, (uint64_t)slot, 4);
  memcpy(p + 13, "-4000-8000-", 11);
  put_hex(p + 24, seq, 12);
  memcpy(p + NEST_ID_LEN, "\"}", 2);
}

static int nest_get_id(const char *p, uint64_t *conn, uint64_t *slot, uint64_t *seq) {
  return get_hex(p, 8, conn) && p[8] == '-' && get_hex(p + 9, 4, slot) && memcmp(p + 13, "-4000-8000-", 11) == 0 &&
         get_hex(p + 24, 12, seq);
}

/* Tops the connection up to PIPELINE requests in flight, in one write. */
static void refill(struct worker *w, struct conn *c, uint64_t now) {
  if (!c->alive || c->wlen > 0) return;
  int k = g_pipeline - c->inflight;
  if (k <= 0) return;
  if (g_protocol == PROTO_NEST) {
    for (int i = 0; i < k; i++) {
      int slot = c->free_slots[--c->nfree];
      uint64_t seq = c->next_seq++;
      c->seq[slot] = seq;
      c->sent[slot] = now;
      nest_put_id(c->ids + (size_t)slot * NEST_TAIL_LEN, c->index, slot, seq);
      c->batch[i] = slot;
    }
    c->nbatch = k;
  } else {
    for (int i = 0; i < k; i++) c->sent[(c->oldest + c->inflight + i) % g_pipeline] = now;
  }
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

/* forkrpc: takes the complete frames off the read buffer. */
static void forkrpc_answers(struct worker *w, struct conn *c, uint64_t now) {
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
}

/*
 * nest: how many bytes of UTF-8 hold `units` UTF-16 code units, resuming
 * where the last call on this answer stopped: 1 with *bytes set, 0 when more
 * must arrive, -1 when a character straddles the length (a broken frame).
 */
static int nest_span(struct conn *c, const unsigned char *s, size_t avail, size_t units, size_t *bytes) {
  size_t b = c->scan_bytes, u = c->scan_units;
  while (u < units && b < avail) {
    if (units - u >= 8 && avail - b >= 8) {
      uint64_t word;
      memcpy(&word, s + b, 8);
      if ((word & 0x8080808080808080ull) == 0) { /* 8 ASCII characters at once */
        b += 8, u += 8;
        continue;
      }
    }
    size_t len = s[b] < 0x80 ? 1 : s[b] >= 0xf0 ? 4 : s[b] >= 0xe0 ? 3 : s[b] >= 0xc0 ? 2 : 1;
    if (avail - b < len) break;
    b += len;
    u += len == 4 ? 2 : 1; /* past the BMP: a surrogate pair */
  }
  c->scan_bytes = b, c->scan_units = u;
  if (u < units) return 0;
  c->scan_bytes = c->scan_units = 0;
  *bytes = b;
  return u == units ? 1 : -1;
}

/* Does the answer carry "response" equal to the data sent? */
static int nest_response_ok(const char *m, const char *end) {
  const char *p = memmem(m, (size_t)(end - m), "\"response\":", 11);
  if (p == NULL) return -1; /* none in this answer */
  p += 11;
  return (size_t)(end - p) >= g_payload_len + 2 && p[0] == '"' && memcmp(p + 1, g_payload, g_payload_len) == 0 &&
         p[1 + g_payload_len] == '"';
}

/* One answer message of `n` bytes. */
static void nest_answer(struct worker *w, struct conn *c, const char *m, size_t n, uint64_t now) {
  static const char plain_head[] = "{\"response\":\"";
  static const char plain_mid[] = "\",\"isDisposed\":true,\"id\":\"";
  const size_t head = sizeof plain_head - 1, mid = sizeof plain_mid - 1;
  const char *end = m + n;
  c->answers++;
  w->messages++;
  /* What Nest sends for a value returned at once; anything else is read key by key. */
  int plain = n == head + g_payload_len + mid + NEST_TAIL_LEN && memcmp(m, plain_head, head) == 0 &&
              memcmp(m + head, g_payload, g_payload_len) == 0 && memcmp(m + head + g_payload_len, plain_mid, mid) == 0 &&
              memcmp(end - 2, "\"}", 2) == 0;
  const char *id = plain ? end - NEST_TAIL_LEN : n > 2 && m[0] == '{' && m[n - 1] == '}' ? memmem(m, n, "\"id\":\"", 6) : NULL;
  if (id != NULL && !plain) id += 6;
  uint64_t conn, slot, seq;
  if (id == NULL || end - id < NEST_ID_LEN + 1 || id[NEST_ID_LEN] != '"' || !nest_get_id(id, &conn, &slot, &seq) ||
      conn != (uint64_t)c->index || slot >= (uint64_t)g_pipeline || seq == 0 || c->seq[slot] != seq) {
    w->errors++; /* not an answer to a request in flight */
    return;
  }
  int failed = 0, disposed = 1;
  if (!plain) {
    const char *err = memmem(m, n, "\"err\":", 6);
    failed = err != NULL && !(end - err >= 10 && memcmp(err + 6, "null", 4) == 0);
    int response = nest_response_ok(m, end);
    if (response == 0) failed = 1;
    if (response == 1) c->got[slot] = 1;
    disposed = memmem(m, n, "\"isDisposed\":true", 17) != NULL;
    if (!disposed && !failed) return; /* one of several answers: the request goes on */
  } else {
    c->got[slot] = 1;
  }
  if (failed || !c->got[slot]) w->errors++;
  if (seq < c->max_done_seq) w->reordered++;
  else c->max_done_seq = seq;
  w->hist[bucket_of((now - c->sent[slot]) / 1000)]++;
  w->requests++;
  c->seq[slot] = 0;
  c->got[slot] = 0;
  c->free_slots[c->nfree++] = (int)slot;
  c->inflight--;
}

/* nest: takes the complete answers off the read buffer. */
static void nest_answers(struct worker *w, struct conn *c, uint64_t now) {
  size_t at = 0;
  while (at < c->rlen) {
    const char *p = c->rbuf + at;
    size_t avail = c->rlen - at, h = 0, units = 0, bytes;
    while (h < avail && h <= 10 && p[h] >= '0' && p[h] <= '9') units = units * 10 + (size_t)(p[h++] - '0');
    if (h == avail && h <= 10) break; /* the length is still arriving */
    int whole = h == 0 || h > 10 || p[h] != '#' || units == 0 || units > NEST_MAX_UNITS
                    ? -1
                    : nest_span(c, (const unsigned char *)p + h + 1, avail - h - 1, units, &bytes);
    if (whole < 0) {
      w->errors++;
      lose(w, c); /* the stream can no longer be framed */
      return;
    }
    if (whole == 0) break;
    nest_answer(w, c, p + h + 1, bytes, now);
    at += h + 1 + bytes;
  }
  if (at > 0) {
    memmove(c->rbuf, c->rbuf + at, c->rlen - at);
    c->rlen -= at;
  }
  if (c->rlen == c->rcap) {
    /* one answer fills the buffer: grow it (the length is in characters, the bytes are not known yet) */
    c->rcap *= 2;
    c->rbuf = realloc(c->rbuf, c->rcap);
    if (c->rbuf == NULL) die("realloc");
  }
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
  if (g_protocol == PROTO_NEST) nest_answers(w, c, now);
  else forkrpc_answers(w, c, now);
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

/* forkrpc: the request frame, PIPELINE times back to back (every request is the same). */
static void build_forkrpc_requests(void) {
  static const char head[] = "{\"in\":\"ping\",\"params\":\"";
  static const char tail[] = "\"}";
  size_t body = sizeof head - 1 + g_payload_len + sizeof tail - 1;
  g_req_len = 4 + body;
  g_block = malloc(g_req_len * (size_t)g_pipeline);
  if (g_block == NULL) die("malloc");
  unsigned char *r = (unsigned char *)g_block;
  r[0] = body & 0xff, r[1] = (body >> 8) & 0xff, r[2] = (body >> 16) & 0xff, r[3] = (body >> 24) & 0xff;
  memcpy(r + 4, head, sizeof head - 1);
  memcpy(r + 4 + sizeof head - 1, g_payload, g_payload_len);
  memcpy(r + 4 + sizeof head - 1 + g_payload_len, tail, sizeof tail - 1);
  for (int i = 1; i < g_pipeline; i++) memcpy(g_block + (size_t)i * g_req_len, g_block, g_req_len);
}

/* nest: `<length>#{"pattern":"ping","data":"<payload>","id":"` shared by all; each request's id and `"}` follow. */
static void build_nest_request(void) {
  static const char head[] = "{\"pattern\":\"ping\",\"data\":\"";
  static const char mid[] = "\",\"id\":\"";
  size_t json = sizeof head - 1 + g_payload_len + sizeof mid - 1 + NEST_TAIL_LEN; /* ASCII: characters = bytes */
  char length[24];
  int digits = snprintf(length, sizeof length, "%zu#", json);
  g_block_len = (size_t)digits + json - NEST_TAIL_LEN;
  g_req_len = g_block_len + NEST_TAIL_LEN;
  g_block = malloc(g_block_len);
  if (g_block == NULL) die("malloc");
  char *p = g_block;
  memcpy(p, length, (size_t)digits), p += digits;
  memcpy(p, head, sizeof head - 1), p += sizeof head - 1;
  memcpy(p, g_payload, g_payload_len), p += g_payload_len;
  memcpy(p, mid, sizeof mid - 1);
}

/* nest: every slot free, ids from 1 on. */
static void nest_slots(struct conn *c, int index) {
  size_t n = (size_t)g_pipeline;
  c->index = index;
  c->seq = calloc(n, sizeof *c->seq);
  c->ids = malloc(n * NEST_TAIL_LEN);
  c->got = calloc(n, 1);
  c->free_slots = malloc(n * sizeof *c->free_slots);
  c->batch = malloc(n * sizeof *c->batch);
  if (c->seq == NULL || c->ids == NULL || c->got == NULL || c->free_slots == NULL || c->batch == NULL) die("malloc");
  for (int s = g_pipeline - 1; s >= 0; s--) c->free_slots[c->nfree++] = s;
  c->next_seq = 1;
}

int main(int argc, char **argv) {
  if (argc < 7 || argc > 9) usage("wrong number of arguments");
  const char *host = argv[1];
  if (strcmp(host, "localhost") == 0) host = "127.0.0.1";
  if (strcmp(host, "127.0.0.1") != 0) usage("HOST must be 127.0.0.1 (this tool only loads the local machine)");
  int port = (int)parse_long(argv[2], 1, 65535, "PORT");
  int nconns = (int)parse_long(argv[3], 1, 10000, "CONNECTIONS");
  g_pipeline = (int)parse_long(argv[4], 1, 4096, "PIPELINE");
  int seconds = (int)parse_long(argv[5], 1, 3600, "SECONDS");
  long payload = parse_long(argv[6], 0, MAX_FRAME - 64, "PAYLOAD");
  int nthreads = argc >= 8 ? (int)parse_long(argv[7], 1, 16, "THREADS") : 1;
  if (argc == 9 && strcmp(argv[8], "nest") == 0) g_protocol = PROTO_NEST;
  else if (argc == 9 && strcmp(argv[8], "forkrpc") != 0) usage("PROTOCOL must be forkrpc or nest");

  /* Whatever happens (a server that stops answering, a stuck connect), the process ends. */
  alarm((unsigned)seconds + CONNECT_DEADLINE_S + 5);

  g_payload_len = (size_t)payload;
  g_payload = malloc(g_payload_len + 1);
  if (g_payload == NULL) die("malloc");
  for (size_t i = 0; i < g_payload_len; i++) g_payload[i] = (char)('a' + i % 26);
  if (g_protocol == PROTO_NEST) build_nest_request();
  else build_forkrpc_requests();

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
    if (g_protocol == PROTO_NEST) nest_slots(c, i);
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

  /* The measured window, announced on its own lines so that the caller can
   * sample the server over exactly it (not the connect phase, not the
   * teardown); the generator's own CPU is counted over it too. */
  uint64_t cpu_start = cpu_used_us();
  printf("{\"phase\":\"start\"}\n");
  fflush(stdout);
  uint64_t start = now_ns();
  g_end_ns = start + (uint64_t)seconds * 1000000000u;
  for (int t = 0; t < nthreads; t++) {
    if (pthread_create(&workers[t].thread, NULL, run, &workers[t]) != 0) die("pthread_create");
  }
  for (int t = 0; t < nthreads; t++) pthread_join(workers[t].thread, NULL);
  printf("{\"phase\":\"end\"}\n");
  fflush(stdout);
  uint64_t cpu_us = cpu_used_us() - cpu_start;
  double elapsed = (double)(g_end_ns - start) / 1e9;

  static uint64_t hist[BUCKETS];
  uint64_t requests = 0, errors = 0, lost = 0, messages = 0, reordered = 0;
  for (int t = 0; t < nthreads; t++) {
    for (int b = 0; b < BUCKETS; b++) hist[b] += workers[t].hist[b];
    requests += workers[t].requests;
    errors += workers[t].errors;
    lost += workers[t].lost;
    messages += workers[t].messages;
    reordered += workers[t].reordered;
  }
  int served = 0;
  for (int i = 0; i < connected; i++) {
    if (conns[i].answers > 0) served++;
    close(conns[i].fd);
  }

  double max_us = 0;
  for (int b = BUCKETS - 1; b >= 0; b--) {
    if (hist[b] > 0) {
      max_us = bucket_value(b);
      break;
    }
  }
  char nest[96] = "";
  if (g_protocol == PROTO_NEST) {
    snprintf(nest, sizeof nest, ",\"answer_messages\":%llu,\"reordered\":%llu", (unsigned long long)messages,
             (unsigned long long)reordered);
  }
  printf(
      "{\"requests\":%llu,\"seconds\":%.3f,\"rps\":%.0f,\"p50_us\":%.0f,\"p90_us\":%.0f,\"p99_us\":%.0f,"
      "\"p999_us\":%.0f,\"max_us\":%.0f,\"errors\":%llu,\"connections_lost\":%llu,"
      "\"connections_unconnected\":%d,\"connections_served\":%d,\"connect_ms\":%.1f,\"cpu_us\":%llu,"
      "\"connections\":%d,\"pipeline\":%d,\"payload\":%ld,\"threads\":%d,\"protocol\":\"%s\"%s}\n",
      (unsigned long long)requests, elapsed, (double)requests / elapsed, percentile(hist, requests, 0.50),
      percentile(hist, requests, 0.90), percentile(hist, requests, 0.99), percentile(hist, requests, 0.999), max_us,
      (unsigned long long)errors, (unsigned long long)lost, nconns - connected, served, connect_ms,
      (unsigned long long)cpu_us, nconns, g_pipeline, payload, nthreads, g_protocol == PROTO_NEST ? "nest" : "forkrpc",
      nest);
  return errors > 0 || lost > 0 || served == 0 ? 1 : 0;
}
