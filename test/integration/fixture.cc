// Integration-test fixtures (see fixture.h).
#include "fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "pooler/wire/packet.h"
#include "pooler/wire/writer.h"

namespace itest {
namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void writeFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  out.close();
  chmod(path.c_str(), 0644);
}

std::string envOr(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

bool canConnect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

}  // namespace

const Sandbox& Sandbox::get() {
  static const Sandbox sandbox = [] {
    Sandbox s;
    std::string dir = envOr("PG_SANDBOX_DIR", DEFAULT_PG_SANDBOX_DIR);
    if (dir.empty()) FAIL("PG_SANDBOX_DIR is not set (start one with tools/pg-sandbox.sh)");
    std::istringstream env(readFile(dir + "/env"));
    std::string line;
    while (std::getline(env, line)) {
      if (line.starts_with("PG_SANDBOX_PORT=")) s.port = std::stoi(line.substr(16));
      if (line.starts_with("PG_SANDBOX_SOCKET_DIR=")) s.socket_dir = line.substr(22);
    }
    if (s.port == 0) FAIL("cannot read " + dir + "/env");
    return s;
  }();
  return sandbox;
}

std::string Sandbox::superuserConninfo(const std::string& db) const {
  return "host=127.0.0.1 port=" + std::to_string(port) + " user=postgres dbname=" + db;
}

Conn connect(const std::string& conninfo) {
  return Conn(PQconnectdb(conninfo.c_str()), &PQfinish);
}

Result exec(PGconn* conn, const std::string& sql) {
  return Result(PQexec(conn, sql.c_str()), &PQclear);
}

std::string errorField(const PGresult* result, int field) {
  const char* value = PQresultErrorField(result, field);
  return value != nullptr ? value : "";
}

void collectNotice(void* notices, const PGresult* result) {
  static_cast<std::vector<Notice>*>(notices)->push_back(
      {errorField(result, PG_DIAG_SEVERITY_NONLOCALIZED), errorField(result, PG_DIAG_SQLSTATE),
       errorField(result, PG_DIAG_MESSAGE_PRIMARY), errorField(result, PG_DIAG_MESSAGE_DETAIL)});
}

bool noticed(const std::vector<Notice>& notices, const std::string& part) {
  for (const Notice& notice : notices)
    if (contains(notice.message, part)) return true;
  return false;
}

std::string superuserQuery(const std::string& sql) {
  Conn conn = connect(Sandbox::get().superuserConninfo());
  REQUIRE(PQstatus(conn.get()) == CONNECTION_OK);
  Result result = exec(conn.get(), sql);
  // Tests run in parallel (ctest -j): two GRANTs or ALTERs of one catalog row (the database's,
  // a role's) at once make one fail with "tuple concurrently updated". It did nothing; retry.
  for (int attempt = 1;
       attempt <= 5 && PQresultStatus(result.get()) == PGRES_FATAL_ERROR &&
       std::string(PQerrorMessage(conn.get())).find("concurrently updated") != std::string::npos;
       ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50 * attempt));
    result = exec(conn.get(), sql);
  }
  INFO(PQerrorMessage(conn.get()));
  REQUIRE((PQresultStatus(result.get()) == PGRES_TUPLES_OK ||
           PQresultStatus(result.get()) == PGRES_COMMAND_OK));
  if (PQntuples(result.get()) == 0) return "";
  return PQgetvalue(result.get(), 0, 0);
}

void ensureRole(const std::string& role, const std::string& password) {
  // The grant is made only by whoever creates the role, so parallel tests do not all update
  // the database's row (superuserQuery retries the rare collision that is left).
  superuserQuery("DO $$ BEGIN CREATE ROLE " + role + " LOGIN PASSWORD '" + password +
                 "'; GRANT CONNECT ON DATABASE app TO " + role +
                 "; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$");
}

std::string poolerBinary() {
  return envOr("APIBOUNCER_BIN", DEFAULT_APIBOUNCER_BIN);
}

int freePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

RefusingPort::RefusingPort() : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
}

RefusingPort::~RefusingPort() {
  close(fd_);
}

std::string defaultDatabases() {
  return "app = host=127.0.0.1 port=" + std::to_string(Sandbox::get().port) + " dbname=app\n";
}

std::string sandboxDatabase(const std::string& extra) {
  return "app = host=127.0.0.1 port=" + std::to_string(Sandbox::get().port) + " dbname=app " +
         extra + "\n";
}

int backendsOf(const std::string& role) {
  return std::stoi(
      superuserQuery("SELECT count(*) FROM pg_stat_activity WHERE usename = '" + role + "'"));
}

std::string copyInExtended(PGconn* conn, const std::string& copy, const std::string& data) {
  Result started(PQexecParams(conn, copy.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0),
                 &PQclear);
  INFO(PQerrorMessage(conn));
  REQUIRE(PQresultStatus(started.get()) == PGRES_COPY_IN);
  REQUIRE(PQputCopyData(conn, data.data(), static_cast<int>(data.size())) == 1);
  REQUIRE(PQputCopyEnd(conn, nullptr) == 1);
  Result done(PQgetResult(conn), &PQclear);
  INFO(PQresultErrorMessage(done.get()));
  std::string tag = cmdStatus(done.get());
  REQUIRE(PQgetResult(conn) == nullptr);
  return tag;
}

std::string cmdStatus(const PGresult* result) {
  const char* status = PQcmdStatus(const_cast<PGresult*>(result));
  return status != nullptr ? status : "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string queryValue(PGconn* conn, const std::string& sql) {
  Result r = exec(conn, sql);
  INFO(sql << ": " << PQerrorMessage(conn));
  REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
  return PQgetvalue(r.get(), 0, 0);
}

std::string queryValueInThread(PGconn* conn, const std::string& sql) {
  Result r = exec(conn, sql);
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK || PQntuples(r.get()) < 1)
    return "error: " + std::string(PQerrorMessage(conn));
  return PQgetvalue(r.get(), 0, 0);
}

bool runsQuery(const std::string& conninfo, std::string& error) {
  Conn conn = connect(conninfo);
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    error = PQerrorMessage(conn.get());
    return false;
  }
  Result r = exec(conn.get(), "SELECT 1");
  error = PQerrorMessage(conn.get());
  return PQresultStatus(r.get()) == PGRES_TUPLES_OK;
}

std::string runCommand(const std::string& command, int& status) {
  std::string output;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) output.append(buf, n);
  status = pclose(pipe);
  return output;
}

Conn connectOk(const PoolerProcess& pooler) {
  Conn conn = connect(pooler.conninfo());
  INFO(PQerrorMessage(conn.get()) << pooler.log());
  REQUIRE(PQstatus(conn.get()) == CONNECTION_OK);
  return conn;
}

TempDir::TempDir(const std::string& prefix) {
  std::string pattern = "/tmp/" + prefix + "-XXXXXX";
  REQUIRE(mkdtemp(pattern.data()) != nullptr);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::string cmd = "rm -rf '" + path_ + "'";
  if (std::system(cmd.c_str()) != 0) WARN("could not remove " << path_);
}

PoolerConfig configWith(std::string settings, std::string userlist, std::string databases,
                        bool wait_until_ready) {
  PoolerConfig config;
  config.settings = std::move(settings);
  config.userlist = std::move(userlist);
  config.databases = std::move(databases);
  config.wait_until_ready = wait_until_ready;
  return config;
}

std::string defaultUserlist() {
  return "\"app\" \"app-secret\"\n\"md5user\" \"md5-secret\"\n\"scramuser\" \"scram-secret\"\n";
}

