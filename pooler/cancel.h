// Forwards one CancelRequest to PostgreSQL on a fresh connection, then closes it. The link
// whose query it cancels is told when the request is through, so that link is not handed to
// another client whose query the late cancel could hit.
#pragma once

#include <uv.h>

#include <memory>
#include <string>

#include "pooler/connection.h"

namespace apibouncer {

class ServerLink;

class CancelLink : public Connection {
 public:
  // Starts the connection; the object deletes itself when done.
  // `address` is the server's TCP address, or nullptr to use the Unix socket `unix_path`.
  static void send(uv_loop_t* loop, const sockaddr* address, const std::string& unix_path,
                   ServerLink& target);
  // Peering: carries a client's CancelRequest on to the peer process that knows its key.
  // `in_flight` counts the forwards whose connection is still open.
  static void forward(uv_loop_t* loop, const sockaddr* address, const std::string& unix_path,
                      uint32_t pid, uint32_t key, std::shared_ptr<int> in_flight);
  // The target link is going away; nobody needs to hear about this cancel any more.
  void detach() { target_ = nullptr; }

 protected:
  void onRead(std::span<const uint8_t>) override {}
  void onReadEnd(int) override { close(); }
  // The request went out in pieces: wait for the server's EOF as well, so the link is not
  // given to another client before the cancel has landed.
  void onDrained() override { startReading(); }
  void onWriteFailed(int) override { close(); }
  void onTlsFailed(const std::string&) override { close(); }
  void onClosed() override;

 private:
  CancelLink(uv_loop_t* loop, Transport transport) : Connection(loop, transport) {}
  static void connectCb(uv_connect_t* req, int status);
  void connect(const sockaddr* address, const std::string& unix_path);
  uv_connect_t connect_req_{};
  uint32_t pid_ = 0, key_ = 0;
  ServerLink* target_ = nullptr;
  std::shared_ptr<int> in_flight_;
};

}  // namespace apibouncer
