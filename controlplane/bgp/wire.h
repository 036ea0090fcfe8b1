// Internal byte reader/writer for the BGP codec (network byte order).
#ifndef STROBE_CONTROLPLANE_BGP_WIRE_H_
#define STROBE_CONTROLPLANE_BGP_WIRE_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace strobe::bgp::wire {

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> data) : data_(data) {}

  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }
  bool empty() const { return remaining() == 0; }

  bool ReadU8(uint8_t* out) {
    if (remaining() < 1) return false;
    *out = data_[pos_++];
    return true;
  }
  bool ReadU16(uint16_t* out) {
    if (remaining() < 2) return false;
    *out = static_cast<uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool ReadU32(uint32_t* out) {
    if (remaining() < 4) return false;
    *out = (static_cast<uint32_t>(data_[pos_]) << 24) |
           (static_cast<uint32_t>(data_[pos_ + 1]) << 16) |
           (static_cast<uint32_t>(data_[pos_ + 2]) << 8) | data_[pos_ + 3];
    pos_ += 4;
    return true;
  }
  bool ReadBytes(size_t n, std::span<const uint8_t>* out) {
    if (remaining() < n) return false;
    *out = data_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  uint8_t Peek() const { return data_[pos_]; }
  std::span<const uint8_t> Rest() const { return data_.subspan(pos_); }

 private:
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
};

inline void PutU8(std::vector<uint8_t>& out, uint8_t v) { out.push_back(v); }
inline void PutU16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}
inline void PutU32(std::vector<uint8_t>& out, uint32_t v) {
  PutU16(out, static_cast<uint16_t>(v >> 16));
  PutU16(out, static_cast<uint16_t>(v));
}
inline void PutBytes(std::vector<uint8_t>& out, std::span<const uint8_t> bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}
inline void SetU16(std::vector<uint8_t>& out, size_t at, uint16_t v) {
  out[at] = static_cast<uint8_t>(v >> 8);
  out[at + 1] = static_cast<uint8_t>(v);
}

}  // namespace strobe::bgp::wire

#endif  // STROBE_CONTROLPLANE_BGP_WIRE_H_
