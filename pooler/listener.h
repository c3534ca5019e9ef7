// A listening socket (TCP address or Unix socket file) that hands accepted connections to the
// pooler.
#pragma once

#include <uv.h>

#include <string>

#include "pooler/config/config.h"

namespace apibouncer {

class Pooler;

class Listener {
 public:
  explicit Listener(Pooler& pooler) : pooler_(pooler) {}
  ~Listener() = default;

  // listen_port, listen_backlog, so_reuseport and tcp_defer_accept from `settings`.
  bool listenTcp(const std::string& address, const config::Settings& settings, std::string& error);
  // listen_backlog, unix_socket_mode and unix_socket_group from `settings`.
  bool listenUnix(const std::string& path, const config::Settings& settings, std::string& error);
  const std::string& description() const { return description_; }
  // Stops accepting; the Listener deletes itself once libuv has released the handle.
  void closeAndDelete();
  // After SUSPEND: hands over the connection held back while suspended, if any.
  void resumeAccepting();

 private:
  static void onConnection(uv_stream_t* server, int status);
  union {
    uv_tcp_t tcp;
    uv_pipe_t pipe;
  } handle_;
  Pooler& pooler_;
  bool unix_ = false;
  bool initialized_ = false;
  bool holding_ = false;  // a connection arrived while suspended and waits in libuv
  std::string description_;
};

}  // namespace apibouncer
