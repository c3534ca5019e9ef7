// The fake API's HTTP side: routes the adapter contract to a Store, and the /_control endpoints
// to fault injection and inspection.
#pragma once

#include <chrono>
#include <memory>
#include <string>

namespace fakeapi {

class Server {
 public:
  // A non-empty api_key makes every non-control request need "Authorization: Bearer <api_key>".
  // A positive latency delays every non-control request by that much before it is handled (on
  // top of any delay armed through /_control/delay), like a distant API would.
  explicit Server(std::string api_key,
                  std::chrono::milliseconds latency = std::chrono::milliseconds(0));
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens (port 0: the OS picks); returns the port, or -1.
  int bind(const std::string& host, int port);
  // Serves until stop(); returns false if serving failed.
  bool serve();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fakeapi