PoolerProcess::PoolerProcess(PoolerConfig config) {
  char tmpl[] = "/tmp/apibouncer-itest-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  dir_ = tmpl;
  chmod(dir_.c_str(), 0755);
  port_ = freePort();
  writeFile(dir_ + "/userlist.txt", config.userlist.empty() ? defaultUserlist() : config.userlist);
  std::string ini =
      "[databases]\n" + (config.databases.empty() ? defaultDatabases() : config.databases) +
      "\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = " + std::to_string(port_) +
      "\nunix_socket_dir = " + dir_ + "\nlogfile = " + dir_ + "/pooler.log\nauth_file = " + dir_ +
      "/userlist.txt\nauth_type = scram-sha-256\n" + config.settings + "\n";
  writeFile(dir_ + "/pooler.ini", ini);
  std::string bin = poolerBinary();
  pid_ = fork();
  REQUIRE(pid_ >= 0);
  if (pid_ == 0) {
    int err = open((dir_ + "/stderr.txt").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(err, STDERR_FILENO);
    dup2(err, STDOUT_FILENO);
    std::string ini_path = dir_ + "/pooler.ini";
    execl(bin.c_str(), bin.c_str(), ini_path.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  if (!config.wait_until_ready) return;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  // Ready means both listeners: the pooler opens the TCP one first, and a loaded machine can
  // run a test's Unix-socket connect in the moment between the two.
  std::string unix_socket = unixSocketPath();
  struct stat socket_stat;
  while (!canConnect(port_) || stat(unix_socket.c_str(), &socket_stat) != 0) {
    if (!alive() || std::chrono::steady_clock::now() > deadline) {
      FAIL("apibouncer did not start: " << stderrText() << log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

PoolerProcess::~PoolerProcess() {
  if (alive()) {
    ::kill(pid_, SIGQUIT);
    if (!waitExit(std::chrono::milliseconds(3000))) {
      ::kill(pid_, SIGKILL);
      waitExit(std::chrono::milliseconds(3000));
    }
  }
  std::string cmd = "rm -rf '" + dir_ + "'";
  if (std::system(cmd.c_str()) != 0) WARN("could not remove " << dir_);
}

std::string PoolerProcess::conninfo(const std::string& user, const std::string& password,
                                    const std::string& db) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=" + db + " user=" + user +
         " password=" + password + " connect_timeout=10";
}

std::string PoolerProcess::log() const {
  return readFile(dir_ + "/pooler.log");
}
std::string PoolerProcess::stderrText() const {
  return readFile(dir_ + "/stderr.txt");
}

bool PoolerProcess::logContains(const std::string& text) const {
  return log().find(text) != std::string::npos;
}

void PoolerProcess::signal(int signum) const {
  ::kill(pid_, signum);
}

bool PoolerProcess::alive() {
  if (exit_status_) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  return true;
}

std::optional<int> PoolerProcess::waitExit(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (alive()) {
    if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return exit_status_;
}

RawClient::RawClient(int port) {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
}

RawClient::~RawClient() {
  if (fd_ >= 0) close(fd_);
}

size_t RawClient::sendUntilFull(const std::string& chunk, size_t max_bytes, int pause_ms) {
  size_t sent = 0;
  size_t offset = 0;  // into chunk
  int idle_rounds = 0;
  while (sent < max_bytes && idle_rounds < 20) {
    ssize_t n =
        ::send(fd_, chunk.data() + offset, chunk.size() - offset, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n <= 0) {
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) break;
      ++idle_rounds;  // full: give the peer a moment, in case it is still draining
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    idle_rounds = 0;
    sent += static_cast<size_t>(n);
    offset = (offset + static_cast<size_t>(n)) % chunk.size();
    if (offset == 0 && pause_ms > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
  }
  return sent;
}

void RawClient::sendStartup(const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::pair<std::string, std::string>> params{{"user", "app"}, {"database", "app"}};
  params.insert(params.end(), extra.begin(), extra.end());
  REQUIRE(sendBytes(apibouncer::wire::startupMessage(apibouncer::wire::kProtocolV3, params)));
}

void RawClient::logIn(const std::vector<std::pair<std::string, std::string>>& extra) {
  sendStartup(extra);
  LoginSeen seen = readLogin(*this);
  REQUIRE(seen.error.empty());
  REQUIRE(seen.ready);
}

LoginSeen readLogin(RawClient& client, int timeout_ms) {
  LoginSeen seen;
  char type = 0;
  std::string body;
  while (client.readMessage(type, body, timeout_ms)) {
    if (type == 'S') {
      std::string name = body.c_str();
      seen.reported[name] = body.c_str() + name.size() + 1;
    } else if (type == 'N') {
      seen.notices++;
    } else if (type == 'E') {
      seen.error = body;
      break;
    } else if (type == 'Z') {
      seen.ready = true;
      break;
    }
  }
  return seen;
}

RawReply rawQuery(RawClient& client, const std::string& sql) {
  client.sendBytes(apibouncer::wire::query(sql));
  RawReply reply;
  char type = 0;
  std::string body;
  while (client.readMessage(type, body) && type != 'Z') {
    if (type == 'D' && reply.value.empty() && body.size() > 6) reply.value = body.substr(6);
    if (type == 'E' && reply.error.empty()) reply.error = body;
  }
  return reply;
}

std::string rawQueryValue(RawClient& client, const std::string& sql) {
  return rawQuery(client, sql).value;
}

void RawClient::reset() {
  linger abort{1, 0};
  setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
  close(fd_);
  fd_ = -1;
}

bool RawClient::sendBytes(const std::string& bytes) {
  return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
         static_cast<ssize_t>(bytes.size());
}

bool RawClient::fill(size_t n, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (buffer_.size() < n) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{fd_, POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return false;
    char chunk[65536];
    ssize_t got = ::recv(fd_, chunk, sizeof chunk, 0);
    if (got <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(got));
  }
  return true;
}

bool RawClient::readRaw(size_t n, std::string& out, int timeout_ms) {
  if (!fill(n, timeout_ms)) return false;
  out = buffer_.substr(0, n);
  buffer_.erase(0, n);
  return true;
}

bool RawClient::readMessage(char& type, std::string& body, int timeout_ms) {
  if (!fill(5, timeout_ms)) return false;
  auto* p = reinterpret_cast<const unsigned char*>(buffer_.data());
  uint32_t len = (uint32_t{p[1]} << 24) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 8) | p[4];
  if (len < 4 || !fill(1 + len, timeout_ms)) return false;
  type = buffer_[0];
  body = buffer_.substr(5, len - 4);
  buffer_.erase(0, 1 + len);
  return true;
}

bool RawClient::closedByPeer(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{fd_, POLLIN, 0};
    if (poll(&pfd, 1, 100) > 0) {
      char chunk[4096];
      ssize_t got = ::recv(fd_, chunk, sizeof chunk, 0);
      if (got <= 0) return true;
    }
  }
  return false;
}

UnreadFlood floodUnread(RawClient& client, const std::string& message, char answer_type) {
  UnreadFlood flood;
  std::string batch;
  for (int i = 0; i < 8192; ++i) batch += message;
  const size_t limit = size_t{1} << 30;
  size_t sent = client.sendUntilFull(batch, limit);
  flood.stopped = sent < limit;
  size_t partial = sent % message.size();
  flood.sent = sent / message.size() + (partial > 0 ? 1 : 0);
  std::atomic<size_t> answers{0};
  std::atomic<bool> ready{false};
  std::thread reader([&] {  // no Catch2 macros off the main thread
    char type = 0;
    std::string body;
    while (client.readMessage(type, body, 20000)) {
      if (type == answer_type) ++answers;
      if (type == 'Z') {
        ready = true;
        return;
      }
    }
  });
  const std::string sync("S\0\0\0\4", 5);
  bool rest_sent = client.sendBytes((partial > 0 ? message.substr(partial) : "") + sync);
  reader.join();
  flood.ready = rest_sent && ready;
  flood.answers = answers;
  return flood;
}

}  // namespace itest
