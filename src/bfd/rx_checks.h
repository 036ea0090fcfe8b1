/*
 * The stateless reception checks of RFC 5880 section 6.8.6 on a BFD Control packet.
 *
 * This header is plain C so that it compiles both as BPF C (the XDP program) and as C++
 * (the socket and DPDK backends): every backend drops the same packets for the same reasons.
 * It includes nothing; the caller has already located the UDP payload.
 *
 * Mandatory section (RFC 5880 section 4.1):
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                       My Discriminator                        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                      Your Discriminator                       |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                    Desired Min TX Interval                    |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                   Required Min RX Interval                    |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                 Required Min Echo RX Interval                 |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
#ifndef STROBE_SRC_BFD_RX_CHECKS_H_
#define STROBE_SRC_BFD_RX_CHECKS_H_

#define STROBE_BFD_PORT_SINGLE_HOP 3784 /* RFC 5881 */
#define STROBE_BFD_PORT_MULTIHOP 4784   /* RFC 5883 */
#define STROBE_BFD_MANDATORY_LEN 24
#define STROBE_BFD_MIN_AUTH_LEN 26  /* mandatory section + the smallest auth section */
#define STROBE_BFD_REQUIRED_TTL 255 /* RFC 5881 section 5: GTSM */

/* Byte offsets and masks of the mandatory section. */
#define STROBE_BFD_OFF_VERS_DIAG 0
#define STROBE_BFD_OFF_FLAGS 1
#define STROBE_BFD_OFF_DETECT_MULT 2
#define STROBE_BFD_OFF_LENGTH 3
#define STROBE_BFD_OFF_MY_DISCR 4
#define STROBE_BFD_OFF_YOUR_DISCR 8
#define STROBE_BFD_OFF_DESIRED_MIN_TX 12
#define STROBE_BFD_OFF_REQUIRED_MIN_RX 16
#define STROBE_BFD_OFF_REQUIRED_MIN_ECHO_RX 20
#define STROBE_BFD_OFF_AUTH 24

#define STROBE_BFD_FLAG_POLL 0x20
#define STROBE_BFD_FLAG_FINAL 0x10
#define STROBE_BFD_FLAG_CPI 0x08
#define STROBE_BFD_FLAG_AUTH 0x04
#define STROBE_BFD_FLAG_DEMAND 0x02
#define STROBE_BFD_FLAG_MULTIPOINT 0x01

#define STROBE_BFD_STATE_ADMIN_DOWN 0
#define STROBE_BFD_STATE_DOWN 1
#define STROBE_BFD_STATE_INIT 2
#define STROBE_BFD_STATE_UP 3

/*
 * Why a packet was dropped. Each is counted separately. The order is the order of the checks
 * in RFC 5880 section 6.8.6 where the RFC gives one; values are stable (they index counters).
 */
enum strobe_bfd_drop_reason {
  STROBE_BFD_OK = 0,
  STROBE_BFD_DROP_BAD_TTL,          /* RFC 5881 s5: single-hop TTL/hop limit not 255 */
  STROBE_BFD_DROP_SHORT_PACKET,     /* UDP payload shorter than the mandatory section */
  STROBE_BFD_DROP_BAD_VERSION,      /* version is not 1 */
  STROBE_BFD_DROP_BAD_LENGTH,       /* Length < 24 (26 with A), or > the UDP payload */
  STROBE_BFD_DROP_ZERO_DETECT_MULT, /* Detect Mult is zero */
  STROBE_BFD_DROP_MULTIPOINT,       /* M bit set */
  STROBE_BFD_DROP_ZERO_MY_DISCR,    /* My Discriminator is zero */
  STROBE_BFD_DROP_ZERO_YOUR_DISCR,  /* Your Discriminator zero while state is Init or Up */
  STROBE_BFD_DROP_NO_SESSION,       /* no session matches Your Discriminator or addresses */
  STROBE_BFD_DROP_WRONG_SOURCE,     /* session found, but address or interface differ */
  STROBE_BFD_DROP_AUTH_MISMATCH,    /* A bit and the session's authentication disagree */
  STROBE_BFD_DROP_AUTH_MALFORMED,   /* auth section length or type malformed */
  STROBE_BFD_DROP_AUTH_FAILED,      /* wrong key id, password or digest */
  STROBE_BFD_DROP_AUTH_SEQUENCE,    /* sequence number outside the window (replay) */
  STROBE_BFD_DROP_REASON_COUNT
};

