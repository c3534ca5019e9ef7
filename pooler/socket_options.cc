// applyTcpOptions: libuv covers nodelay and keepalive on/off; the rest needs setsockopt.
#include "pooler/socket_options.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace apibouncer {

void applyTcpOptions(uv_tcp_t* tcp, const config::Settings& s) {
  uv_tcp_nodelay(tcp, 1);
  uv_os_fd_t fd;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(tcp), &fd) != 0) return;
  int on = s.tcp_keepalive ? 1 : 0;
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
  if (s.tcp_keepalive) {
    if (s.tcp_keepidle > 0) setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &s.tcp_keepidle, sizeof(int));
    if (s.tcp_keepintvl > 0)
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &s.tcp_keepintvl, sizeof(int));
    if (s.tcp_keepcnt > 0) setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &s.tcp_keepcnt, sizeof(int));
  }
  if (s.tcp_socket_buffer > 0) {
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &s.tcp_socket_buffer, sizeof(int));
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &s.tcp_socket_buffer, sizeof(int));
  }
  if (s.tcp_user_timeout > 0) {
    unsigned int timeout = static_cast<unsigned int>(s.tcp_user_timeout);
    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout, sizeof timeout);
  }
}

}  // namespace apibouncer
