// The non-control requests the fake API received, in arrival order, for tests to inspect.
// Thread-safe.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace fakeapi {

class RequestLog {
 public:
  void append(std::string method, std::string path, std::string body,
              std::optional<std::string> idempotency_key);
  // [{"method","path","body":<JSON if it parses, else the raw string>,"idempotency_key"},..]
  std::string dump();
  void clear();

 private:
  struct Entry {
    std::string method;
    std::string path;
    std::string body;
    std::optional<std::string> idempotency_key;
  };
  std::mutex mutex_;
  std::vector<Entry> entries_;
};

}  // namespace fakeapi
