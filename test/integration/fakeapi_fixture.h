// The fake API (tools/fakeapi) as a child process, one per test, on a port the OS picks.
//
// Run by hand:  FAKEAPI_BIN=build/tools/fakeapi/fakeapi build/test/integration/integration_tests
//               "[fakeapi]"
#pragma once

#include <rapidjson/document.h>
#include <sys/types.h>

#include <string>

namespace itest {

class FakeApiProcess {
 public:
  // A non-empty api_key makes the server require "Authorization: Bearer <api_key>".
  explicit FakeApiProcess(std::string api_key = "");
  ~FakeApiProcess();
  FakeApiProcess(const FakeApiProcess&) = delete;
  FakeApiProcess& operator=(const FakeApiProcess&) = delete;

  int port() const { return port_; }
  std::string baseUrl() const;  // http://127.0.0.1:<port>
  // What the server printed (stdout and stderr), for failure messages.
  std::string output() const;

 private:
  void stop();  // SIGTERM (SIGKILL if it lingers), reap, remove the temp dir

  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// The fake API binary: $FAKEAPI_BIN, else the one this build made.
std::string fakeApiBinary();

// Arms a fault or resets the store: POST `body` to a /_control/ `path`; the test fails unless
// the fake API accepts it.
void control(const FakeApiProcess& api, const std::string& path, const std::string& body);
// GET `path` (e.g. /_control/store); the test fails unless the answer is 200.
std::string apiGet(const FakeApiProcess& api, const std::string& path);

// A JSON value as test text: strings as they are, anything else as JSON ("12", "null").
std::string jsonText(const rapidjson::Value& value);

}  // namespace itest
