// SPDX-License-Identifier: GPL-2.0
/*
 * The XDP program of the xdp dataplane backend.
 *
 * Every BFD Control packet (UDP 3784 single-hop, 4784 multihop, over IPv4 or IPv6, behind up to
 * two VLAN tags) is consumed here: invalid ones are dropped and counted, steady-state ones (the
 * same 24 bytes as the last packet the session's FSM accepted) only refresh the session's
 * last_rx_ns and are dropped, and everything else is handed to user space through the `rx_ring`
 * ring buffer and dropped. Anything that is not BFD (BGP's TCP, ARP, ND, ...) is passed to the
 * kernel untouched.
 *
 * When an absorbed packet's session is Up (the expectation's state) and has a previous last_rx_ns,
 * the gap since it is counted into the `rx_intervals` histogram (per CPU; layout in
 * xdp/strobe_xdp.h, buckets in src/metrics/interval_buckets.h): the peer's timer quality.
 *
 * The map layouts and the steady-state rule are in xdp/strobe_xdp.h; the stateless checks of
 * RFC 5880 section 6.8.6 are in src/bfd/rx_checks.h, shared with the other backends.
 */
// linux/bpf.h first: bpf/bpf_helpers.h needs its types.
#include <linux/bpf.h>
// The rest in any order.
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>

/* The shared checks are `static inline`, which clang 14 does not honour in this (large) caller:
 * a BPF-to-BPF call and its return cost ~9 ns per packet (retpoline/SRSO kernels). */
#pragma clang attribute push(__attribute__((always_inline)), apply_to = function)
#include "src/bfd/rx_checks.h"
#include "src/metrics/interval_buckets.h"
#pragma clang attribute pop
#include "xdp/strobe_xdp.h"

char LICENSE[] SEC("license") = "GPL";

/* Indexed by strobe_xdp_index_of(discriminator). User space sets max_entries before load. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(map_flags, BPF_F_MMAPABLE);
  __type(key, __u32);
  __type(value, struct strobe_xdp_session);
  __uint(max_entries, 16384);
} sessions SEC(".maps");

/* Indexed by enum strobe_bfd_drop_reason, then enum strobe_xdp_counter. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __type(key, __u32);
  __type(value, __u64);
  __uint(max_entries, STROBE_XDP_COUNTER_COUNT);
} counters SEC(".maps");

/* The received-interval histogram of Up sessions: STROBE_INTERVAL_BUCKETS counts, then the
 * largest gap in microseconds at STROBE_XDP_INTERVAL_MAX (xdp/strobe_xdp.h). */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __type(key, __u32);
  __type(value, __u64);
  __uint(max_entries, STROBE_XDP_INTERVAL_ENTRIES);
} rx_intervals SEC(".maps");

/* struct strobe_xdp_rx_record, one per interesting packet: worker 0's ring, which also takes
 * bootstrap packets (Your Discriminator 0: the owner is found by key in user space). */
struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, STROBE_XDP_RING_BYTES);
} rx_ring SEC(".maps");

/* Workers 1.. each have a ring of their own, created by user space and put here, so a packet
 * goes straight to the worker its Your Discriminator names. No entry: rx_ring. */
struct strobe_xdp_worker_ring {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, STROBE_XDP_RING_BYTES);
};
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, STROBE_XDP_MAX_WORKERS);
  __type(key, __u32);
  __array(values, struct strobe_xdp_worker_ring);
} worker_rings SEC(".maps");

struct strobe_vlan_hdr {
  __be16 tci;
  __be16 encapsulated_proto;
};

#define STROBE_IP_FRAGMENT 0x3fff /* MF and the fragment offset */
#define STROBE_BFD_STEADY_MASK (STROBE_BFD_FLAG_POLL | STROBE_BFD_FLAG_FINAL | STROBE_BFD_FLAG_AUTH)

