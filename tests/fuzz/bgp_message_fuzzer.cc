// libFuzzer target: a BGP byte stream as a session receives it: message framing and header checks
// (controlplane/bgp/message.h, RFC 4271 section 4.1 and 6.1), OPEN with capabilities and the RFC
// 9072 extended parameters (open.h), NOTIFICATION and the shutdown communication (notification.h),
// KEEPALIVE, ROUTE-REFRESH (RFC 7313) and UPDATE (update.h). An OPEN is negotiated against our
// capabilities (controlplane/bgpd/negotiation.h) and the messages after it are decoded with what
// was negotiated, as strobe-bgpd does.
//
// Input: the option byte of bgp_fuzz_common.h (the options until an OPEN; bits 1 and 3 also
// say whether we offer extended next hop and ADD-PATH receive), then the stream.
//
// Checked: every message that decodes re-encodes to a message that decodes to the same value
// (OPEN, NOTIFICATION, ROUTE-REFRESH, UPDATE as in bgp_fuzz_common.h; KEEPALIVE and ROUTE-REFRESH
// byte for byte); header errors carry what RFC 4271 section 6.1 says.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "controlplane/bgp/message.h"
#include "controlplane/bgp/notification.h"
#include "controlplane/bgp/open.h"
#include "controlplane/bgp/types.h"
#include "controlplane/bgp/update.h"
#include "controlplane/bgpd/negotiation.h"
#include "src/config/bgp_config.h"
#include "tests/fuzz/bgp_fuzz_common.h"
#include "tests/fuzz/fuzz_util.h"