static inline const char* strobe_bfd_drop_reason_name(enum strobe_bfd_drop_reason r) {
  switch (r) {
    case STROBE_BFD_OK:
      return "ok";
    case STROBE_BFD_DROP_BAD_TTL:
      return "bad_ttl";
    case STROBE_BFD_DROP_SHORT_PACKET:
      return "short_packet";
    case STROBE_BFD_DROP_BAD_VERSION:
      return "bad_version";
    case STROBE_BFD_DROP_BAD_LENGTH:
      return "bad_length";
    case STROBE_BFD_DROP_ZERO_DETECT_MULT:
      return "zero_detect_mult";
    case STROBE_BFD_DROP_MULTIPOINT:
      return "multipoint";
    case STROBE_BFD_DROP_ZERO_MY_DISCR:
      return "zero_my_discriminator";
    case STROBE_BFD_DROP_ZERO_YOUR_DISCR:
      return "zero_your_discriminator";
    case STROBE_BFD_DROP_NO_SESSION:
      return "no_session";
    case STROBE_BFD_DROP_WRONG_SOURCE:
      return "wrong_source";
    case STROBE_BFD_DROP_AUTH_MISMATCH:
      return "auth_mismatch";
    case STROBE_BFD_DROP_AUTH_MALFORMED:
      return "auth_malformed";
    case STROBE_BFD_DROP_AUTH_FAILED:
      return "auth_failed";
    case STROBE_BFD_DROP_AUTH_SEQUENCE:
      return "auth_sequence";
    case STROBE_BFD_DROP_REASON_COUNT:
      break;
  }
  return "unknown";
}

static inline unsigned int strobe_bfd_read_be32(const unsigned char* p) {
  return ((unsigned int)p[0] << 24) | ((unsigned int)p[1] << 16) | ((unsigned int)p[2] << 8) |
         (unsigned int)p[3];
}

/*
 * The checks of RFC 5880 section 6.8.6 that need no session, in the RFC's order. `payload`
 * points at the UDP payload of `payload_len` bytes. `ttl` is the received IP TTL or hop limit;
 * `single_hop` selects the RFC 5881 check (multihop, RFC 5883, leaves TTL to configuration).
 */
static inline enum strobe_bfd_drop_reason strobe_bfd_check_header(const unsigned char* payload,
                                                                  unsigned int payload_len,
                                                                  unsigned int ttl,
                                                                  int single_hop) {
  unsigned int length;
  unsigned int flags;
  unsigned int state;
  if (single_hop && ttl != STROBE_BFD_REQUIRED_TTL) return STROBE_BFD_DROP_BAD_TTL;
  if (payload_len < STROBE_BFD_MANDATORY_LEN) return STROBE_BFD_DROP_SHORT_PACKET;
  if ((payload[STROBE_BFD_OFF_VERS_DIAG] >> 5) != 1) return STROBE_BFD_DROP_BAD_VERSION;
  flags = payload[STROBE_BFD_OFF_FLAGS];
  length = payload[STROBE_BFD_OFF_LENGTH];
  if (length <
      ((flags & STROBE_BFD_FLAG_AUTH) ? STROBE_BFD_MIN_AUTH_LEN : STROBE_BFD_MANDATORY_LEN))
    return STROBE_BFD_DROP_BAD_LENGTH;
  if (length > payload_len) return STROBE_BFD_DROP_BAD_LENGTH;
  if (payload[STROBE_BFD_OFF_DETECT_MULT] == 0) return STROBE_BFD_DROP_ZERO_DETECT_MULT;
  if (flags & STROBE_BFD_FLAG_MULTIPOINT) return STROBE_BFD_DROP_MULTIPOINT;
  if (strobe_bfd_read_be32(payload + STROBE_BFD_OFF_MY_DISCR) == 0)
    return STROBE_BFD_DROP_ZERO_MY_DISCR;
  state = flags >> 6;
  if (strobe_bfd_read_be32(payload + STROBE_BFD_OFF_YOUR_DISCR) == 0 &&
      state != STROBE_BFD_STATE_DOWN && state != STROBE_BFD_STATE_ADMIN_DOWN)
    return STROBE_BFD_DROP_ZERO_YOUR_DISCR;
  return STROBE_BFD_OK;
}

#endif /* STROBE_SRC_BFD_RX_CHECKS_H_ */
