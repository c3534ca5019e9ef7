#include "fakeapi_fixture.h"

#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace itest {
namespace {

std::string readWholeFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

// Waits up to `timeout` for the child to exit; true once it has been reaped.
bool reap(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace

std::string fakeApiBinary() {
  const char* bin = std::getenv("FAKEAPI_BIN");
  return bin != nullptr && *bin != '\0' ? bin : DEFAULT_FAKEAPI_BIN;
}

FakeApiProcess::FakeApiProcess(std::string api_key) {
  char tmpl[] = "/tmp/apibouncer-fakeapi-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  dir_ = tmpl;
  const std::string port_file = dir_ + "/port";
  const std::string output_file = dir_ + "/output.txt";
  std::vector<std::string> args = {fakeApiBinary(), "--host", "127.0.0.1", "--port", "0",
                                   "--port-file",   port_file};
  if (!api_key.empty()) args.insert(args.end(), {"--api-key", api_key});
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  pid_ = fork();
  REQUIRE(pid_ >= 0);
  if (pid_ == 0) {
    int out = open(output_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, STDOUT_FILENO);
    dup2(out, STDERR_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }

  // The server writes the file by rename, so once it exists it holds the whole port number.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!std::filesystem::exists(port_file)) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      std::string printed = output();
      stop();
      FAIL("fakeapi exited before listening: " << printed);
    }
    if (std::chrono::steady_clock::now() > deadline) {
      std::string printed = output();
      stop();  // FAIL throws, so the destructor will not run
      FAIL("fakeapi did not write its port file within 5 s: " << printed);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  port_ = std::stoi(readWholeFile(port_file));
}

FakeApiProcess::~FakeApiProcess() {
  stop();
}

void FakeApiProcess::stop() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    if (!reap(pid_, std::chrono::milliseconds(3000))) {
      ::kill(pid_, SIGKILL);
      reap(pid_, std::chrono::milliseconds(3000));
    }
    pid_ = -1;
  }
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    dir_.clear();
  }
}

std::string FakeApiProcess::baseUrl() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

std::string FakeApiProcess::output() const {
  return readWholeFile(dir_ + "/output.txt");
}

void control(const FakeApiProcess& api, const std::string& path, const std::string& body) {
  httplib::Client client("127.0.0.1", api.port());
  client.set_connection_timeout(std::chrono::seconds(5));
  auto res = client.Post(path, body, "application/json");
  REQUIRE(res);
  INFO(path << " " << body << " -> " << res->body);
  REQUIRE(res->status == 200);
}

std::string apiGet(const FakeApiProcess& api, const std::string& path) {
  httplib::Client client("127.0.0.1", api.port());
  client.set_connection_timeout(std::chrono::seconds(5));
  client.set_read_timeout(std::chrono::seconds(5));
  auto res = client.Get(path);
  REQUIRE(res);
  REQUIRE(res->status == 200);
  return res->body;
}

std::string jsonText(const rapidjson::Value& value) {
  if (value.IsString()) return std::string(value.GetString(), value.GetStringLength());
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return buffer.GetString();
}

}  // namespace itest
