// applyTcpOptions on a real (unconnected) TCP socket: what the kernel reports back.
#include "pooler/socket_options.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <uv.h>

#include <catch2/catch.hpp>

namespace {

int intOption(uv_tcp_t& tcp, int level, int name) {
  uv_os_fd_t fd;
  REQUIRE(uv_fileno(reinterpret_cast<uv_handle_t*>(&tcp), &fd) == 0);
  int value = 0;
  socklen_t len = sizeof value;
  REQUIRE(getsockopt(fd, level, name, &value, &len) == 0);
  return value;
}

struct TcpSocket {
  uv_loop_t loop;
  uv_tcp_t tcp;
  TcpSocket() {
    uv_loop_init(&loop);
    uv_tcp_init_ex(&loop, &tcp, AF_INET);  // AF_INET: the socket exists at once
  }
  ~TcpSocket() {
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp), nullptr);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
  }
};

}  // namespace

TEST_CASE("tcp_socket_buffer sets both socket buffers; 0 leaves the kernel's defaults",
          "[socket_options]") {
  apibouncer::config::Settings settings;
  TcpSocket untouched;
  int default_send = intOption(untouched.tcp, SOL_SOCKET, SO_SNDBUF);
  apibouncer::applyTcpOptions(&untouched.tcp, settings);
  CHECK(intOption(untouched.tcp, SOL_SOCKET, SO_SNDBUF) == default_send);

  settings.tcp_socket_buffer = 32768;
  TcpSocket sized;
  apibouncer::applyTcpOptions(&sized.tcp, settings);
  // Linux doubles the value asked for (bookkeeping overhead), see socket(7).
  CHECK(intOption(sized.tcp, SOL_SOCKET, SO_SNDBUF) == 2 * 32768);
  CHECK(intOption(sized.tcp, SOL_SOCKET, SO_RCVBUF) == 2 * 32768);
}

TEST_CASE("keepalive and TCP_USER_TIMEOUT follow the settings", "[socket_options]") {
  apibouncer::config::Settings settings;
  settings.tcp_keepalive = true;
  settings.tcp_keepidle = 77;
  settings.tcp_user_timeout = 1234;
  TcpSocket socket;
  apibouncer::applyTcpOptions(&socket.tcp, settings);
  CHECK(intOption(socket.tcp, SOL_SOCKET, SO_KEEPALIVE) == 1);
  CHECK(intOption(socket.tcp, IPPROTO_TCP, TCP_KEEPIDLE) == 77);
  CHECK(intOption(socket.tcp, IPPROTO_TCP, TCP_USER_TIMEOUT) == 1234);
  CHECK(intOption(socket.tcp, IPPROTO_TCP, TCP_NODELAY) == 1);
}
