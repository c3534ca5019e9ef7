// Forwards one CancelRequest to PostgreSQL on a fresh connection, then closes it.
#pragma once

#include <uv.h>

#include <string>

#include "pooler/connection.h"

namespace apibouncer {

class CancelLink : public Connection {
 public:
  // Starts the connection; the object deletes itself when done.
  // `address` is the server's TCP address, or nullptr to use the Unix socket `unix_path`.
  static void send(uv_loop_t* loop, const sockaddr* address, const std::string& unix_path,
                   uint32_t pid, uint32_t key);

 protected:
  void onRead(std::span<const uint8_t>) override {}
  void onReadEnd(int) override { close(); }
  void onDrained() override { close(); }
  void onWriteFailed(int) override { close(); }
  void onClosed() override { delete this; }

 private:
  CancelLink(uv_loop_t* loop, Transport transport) : Connection(loop, transport) {}
  static void connectCb(uv_connect_t* req, int status);
  uv_connect_t connect_req_{};
  uint32_t pid_ = 0, key_ = 0;
};

}  // namespace apibouncer