static __always_inline void count(__u32 counter) {
  __u64* value = bpf_map_lookup_elem(&counters, &counter);
  if (value) *value += 1;
}

static __always_inline int pass(void) {
  count(STROBE_XDP_PASSED);
  return XDP_PASS;
}

/* Counts the gap between two received packets of an Up session, `previous` < `now` (ns). Per
 * CPU: plain increments. */
static __always_inline void note_interval(__u64 previous, __u64 now) {
  const __u64 gap_us = (now - previous) / 1000;
  __u32 bucket = strobe_interval_bucket(gap_us);
  if (bucket >= STROBE_INTERVAL_BUCKETS) return; /* cannot happen; a bound for the reader */
  __u64* n = bpf_map_lookup_elem(&rx_intervals, &bucket);
  if (n) *n += 1;
  __u32 max_index = STROBE_XDP_INTERVAL_MAX;
  __u64* max = bpf_map_lookup_elem(&rx_intervals, &max_index);
  if (max && gap_us > *max) *max = gap_us;
}

/* The session that `your` (host order, nonzero) names exactly, or NULL. */
static __always_inline struct strobe_xdp_session* find_session(__u32 your) {
  __u32 index = strobe_xdp_index_of(your);
  struct strobe_xdp_session* s = bpf_map_lookup_elem(&sessions, &index);
  if (s && s->discriminator == your) return s;
  return NULL;
}

/* Drops an invalid packet, charged to the session its Your Discriminator names, if any. */
static __always_inline int drop(__u32 reason, __u32 your) {
  if (your != 0) {
    struct strobe_xdp_session* s = find_session(your);
    if (s) __sync_fetch_and_add(&s->rx_dropped, 1);
  }
  count(reason);
  return XDP_DROP;
}

