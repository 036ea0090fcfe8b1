// Helpers shared by the libFuzzer targets of tests/fuzz: a front-to-back reader of the fuzz
// input (so seed files are easy to write by hand, unlike FuzzedDataProvider which takes integers
// from the end) and FUZZ_CHECK, which turns a broken invariant into a crash libFuzzer reports.
#ifndef STROBE_TESTS_FUZZ_FUZZ_UTIL_H_
#define STROBE_TESTS_FUZZ_FUZZ_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

namespace strobe::fuzz {

// Aborts (a crash for libFuzzer, with the input saved) when `cond` is false.
#define FUZZ_CHECK(cond, ...)                                                            \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, __VA_ARGS__);                                                 \
      std::fprintf(stderr, "\n");                                                        \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

// Reads the input from the front; past the end every read yields zero (and empty spans), so a
// truncated input is still a valid one.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data, size) {}

  bool empty() const { return pos_ >= data_.size(); }
  size_t remaining() const { return data_.size() - pos_; }

  uint8_t U8() { return empty() ? 0 : data_[pos_++]; }
  uint16_t U16() {
    const uint16_t hi = U8();
    return static_cast<uint16_t>(hi << 8 | U8());
  }
  uint32_t U32() {
    const uint32_t hi = U16();
    return hi << 16 | U16();
  }
  // Up to `n` bytes (fewer at the end of the input).
  std::span<const uint8_t> Bytes(size_t n) {
    if (n > remaining()) n = remaining();
    std::span<const uint8_t> out = data_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  // Everything left.
  std::span<const uint8_t> Rest() { return Bytes(remaining()); }

 private:
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
};

}  // namespace strobe::fuzz

#endif  // STROBE_TESTS_FUZZ_FUZZ_UTIL_H_
