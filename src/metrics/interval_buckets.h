/*
 * The buckets of the received-interval histogram: the gaps between two consecutive BFD Control
 * packets of an Up session, in microseconds. It tells how regular a peer's timers are (the
 * load generator's `dut_interval_us`, `show bfd counters`' `rx_interval_us`).
 *
 * Plain C, so the XDP program (which measures the packets it absorbs) and the workers (which
 * measure the packets they see) count into the same buckets. Includes nothing.
 *
 * Log-linear, like HdrHistogram: values below 256 us have a bucket each; above, every power of
 * two [2^(b+7), 2^(b+8)) is cut into 128 equal buckets of width 2^b. A bucket is never wider than
 * 1/128 of its lower bound (0.8 %): 64 us at 10 ms, 2 ms at 300 ms. Gaps of 2^32 us (71 minutes)
 * and more share the last bucket.
 */
#ifndef STROBE_SRC_METRICS_INTERVAL_BUCKETS_H_
#define STROBE_SRC_METRICS_INTERVAL_BUCKETS_H_

#define STROBE_INTERVAL_SUB_BITS 7         /* 128 buckets per power of two above 256 us */
#define STROBE_INTERVAL_BUCKETS (128 * 26) /* 2^(24+8) us = 2^32 us: index < 128 * 26 */

/* The bucket of a gap of `us` microseconds. Loop-free (the BPF verifier needs no bound). */
static inline unsigned strobe_interval_bucket(unsigned long long us) {
  if (us < 256) return (unsigned)us;
  if (us >= (1ull << 32)) return STROBE_INTERVAL_BUCKETS - 1;
  /* b = floor(log2(us)) - 7, by binary search (BPF has no count-leading-zeros). */
  unsigned long long v = us;
  unsigned log2 = 0;
  if (v >> 16) {
    v >>= 16;
    log2 += 16;
  }
  if (v >> 8) {
    v >>= 8;
    log2 += 8;
  }
  if (v >> 4) {
    v >>= 4;
    log2 += 4;
  }
  if (v >> 2) {
    v >>= 2;
    log2 += 2;
  }
  if (v >> 1) {
    log2 += 1;
  }
  const unsigned b = log2 - STROBE_INTERVAL_SUB_BITS; /* >= 1: us >= 256 */
  return 128 * b + (unsigned)(us >> b);               /* us >> b is in [128, 256) */
}

/* The smallest gap in microseconds that falls into bucket `index`; the bucket ends where bucket
 * index + 1 begins. */
static inline unsigned long long strobe_interval_bucket_lower_us(unsigned index) {
  if (index < 256) return index;
  const unsigned b = index / 128 - 1;
  return (unsigned long long)(index % 128 + 128) << b;
}

#endif /* STROBE_SRC_METRICS_INTERVAL_BUCKETS_H_ */
