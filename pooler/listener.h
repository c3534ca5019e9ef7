// A listening socket (TCP address or Unix socket file) that hands accepted connections to the
// pooler.
#pragma once

#include <uv.h>

#include <string>

namespace apibouncer {

class Pooler;

class Listener {
 public:
  explicit Listener(Pooler& pooler) : pooler_(pooler) {}
  ~Listener() = default;

  bool listenTcp(const std::string& address, int port, int backlog, bool reuseport,
                 std::string& error);
  bool listenUnix(const std::string& path, int mode, int backlog, std::string& error);
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