namespace strobe::bgp {
namespace {

void CheckError(const BgpError& e) {
  FUZZ_CHECK(e.code >= kErrMessageHeader && e.code <= kErrRouteRefresh, "error code %u", e.code);
  if (e.code == kErrMessageHeader && e.subcode == kSubBadMessageLength) {
    FUZZ_CHECK(e.data.size() == 2, "Bad Message Length carries %zu octets, not the length",
               e.data.size());
  }
  FUZZ_CHECK(!NotificationName(e.code, e.subcode).empty(), "no name");
}

// Decodes `wire` (one whole message) and returns its body; aborts on an error.
MessageBody DecodeOk(std::span<const uint8_t> wire, const CodecOptions& options, const char* what) {
  std::variant<MessageBody, BgpError> again = DecodeMessage(wire, options);
  if (const BgpError* e = std::get_if<BgpError>(&again)) {
    FUZZ_CHECK(false, "our re-encoded %s does not decode: error %u/%u", what, e->code, e->subcode);
  }
  return std::get<MessageBody>(std::move(again));
}

void CheckOpen(const Open& open, const CodecOptions& options) {
  const absl::StatusOr<std::vector<uint8_t>> wire = EncodeOpen(open);
  if (!wire.ok()) {
    // Only an OPEN longer than 4,096 octets may not re-encode (RFC 8654 leaves OPEN at 4,096);
    // we never send one.
    FUZZ_CHECK(options.max_length > kMaxMessageLength, "a decoded OPEN does not encode: %s",
               std::string(wire.status().message()).c_str());
    return;
  }
  const MessageBody body = DecodeOk(*wire, options, "OPEN");
  const Open* again = std::get_if<Open>(&body);
  FUZZ_CHECK(again != nullptr && *again == open, "decode(encode(OPEN)) differs from the OPEN");
  OpenPolicy policy;
  policy.local_as = 65000;
  policy.local_identifier = 0xc6120001;
  policy.required_families = {kIpv4Unicast};
  if (std::optional<BgpError> e = ValidateOpen(open, policy)) {
    FUZZ_CHECK(e->code == kErrOpenMessage, "ValidateOpen returned code %u", e->code);
  }
}

void CheckNotification(const Notification& n, const CodecOptions& options) {
  const std::vector<uint8_t> wire = EncodeNotification(n, options.max_length);
  const MessageBody body = DecodeOk(wire, options, "NOTIFICATION");
  const Notification* again = std::get_if<Notification>(&body);
  FUZZ_CHECK(again != nullptr && *again == n, "decode(encode(NOTIFICATION)) differs");
  FUZZ_CHECK(!NotificationName(n.code, n.subcode).empty(), "no name");
  if (std::optional<std::string> text = ShutdownCommunication(n)) {
    FUZZ_CHECK(text->size() <= 255 && text->size() < n.data.size(), "communication of %zu octets",
               text->size());
    const std::optional<std::string> back =
        ShutdownCommunication(MakeShutdownNotification(n.subcode, *text));
    FUZZ_CHECK(back == text, "the shutdown communication does not survive a roundtrip");
  }
}

}  // namespace
}  // namespace strobe::bgp

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace strobe::bgp;  // NOLINT: a fuzz entry point
  strobe::fuzz::Input in(data, size);
  const uint8_t setup_byte = in.U8();
  const fuzz::Setup setup = fuzz::SetupFromByte(setup_byte);
  CodecOptions options = setup.codec;
  strobe::config::BgpPeerTemplate ours;
  ours.extended_next_hop = (setup_byte & 0x02) != 0;
  ours.add_path_receive = (setup_byte & 0x08) != 0;

  std::span<const uint8_t> stream = in.Rest();
  while (!stream.empty()) {
    const std::variant<size_t, BgpError> framed = FrameLength(stream, options.max_length);
    if (const BgpError* e = std::get_if<BgpError>(&framed)) {
      CheckError(*e);
      break;  // the session sends it and closes
    }
    const size_t length = std::get<size_t>(framed);
    if (length == 0) break;  // waits for more bytes
    FUZZ_CHECK(length >= kHeaderLength && length <= stream.size() && length <= options.max_length,
               "framed %zu of %zu octets", length, stream.size());
    const std::span<const uint8_t> wire = stream.first(length);
    stream = stream.subspan(length);

    std::variant<MessageBody, BgpError> decoded = DecodeMessage(wire, options);
    if (const BgpError* e = std::get_if<BgpError>(&decoded)) {
      CheckError(*e);
      break;
    }
    MessageBody& body = std::get<MessageBody>(decoded);
    if (const Open* open = std::get_if<Open>(&body)) {
      CheckOpen(*open, options);
      const strobe::bgpd::Negotiated n =
          strobe::bgpd::Negotiate(strobe::bgpd::OurCapabilities(ours, 65000), open->capabilities);
      FUZZ_CHECK(!n.Names().empty() || n.families.empty(), "names");
      options = n.decode;
    } else if (const UpdateDecodeResult* update = std::get_if<UpdateDecodeResult>(&body)) {
      FUZZ_CHECK(update->action != UpdateDecodeResult::kSessionReset,
                 "DecodeMessage returned a session reset as an UPDATE");
      const std::vector<uint8_t> encoded = fuzz::CheckUpdateRoundtrip(*update, options);
      // A decoded UPDATE fits in the negotiated length once re-encoded (never longer).
      const absl::StatusOr<std::vector<uint8_t>> message = EncodeUpdate(update->update, options);
      FUZZ_CHECK(message.ok() && message->size() == kHeaderLength + encoded.size() &&
                     message->size() <= length,
                 "re-encoded UPDATE of %zu octets from %zu",
                 message.ok() ? message->size() : size_t{0}, length);
    } else if (const Notification* n = std::get_if<Notification>(&body)) {
      CheckNotification(*n, options);
      break;  // the peer closes after a NOTIFICATION
    } else if (std::get_if<Keepalive>(&body) != nullptr) {
      FUZZ_CHECK(EncodeKeepalive() == std::vector<uint8_t>(wire.begin(), wire.end()), "KEEPALIVE");
    } else if (const RouteRefresh* rr = std::get_if<RouteRefresh>(&body)) {
      FUZZ_CHECK(EncodeRouteRefresh(*rr) == std::vector<uint8_t>(wire.begin(), wire.end()),
                 "ROUTE-REFRESH does not re-encode byte for byte");
    }
  }
  return 0;
}
