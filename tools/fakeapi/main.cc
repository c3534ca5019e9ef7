// fakeapi [--host 127.0.0.1] [--port 0] [--port-file PATH] [--api-key K] [--latency-ms N]
// A local stand-in for the upstream APIs (see server.h). Port 0 lets the OS pick; the chosen
// port goes to --port-file so tests never need a fixed port. --latency-ms delays every API
// (non-control) request by N ms before answering, to stand in for a remote API in benchmarks.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>

#include "tools/fakeapi/server.h"

namespace {

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string port_file;
  std::string api_key;
  int latency_ms = 0;
};

[[noreturn]] void usage(const char* error) {
  std::cerr << "fakeapi: " << error << "\n"
            << "usage: fakeapi [--host 127.0.0.1] [--port 0] [--port-file PATH] [--api-key K]"
               " [--latency-ms N]\n";
  std::exit(2);
}

Options parseArgs(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) usage(("missing value for " + flag).c_str());
    std::string value = argv[++i];
    if (flag == "--host") {
      options.host = value;
    } else if (flag == "--port") {
      try {
        options.port = std::stoi(value);
      } catch (const std::exception&) {
        usage("--port must be a number");
      }
    } else if (flag == "--port-file") {
      options.port_file = value;
    } else if (flag == "--api-key") {
      options.api_key = value;
    } else if (flag == "--latency-ms") {
      try {
        size_t used = 0;
        options.latency_ms = std::stoi(value, &used);
        if (used != value.size() || options.latency_ms < 0) throw std::invalid_argument(value);
      } catch (const std::exception&) {
        usage("--latency-ms must be a number >= 0");
      }
    } else {
      usage(("unknown option " + flag).c_str());
    }
  }
  return options;
}

// Written beside and renamed into place, so a reader polling for the file never sees it partial.
bool writePortFile(const std::string& path, int port) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    if (!out.flush()) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options = parseArgs(argc, argv);

  // A client hanging up mid-response (or a dropped connection) must not kill the server.
  signal(SIGPIPE, SIG_IGN);
  // Blocked before any thread starts, so every thread inherits the mask and only sigwait() below
  // sees them: stopping the server from a signal handler would not be async-signal-safe.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  fakeapi::Server server(options.api_key, std::chrono::milliseconds(options.latency_ms));
  int port = server.bind(options.host, options.port);
  if (port < 0) {
    std::cerr << "fakeapi: cannot listen on " << options.host << ":" << options.port << ": "
              << std::strerror(errno) << "\n";
    return 1;
  }
  if (!options.port_file.empty() && !writePortFile(options.port_file, port)) {
    std::cerr << "fakeapi: cannot write " << options.port_file << "\n";
    return 1;
  }
  std::cout << "fakeapi listening on " << options.host << ":" << port << std::endl;

  bool served = true;
  std::thread listener([&] {
    served = server.serve();
    // Wakes the sigwait() below if serving ends on its own.
    kill(getpid(), SIGTERM);
  });
  int signum = 0;
  sigwait(&stop_signals, &signum);
  server.stop();
  listener.join();
  return served ? 0 : 1;
}
