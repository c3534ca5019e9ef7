#include "tools/fakeapi/connection_drop.h"

#include <dirent.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdlib>

namespace fakeapi {
namespace {

struct Endpoint {
  std::string host;
  int port = -1;
};

bool describe(const sockaddr_storage& addr, socklen_t len, Endpoint& out) {
  if (addr.ss_family != AF_INET && addr.ss_family != AF_INET6) return false;
  char host[NI_MAXHOST];
  char port[NI_MAXSERV];
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&addr), len, host, sizeof(host), port,
                  sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    return false;
  }
  out.host = host;
  out.port = std::atoi(port);
  return true;
}

bool matches(int fd, int local_port, const std::string& remote_addr, int remote_port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  Endpoint local;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return false;
  if (!describe(addr, len, local) || local.port != local_port) return false;
  len = sizeof(addr);
  Endpoint peer;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return false;
  return describe(addr, len, peer) && peer.port == remote_port && peer.host == remote_addr;
}

}  // namespace

bool shutDownConnection(int local_port, const std::string& remote_addr, int remote_port) {
  DIR* fds = opendir("/proc/self/fd");
  if (fds == nullptr) return false;
  bool found = false;
  while (dirent* entry = readdir(fds)) {
    char* end = nullptr;
    long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0') continue;  // "." and ".."
    if (matches(static_cast<int>(fd), local_port, remote_addr, remote_port)) {
      found = ::shutdown(static_cast<int>(fd), SHUT_RDWR) == 0;
      break;
    }
  }
  closedir(fds);
  return found;
}

}  // namespace fakeapi
