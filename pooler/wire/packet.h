// Wire protocol v3 framing: packet headers and the untyped startup-phase packets.
// Pure: bytes in, a status and a view out. No sockets, no config, no clock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apibouncer::wire {

constexpr uint32_t kProtocolV3 = 3u << 16;  // 196608
constexpr uint32_t kCancelRequestCode = 80877102;
constexpr uint32_t kSslRequestCode = 80877103;
constexpr uint32_t kGssEncRequestCode = 80877104;
// Startup packets are small; PostgreSQL itself refuses ones over 10000 bytes.
constexpr uint32_t kMaxStartupPacketSize = 10000;

enum class DecodeStatus {
  kOk,         // a whole packet was decoded; `consumed` bytes belong to it
  kNeedMore,   // not enough bytes yet; nothing consumed
  kMalformed,  // the bytes can never become a valid packet; `error` says why
  kTooLarge,   // declared length exceeds the allowed maximum
};

std::string_view toString(DecodeStatus status);

// Big-endian helpers; callers guarantee the bounds.
uint32_t readU32(const uint8_t* p);
uint16_t readU16(const uint8_t* p);

// A typed message header: 1 type byte + int32 length (the length counts itself, not the type).
struct MessageHeader {
  char type = 0;
  uint32_t length = 0;  // as on the wire: body size + 4
  size_t totalSize() const { return 1 + static_cast<size_t>(length); }
  size_t bodySize() const { return length - 4; }
};

// Reads the 5-byte header at the start of `in`. kNeedMore if fewer than 5 bytes.
// kMalformed if length < 4; kTooLarge if totalSize() > max_packet_size.
DecodeStatus peekHeader(std::span<const uint8_t> in, uint32_t max_packet_size, MessageHeader& out);

// A whole typed message: header plus a view of its body (bytes after the length field).
struct Message {
  MessageHeader header;
  std::span<const uint8_t> body;
};

// Decodes one complete typed message from the start of `in` (kNeedMore if incomplete).
DecodeStatus nextMessage(std::span<const uint8_t> in, uint32_t max_packet_size, Message& out);

// The first packet of a connection (no type byte).
struct StartupPacket {
  enum class Kind { kStartup, kSslRequest, kGssEncRequest, kCancelRequest };
  Kind kind = Kind::kStartup;
  uint32_t protocol_version = 0;  // kStartup: major << 16 | minor
  // kStartup: ordinary parameters in order ("user", "database", "application_name", ...).
  std::vector<std::pair<std::string, std::string>> params;
  // kStartup: names of "_pq_."-prefixed protocol options (reported back as unsupported).
  std::vector<std::string> protocol_options;
  uint32_t cancel_pid = 0;  // kCancelRequest
  uint32_t cancel_key = 0;  // kCancelRequest
  size_t consumed = 0;      // bytes of `in` this packet used

  uint16_t majorVersion() const { return protocol_version >> 16; }
  uint16_t minorVersion() const { return protocol_version & 0xffff; }
  // Value of a parameter, or empty if absent.
  std::string_view param(std::string_view name) const;
};

// Decodes a startup-phase packet. Rejects (kMalformed, with `error` set): length < 8, length
// over kMaxStartupPacketSize (kTooLarge), protocol major != 3 (error names the version),
// parameters that are not NUL-terminated name/value pairs ending with an empty name,
// a missing "user" parameter, a CancelRequest whose length is not 16.
DecodeStatus decodeStartup(std::span<const uint8_t> in, StartupPacket& out, std::string& error);

}  // namespace apibouncer::wire
