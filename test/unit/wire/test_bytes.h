// Helpers for codec tests: byte spans from strings and hand-built messages.
#pragma once

#include <cstdint>
#include <span>
#include <string>

inline std::span<const uint8_t> asBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

inline std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

inline std::string be16(uint16_t v) {
  return {static_cast<char>(v >> 8), static_cast<char>(v)};
}

// A typed message: type + length + body.
inline std::string msg(char type, const std::string& body) {
  return std::string(1, type) + be32(static_cast<uint32_t>(body.size() + 4)) + body;
}

inline std::string z(const char* s) {
  return std::string(s) + '\0';
}
