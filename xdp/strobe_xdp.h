/*
 * The one header shared by the XDP program (xdp/strobe_xdp.bpf.c, BPF C) and the dataplane's
 * xdp backend (C++): map layouts and the steady-state rule. The reception checks themselves are
 * in src/bfd/rx_checks.h, shared by every backend.
 *
 * Who writes what in a session entry (the array map is BPF_F_MMAPABLE, so the owning worker
 * reads and writes it directly, without a syscall):
 *   - the owning worker writes the identity and the expectation, and flips `steady_ok` last
 *     (release); the program reads `steady_ok` first;
 *   - the program writes `last_rx_ns` and its counters (8-byte aligned stores, atomic on every
 *     architecture BPF runs on); the worker reads `last_rx_ns` with an acquire load when its
 *     detection timer fires, so detection needs no packet to reach user space;
 *   - the worker also stores `last_rx_ns` (the arrival of a packet its FSM accepted while Up), so
 *     that the program measures the next received interval from that packet.
 */
#ifndef STROBE_XDP_STROBE_XDP_H_
#define STROBE_XDP_STROBE_XDP_H_

#include "src/bfd/rx_checks.h"
#include "src/metrics/interval_buckets.h"

#ifdef __bpf__
typedef __u8 strobe_u8;
typedef __u16 strobe_u16;
typedef __u32 strobe_u32;
typedef __u64 strobe_u64;
#else
#include <stdint.h>
typedef uint8_t strobe_u8;
typedef uint16_t strobe_u16;
typedef uint32_t strobe_u32;
typedef uint64_t strobe_u64;
#endif

/*
 * A discriminator is [worker:4][slot:14][random:14]: the session's map index is
 * worker * STROBE_XDP_SLOTS_PER_WORKER + slot, so the program finds it from Your Discriminator
 * with one array lookup and then checks the whole value.
 */
#define STROBE_XDP_WORKER_SHIFT 28
#define STROBE_XDP_SLOT_SHIFT 14
#define STROBE_XDP_SLOTS_PER_WORKER 16384
#define STROBE_XDP_SLOT_MASK (STROBE_XDP_SLOTS_PER_WORKER - 1)
#define STROBE_XDP_RANDOM_MASK ((1u << STROBE_XDP_SLOT_SHIFT) - 1)
#define STROBE_XDP_MAX_WORKERS 16
/* Bytes of each ring buffer of interesting packets (about 8,000 records). */
#define STROBE_XDP_RING_BYTES (1u << 20)

static inline strobe_u32 strobe_xdp_index_of(strobe_u32 discriminator) {
  return (discriminator >> STROBE_XDP_WORKER_SHIFT) * STROBE_XDP_SLOTS_PER_WORKER +
         ((discriminator >> STROBE_XDP_SLOT_SHIFT) & STROBE_XDP_SLOT_MASK);
}

/* One session, as the program sees it (112 bytes; the mmap stride is sizeof). */
struct strobe_xdp_session {
  /* Identity, written by the owning worker. discriminator 0: the slot is unused. */
  strobe_u32 discriminator;
  strobe_u32 ifindex; /* single-hop: the only interface accepted; 0 for multihop */
  strobe_u8 family;   /* 4 or 6 */
  strobe_u8 multihop;
  strobe_u8 steady_ok; /* 1: the expectation below is valid; any difference is interesting */
  strobe_u8 pad0;
  strobe_u32 pad1;
  strobe_u8 peer[16]; /* IPv4 in the first 4 bytes */
  strobe_u8 local[16];
  /* The steady state: the first 24 bytes of the last packet the FSM accepted, which must
   * carry neither Poll nor Final nor an authentication section. */
  strobe_u8 expect[24];
  /* Written by the program. */
  strobe_u64 last_rx_ns;     /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
  strobe_u64 rx_absorbed;    /* steady-state packets dropped in the kernel */
  strobe_u64 rx_interesting; /* handed to user space */
  strobe_u64 rx_dropped;     /* invalid, charged to this session */
  strobe_u8 pad2[8];
};

/* What the program hands to user space for an interesting packet (BPF ring buffer). */
#define STROBE_XDP_MAX_PAYLOAD 64
struct strobe_xdp_rx_record {
  strobe_u64 rx_ns;
  strobe_u32 ifindex;
  strobe_u16 source_port;
  strobe_u8 family;
  strobe_u8 multihop;
  strobe_u8 ttl;
  strobe_u8 payload_len;      /* bytes of the UDP payload copied into payload[] */
  strobe_u16 udp_payload_len; /* bytes of the UDP payload on the wire */
  strobe_u8 source[16];
  strobe_u8 destination[16];
  strobe_u8 payload[STROBE_XDP_MAX_PAYLOAD];
};

/* Program-wide counters (per-CPU array indexed by these). Drop reasons use the values of
 * enum strobe_bfd_drop_reason; the rest follow. */
enum strobe_xdp_counter {
  STROBE_XDP_ABSORBED = STROBE_BFD_DROP_REASON_COUNT, /* steady state, dropped in the kernel */
  STROBE_XDP_TO_USER,                                 /* interesting, handed to user space */
  STROBE_XDP_RING_FULL, /* interesting, but the ring buffer was full: dropped, counted */
  STROBE_XDP_PASSED,    /* not BFD: XDP_PASS to the kernel */
  STROBE_XDP_COUNTER_COUNT
};

/*
 * The received intervals of Up sessions: the gap between two consecutive packets of a session the
 * program absorbs (the previous one absorbed too, or accepted by the worker's FSM, which stamps
 * `last_rx_ns` then). Per-CPU array `rx_intervals` of STROBE_XDP_INTERVAL_ENTRIES u64 values:
 *   - index i < STROBE_INTERVAL_BUCKETS: gaps counted in bucket i of src/metrics/interval_buckets.h
 *     (strobe_interval_bucket(gap in microseconds));
 *   - index STROBE_XDP_INTERVAL_MAX: the largest gap seen on that CPU, in microseconds.
 * User space sums the buckets over CPUs and takes the largest maximum.
 */
#define STROBE_XDP_INTERVAL_MAX STROBE_INTERVAL_BUCKETS
#define STROBE_XDP_INTERVAL_ENTRIES (STROBE_INTERVAL_BUCKETS + 1)

#endif /* STROBE_XDP_STROBE_XDP_H_ */
