// CancelLink: a one-shot connection that carries a CancelRequest to the server (cancel.h).
#include "pooler/cancel.h"

#include "pooler/log.h"
#include "pooler/server.h"
#include "pooler/wire/writer.h"

namespace apibouncer {

void CancelLink::send(uv_loop_t* loop, const sockaddr* address, const std::string& unix_path,
                      ServerLink& target) {
  auto* link = new CancelLink(loop, address == nullptr ? Transport::kUnix : Transport::kTcp);
  link->pid_ = target.backendPid();
  link->key_ = target.backendKey();
  link->target_ = &target;
  target.cancelStarted(link);
  link->connect(address, unix_path);
}

void CancelLink::forward(uv_loop_t* loop, const sockaddr* address, const std::string& unix_path,
                         uint32_t pid, uint32_t key, std::shared_ptr<int> in_flight) {
  auto* link = new CancelLink(loop, address == nullptr ? Transport::kUnix : Transport::kTcp);
  link->pid_ = pid;
  link->key_ = key;
  link->in_flight_ = std::move(in_flight);
  ++*link->in_flight_;
  link->connect(address, unix_path);
}

void CancelLink::connect(const sockaddr* address, const std::string& unix_path) {
  connect_req_.data = this;
  if (address == nullptr) {
    uv_pipe_connect(&connect_req_, reinterpret_cast<uv_pipe_t*>(stream()), unix_path.c_str(),
                    connectCb);
    return;
  }
  int rc = uv_tcp_connect(&connect_req_, reinterpret_cast<uv_tcp_t*>(stream()), address, connectCb);
  if (rc != 0) {
    LOG_WARNING("cancel: cannot connect: %s", uv_strerror(rc));
    close();
  }
}

void CancelLink::onClosed() {
  if (target_ != nullptr) target_->cancelFinished(this);
  if (in_flight_) --*in_flight_;
  delete this;
}

void CancelLink::connectCb(uv_connect_t* req, int status) {
  auto* link = static_cast<CancelLink*>(req->data);
  if (link->closing()) return;
  if (status != 0) {
    LOG_WARNING("cancel: connect failed: %s", uv_strerror(status));
    link->close();
    return;
  }
  std::string packet = wire::cancelRequest(link->pid_, link->key_);
  if (!link->Connection::send(packet)) return;
  if (link->queuedBytes() == 0) {
    // The server closes the connection after reading the request; wait for that EOF so the
    // request is surely delivered before our socket goes away.
    link->startReading();
  }
}

}  // namespace apibouncer