SEC("xdp")
int strobe_xdp_rx(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;

  /* Ethernet and up to two VLAN tags (802.1Q, 802.1ad). */
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return pass();
  __be16 proto = eth->h_proto;
  void* l3 = eth + 1;
  __u32 offset = sizeof(*eth); /* of the UDP payload from data, once known */
#pragma unroll
  for (int i = 0; i < 2; i++) {
    if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD)) break;
    struct strobe_vlan_hdr* vlan = l3;
    if ((void*)(vlan + 1) > data_end) return pass();
    proto = vlan->encapsulated_proto;
    l3 = vlan + 1;
    offset += sizeof(*vlan);
  }

  /* IPv4 (no fragments) or IPv6 (UDP directly), then UDP to a BFD port. */
  __u32 source[4] = {0, 0, 0, 0};
  __u32 destination[4] = {0, 0, 0, 0};
  __u8 family;
  __u8 ttl;
  __u32 ip_payload; /* bytes of the IP datagram after its header: they bound the UDP length */
  struct udphdr* udp;
  if (proto == bpf_htons(ETH_P_IP)) {
    struct iphdr* ip = l3;
    if ((void*)(ip + 1) > data_end) return pass();
    if (ip->version != 4 || ip->ihl < 5) return pass();
    if (ip->frag_off & bpf_htons(STROBE_IP_FRAGMENT)) return pass();
    if (ip->protocol != IPPROTO_UDP) return pass();
    __u32 ip_len = ip->ihl * 4;
    __u32 total = bpf_ntohs(ip->tot_len);
    ip_payload = total > ip_len ? total - ip_len : 0;
    udp = l3 + ip_len;
    offset += ip_len;
    family = 4;
    ttl = ip->ttl;
    source[0] = ip->saddr;
    destination[0] = ip->daddr;
  } else if (proto == bpf_htons(ETH_P_IPV6)) {
    struct ipv6hdr* ip6 = l3;
    if ((void*)(ip6 + 1) > data_end) return pass();
    if (ip6->version != 6 || ip6->nexthdr != IPPROTO_UDP) return pass();
    udp = (void*)(ip6 + 1);
    ip_payload = bpf_ntohs(ip6->payload_len);
    offset += sizeof(*ip6);
    family = 6;
    ttl = ip6->hop_limit;
    __builtin_memcpy(source, &ip6->saddr, 16);
    __builtin_memcpy(destination, &ip6->daddr, 16);
  } else {
    return pass();
  }
  if ((void*)(udp + 1) > data_end) return pass();
  __u8 multihop;
  if (udp->dest == bpf_htons(STROBE_BFD_PORT_SINGLE_HOP)) {
    multihop = 0;
  } else if (udp->dest == bpf_htons(STROBE_BFD_PORT_MULTIHOP)) {
    multihop = 1;
  } else {
    return pass();
  }
  offset += sizeof(*udp);

  /* From here on the packet is BFD, and never reaches the kernel's stack. */
  const __u8* payload = (const __u8*)(udp + 1);
  __u32 udp_len = bpf_ntohs(udp->len);
  /* A UDP length beyond the IP datagram (total length, payload length) ends at the datagram, as
   * in the kernel's stack (which trims to it and then drops the datagram as short) and in the
   * poll-mode classifier (dataplane/rx_frame.cc): the same frame, the same verdict. */
  if (udp_len > ip_payload) udp_len = ip_payload;
  __u32 claimed = udp_len >= sizeof(*udp) ? udp_len - sizeof(*udp) : 0;
  if ((void*)(payload + STROBE_BFD_MANDATORY_LEN) > data_end) {
    __u32 your = 0;
    if (claimed >= STROBE_BFD_OFF_YOUR_DISCR + 4 &&
        (void*)(payload + STROBE_BFD_OFF_YOUR_DISCR + 4) <= data_end)
      your = strobe_bfd_read_be32(payload + STROBE_BFD_OFF_YOUR_DISCR);
    return drop(!multihop && ttl != STROBE_BFD_REQUIRED_TTL ? STROBE_BFD_DROP_BAD_TTL
                                                            : STROBE_BFD_DROP_SHORT_PACKET,
                your);
  }
  /* payload_len = min(claimed, present). The frame rarely holds less than UDP claims; only
   * then is its length asked for (pointer subtraction needs CAP_PERFMON). */
  __u32 payload_len = claimed;
  if ((void*)(payload + claimed) > data_end) {
    __u32 present = (__u32)bpf_xdp_get_buff_len(ctx) - offset;
    if (present < payload_len) payload_len = present;
  }
  const __u32 your = bpf_ntohl(*(const __u32*)(payload + STROBE_BFD_OFF_YOUR_DISCR));

  enum strobe_bfd_drop_reason reason =
      strobe_bfd_check_header(payload, payload_len, ttl, !multihop);
  if (reason != STROBE_BFD_OK)
    return drop(reason, payload_len >= STROBE_BFD_OFF_YOUR_DISCR + 4 ? your : 0);

  struct strobe_xdp_session* s = NULL;
  if (your != 0) {
    s = find_session(your);
    if (!s) {
      count(STROBE_BFD_DROP_NO_SESSION);
      return XDP_DROP;
    }
    /* The session's kind must match the port, too: a single-hop session's packet sent to 4784
     * would otherwise escape the TTL 255 check (GTSM). */
    int wrong = s->family != family || s->multihop != multihop ||
                (!multihop && s->ifindex != ctx->ingress_ifindex);
    const __u32* peer = (const __u32*)s->peer;
    const __u32* local = (const __u32*)s->local;
    wrong |= source[0] != peer[0] || destination[0] != local[0];
    if (family == 6) {
      wrong |= source[1] != peer[1] || source[2] != peer[2] || source[3] != peer[3] ||
               destination[1] != local[1] || destination[2] != local[2] ||
               destination[3] != local[3];
    }
    if (wrong) {
      __sync_fetch_and_add(&s->rx_dropped, 1);
      count(STROBE_BFD_DROP_WRONG_SOURCE);
      return XDP_DROP;
    }

    /* The steady state: steady_ok first, then the expectation it publishes. clang 14 has no
     * load-acquire for BPF: a compiler barrier, enough on x86 (loads are not reordered with
     * loads). The packet is read as unaligned u64s, which the verifier allows on every
     * architecture with efficient unaligned access (x86-64, arm64). */
    __u8 steady_ok = *(volatile __u8*)&s->steady_ok;
    asm volatile("" ::: "memory");
    if (steady_ok && payload[STROBE_BFD_OFF_LENGTH] == STROBE_BFD_MANDATORY_LEN &&
        (payload[STROBE_BFD_OFF_FLAGS] & STROBE_BFD_STEADY_MASK) == 0) {
      const __u64* got = (const __u64*)payload;
      const __u64* expect = (const __u64*)s->expect;
      if (((got[0] ^ expect[0]) | (got[1] ^ expect[1]) | (got[2] ^ expect[2])) == 0) {
        /* The previous packet: absorbed here, or accepted by the worker's FSM (which stores its
         * arrival). 0: none since the entry was published. Another CPU may have stamped a later
         * time meanwhile: only a forward gap counts. */
        const __u64 previous = s->last_rx_ns;
        const __u64 now = bpf_ktime_get_ns();
        s->last_rx_ns = now;
        if (previous != 0 && now > previous &&
            (s->expect[STROBE_BFD_OFF_FLAGS] >> 6) == STROBE_BFD_STATE_UP)
          note_interval(previous, now);
        __sync_fetch_and_add(&s->rx_absorbed, 1);
        count(STROBE_XDP_ABSORBED);
        return XDP_DROP;
      }
    }
  }

  /* Interesting: to user space, on the owning worker's ring. */
  struct strobe_xdp_rx_record* r = 0;
  __u32 owner = your >> STROBE_XDP_WORKER_SHIFT;
  void* worker_ring = your != 0 ? bpf_map_lookup_elem(&worker_rings, &owner) : 0;
  if (worker_ring) {
    r = bpf_ringbuf_reserve(worker_ring, sizeof(*r), 0);
  } else {
    r = bpf_ringbuf_reserve(&rx_ring, sizeof(*r), 0);
  }
  if (!r) {
    count(STROBE_XDP_RING_FULL);
    return XDP_DROP;
  }
  r->rx_ns = bpf_ktime_get_ns();
  r->ifindex = ctx->ingress_ifindex;
  r->source_port = bpf_ntohs(udp->source);
  r->family = family;
  r->multihop = multihop;
  r->ttl = ttl;
  __u64 copy = payload_len < STROBE_XDP_MAX_PAYLOAD ? payload_len : STROBE_XDP_MAX_PAYLOAD;
  /* Let the verifier see 1 <= copy <= STROBE_XDP_MAX_PAYLOAD on the register it checks (the
   * header checks guarantee payload_len >= 24, but clang may clamp on a copy). */
  asm volatile("" : "+r"(copy));
  if (copy == 0 || copy > STROBE_XDP_MAX_PAYLOAD) goto bad_record;
  r->payload_len = copy;
  r->udp_payload_len = payload_len;
  __builtin_memcpy(r->source, source, 16);
  __builtin_memcpy(r->destination, destination, 16);
  if (bpf_xdp_load_bytes(ctx, offset, r->payload, copy) != 0) goto bad_record;
  bpf_ringbuf_submit(r, 0);
  if (s) __sync_fetch_and_add(&s->rx_interesting, 1);
  count(STROBE_XDP_TO_USER);
  return XDP_DROP;

bad_record:
  /* Cannot happen (the bytes are present); never hand over a half-filled record. Counted with
   * the records the ring had no room for: both are interesting packets user space never saw. */
  bpf_ringbuf_discard(r, 0);
  count(STROBE_XDP_RING_FULL);
  return XDP_DROP;
}
