// Listener: binds and listens, then forwards each new connection to Pooler::acceptClient.
#include "pooler/listener.h"

#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "pooler/log.h"
#include "pooler/pooler.h"

namespace apibouncer {

namespace {

// TCP_DEFER_ACCEPT's wait, fixed as in PgBouncer: the key only switches it on.
constexpr int kDeferAcceptSeconds = 45;

}  // namespace

bool Listener::listenTcp(const std::string& address, const config::Settings& settings,
                         std::string& error) {
  int port = settings.listen_port;
  sockaddr_storage addr{};
  const std::string& host = address;
  if (uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&addr)) != 0 &&
      uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&addr)) != 0) {
    error = "listen_addr '" + address + "' is not an IP address";
    return false;
  }
  uv_tcp_init_ex(pooler_.loop(), &handle_.tcp, addr.ss_family);
  handle_.tcp.data = this;
  initialized_ = true;
  uv_os_fd_t fd;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(&handle_.tcp), &fd) == 0) {
    int one = 1;
    if (settings.so_reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    // The connection is handed over only once the client has sent its first packet (every
    // PostgreSQL client speaks first), so idle port scans never become sessions.
    if (settings.tcp_defer_accept)
      setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &kDeferAcceptSeconds,
                 sizeof kDeferAcceptSeconds);
  }
  description_ = host + ":" + std::to_string(port);
  // IPv6 sockets stay IPv6-only so "*" can listen on 0.0.0.0 and :: side by side.
  unsigned flags = addr.ss_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0;
  int rc = uv_tcp_bind(&handle_.tcp, reinterpret_cast<sockaddr*>(&addr), flags);
  if (rc == 0)
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(&handle_.tcp), settings.listen_backlog,
                   onConnection);
  if (rc != 0) {
    error = "cannot listen on " + description_ + ": " + uv_strerror(rc);
    return false;
  }
  return true;
}

bool Listener::listenUnix(const std::string& path, const config::Settings& settings,
                          std::string& error) {
  unix_ = true;
  gid_t group_id = static_cast<gid_t>(-1);  // chown's "leave as is"
  if (!settings.unix_socket_group.empty()) {
    const struct group* entry = getgrnam(settings.unix_socket_group.c_str());
    if (entry == nullptr) {
      error = "unix_socket_group: no such group '" + settings.unix_socket_group + "'";
      return false;
    }
    group_id = entry->gr_gid;
  }
  uv_pipe_init(pooler_.loop(), &handle_.pipe, 0);
  handle_.pipe.data = this;
  initialized_ = true;
  description_ = path;
  // A socket file left by a process that died is stale; a live one answers connect().
  unlink(path.c_str());
  int rc = uv_pipe_bind(&handle_.pipe, path.c_str());
  if (rc == 0)
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(&handle_.pipe), settings.listen_backlog,
                   onConnection);
  if (rc != 0) {
    error = "cannot listen on " + path + ": " + uv_strerror(rc);
    return false;
  }
  chmod(path.c_str(), static_cast<mode_t>(settings.unix_socket_mode));
  if (group_id != static_cast<gid_t>(-1) &&
      chown(path.c_str(), static_cast<uid_t>(-1), group_id) != 0) {
    error = "unix_socket_group: cannot give " + path + " to group '" + settings.unix_socket_group +
            "': " + strerror(errno);
    return false;
  }
  return true;
}

void Listener::closeAndDelete() {
  if (!initialized_) {
    delete this;
    return;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&handle_),
           [](uv_handle_t* h) { delete static_cast<Listener*>(h->data); });
}

void Listener::onConnection(uv_stream_t* server, int status) {
  auto* self = static_cast<Listener*>(server->data);
  if (status < 0) {
    LOG_WARNING("accept on %s failed: %s", self->description_.c_str(), uv_strerror(status));
    return;
  }
  // Suspended: not calling uv_accept makes libuv keep the one connection it took and stop
  // watching the socket, so later ones wait in the kernel's backlog until RESUME.
  if (self->pooler_.pauseState().suspended) {
    self->holding_ = true;
    return;
  }
  self->pooler_.acceptClient(server, self->unix_);
}

void Listener::resumeAccepting() {
  if (!holding_) return;
  holding_ = false;
  pooler_.acceptClient(reinterpret_cast<uv_stream_t*>(&handle_), unix_);
}

}  // namespace apibouncer
