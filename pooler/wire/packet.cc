// Packet framing: typed message headers and startup-phase packets (see packet.h).
#include "pooler/wire/packet.h"

namespace apibouncer::wire {

std::string_view toString(DecodeStatus status) {
  switch (status) {
    case DecodeStatus::kOk:
      return "ok";
    case DecodeStatus::kNeedMore:
      return "need more";
    case DecodeStatus::kMalformed:
      return "malformed";
    case DecodeStatus::kTooLarge:
      return "too large";
  }
  return "?";
}

uint32_t readU32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

uint16_t readU16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

DecodeStatus peekHeader(std::span<const uint8_t> in, uint32_t max_packet_size, MessageHeader& out) {
  if (in.size() < 5) return DecodeStatus::kNeedMore;
  out.type = static_cast<char>(in[0]);
  out.length = readU32(in.data() + 1);
  if (out.length < 4) return DecodeStatus::kMalformed;
  if (out.totalSize() > max_packet_size) return DecodeStatus::kTooLarge;
  return DecodeStatus::kOk;
}

DecodeStatus nextMessage(std::span<const uint8_t> in, uint32_t max_packet_size, Message& out) {
  DecodeStatus status = peekHeader(in, max_packet_size, out.header);
  if (status != DecodeStatus::kOk) return status;
  if (in.size() < out.header.totalSize()) return DecodeStatus::kNeedMore;
  out.body = in.subspan(5, out.header.bodySize());
  return DecodeStatus::kOk;
}

std::string_view StartupPacket::param(std::string_view name) const {
  for (const auto& [key, value] : params)
    if (key == name) return value;
  return {};
}

namespace {

// Reads a NUL-terminated string at `pos`; false if no NUL before `end`.
bool readCString(std::span<const uint8_t> in, size_t& pos, std::string& out) {
  for (size_t i = pos; i < in.size(); ++i) {
    if (in[i] == 0) {
      out.assign(reinterpret_cast<const char*>(in.data() + pos), i - pos);
      pos = i + 1;
      return true;
    }
  }
  return false;
}

bool decodeStartupParams(std::span<const uint8_t> body, StartupPacket& out, std::string& error) {
  size_t pos = 0;
  out.params.reserve(4);  // user, database and a couple more in nearly every login
  while (true) {
    std::string name, value;
    if (!readCString(body, pos, name)) {
      error = "invalid startup packet layout: expected terminator as last byte";
      return false;
    }
    if (name.empty()) break;
    if (!readCString(body, pos, value)) {
      error = "invalid startup packet layout: parameter without value";
      return false;
    }
    if (name.starts_with("_pq_.")) {
      out.protocol_options.push_back(std::move(name));
    } else {
      out.params.emplace_back(std::move(name), std::move(value));
    }
  }
  if (pos != body.size()) {
    error = "invalid startup packet layout: data after terminator";
    return false;
  }
  if (out.param("user").empty()) {
    error = "no PostgreSQL user name specified in startup packet";
    return false;
  }
  return true;
}

}  // namespace

DecodeStatus decodeStartup(std::span<const uint8_t> in, StartupPacket& out, std::string& error) {
  if (in.size() < 4) return DecodeStatus::kNeedMore;
  uint32_t length = readU32(in.data());
  if (length < 8) {
    error = "invalid length of startup packet";
    return DecodeStatus::kMalformed;
  }
  if (length > kMaxStartupPacketSize) {
    error = "invalid length of startup packet";
    return DecodeStatus::kTooLarge;
  }
  if (in.size() < length) return DecodeStatus::kNeedMore;
  out = StartupPacket{};
  out.consumed = length;
  uint32_t code = readU32(in.data() + 4);
  auto body = in.subspan(8, length - 8);
  if (code == kSslRequestCode || code == kGssEncRequestCode) {
    if (length != 8) {
      error = "invalid length of encryption request";
      return DecodeStatus::kMalformed;
    }
    out.kind = code == kSslRequestCode ? StartupPacket::Kind::kSslRequest
                                       : StartupPacket::Kind::kGssEncRequest;
    return DecodeStatus::kOk;
  }
  if (code == kCancelRequestCode) {
    if (length != 16) {
      error = "invalid length of cancel request";
      return DecodeStatus::kMalformed;
    }
    out.kind = StartupPacket::Kind::kCancelRequest;
    out.cancel_pid = readU32(body.data());
    out.cancel_key = readU32(body.data() + 4);
    return DecodeStatus::kOk;
  }
  out.kind = StartupPacket::Kind::kStartup;
  out.protocol_version = code;
  if (out.majorVersion() != 3) {
    error = "unsupported frontend protocol " + std::to_string(out.majorVersion()) + "." +
            std::to_string(out.minorVersion()) + ": server supports 3.0 to 3.0";
    return DecodeStatus::kMalformed;
  }
  if (!decodeStartupParams(body, out, error)) return DecodeStatus::kMalformed;
  return DecodeStatus::kOk;
}

}  // namespace apibouncer::wire
