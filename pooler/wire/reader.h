// A bounds-checked cursor over a message body, shared by the frontend and backend decoders.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace apibouncer::wire {

class BodyReader {
 public:
  explicit BodyReader(std::span<const uint8_t> body) : body_(body) {}
  bool cstr(std::string_view& out);
  bool u8(uint8_t& out);
  bool i16(int16_t& out);
  bool i32(int32_t& out);
  bool bytes(size_t n, std::string_view& out);
  std::string_view rest();
  bool atEnd() const { return pos_ == body_.size(); }
  size_t remaining() const { return body_.size() - pos_; }

 private:
  std::span<const uint8_t> body_;
  size_t pos_ = 0;
};

}  // namespace apibouncer::wire
