// Socket address helpers (see socket_address.h).
#include "pooler/socket_address.h"

#include <uv.h>

namespace apibouncer {

std::string ipText(const sockaddr_storage& addr) {
  char text[64] = "";
  if (addr.ss_family == AF_INET)
    uv_ip4_name(reinterpret_cast<const sockaddr_in*>(&addr), text, sizeof text);
  else if (addr.ss_family == AF_INET6)
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
