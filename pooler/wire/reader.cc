// BodyReader: every read checks the remaining length first; failures leave no partial state.
#include "pooler/wire/reader.h"

#include <cstring>

#include "pooler/wire/packet.h"

namespace apibouncer::wire {

bool BodyReader::cstr(std::string_view& out) {
  if (remaining() == 0) return false;
  const void* nul = std::memchr(body_.data() + pos_, 0, remaining());
  if (nul == nullptr) return false;
  size_t len = static_cast<const uint8_t*>(nul) - (body_.data() + pos_);
  out = std::string_view(reinterpret_cast<const char*>(body_.data() + pos_), len);
  pos_ += len + 1;
  return true;
}

bool BodyReader::u8(uint8_t& out) {
  if (remaining() < 1) return false;
  out = body_[pos_++];
  return true;
}

bool BodyReader::i16(int16_t& out) {
  if (remaining() < 2) return false;
  out = static_cast<int16_t>(readU16(body_.data() + pos_));
  pos_ += 2;
  return true;
}

bool BodyReader::i32(int32_t& out) {
  if (remaining() < 4) return false;
  out = static_cast<int32_t>(readU32(body_.data() + pos_));
  pos_ += 4;
  return true;
}

bool BodyReader::bytes(size_t n, std::string_view& out) {
  if (remaining() < n) return false;
  out = std::string_view(reinterpret_cast<const char*>(body_.data() + pos_), n);
  pos_ += n;
  return true;
}

std::string_view BodyReader::rest() {
  std::string_view out(reinterpret_cast<const char*>(body_.data() + pos_), remaining());
  pos_ = body_.size();
  return out;
}

}  // namespace apibouncer::wire
