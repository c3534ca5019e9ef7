// Socket address helpers (see socket_address.h).
#include "pooler/socket_address.h"

#include <uv.h>

#include <charconv>

namespace apibouncer {

std::string ipText(const sockaddr_storage& addr) {
  char text[64] = "";
  if (addr.ss_family == AF_INET) {
    // Every accepted client is named this way; the dotted quad by hand costs a tenth of the
    // printf-based formatting.
    const auto* bytes =
        reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(&addr)->sin_addr);
    char* end = text;
    for (int i = 0; i < 4; ++i) {
      if (i > 0) *end++ = '.';
      end = std::to_chars(end, text + sizeof text, bytes[i]).ptr;
    }
    return std::string(text, end);
  }
  if (addr.ss_family == AF_INET6)
    uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(&addr), text, sizeof text);
  return text;
}

int portOf(const sockaddr_storage& addr) {
  if (addr.ss_family == AF_INET)
    return ntohs(reinterpret_cast<const sockaddr_in*>(&addr)->sin_port);
  if (addr.ss_family == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port);
  return 0;
}

sockaddr_storage withPort(sockaddr_storage addr, int port) {
  uint16_t network = htons(static_cast<uint16_t>(port));
  if (addr.ss_family == AF_INET)
    reinterpret_cast<sockaddr_in*>(&addr)->sin_port = network;
  else if (addr.ss_family == AF_INET6)
    reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port = network;
  return addr;
}

}  // namespace apibouncer
