// Integration-test fixtures: the shared PostgreSQL sandbox, an apibouncer process per test, and
// libpq / raw-socket clients.
//
// Run by hand:  tools/pg-sandbox.sh start /tmp/pgs
//               PG_SANDBOX_DIR=/tmp/pgs APIBOUNCER_BIN=build/apibouncer build/integration_tests
// APIBOUNCER_BIN may point at PgBouncer (run as a non-root user) to check the tests themselves.
#pragma once

#include <libpq-fe.h>
#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace itest {

// The PostgreSQL started by tools/pg-sandbox.sh (read from $PG_SANDBOX_DIR/env).
struct Sandbox {
  int port = 0;
  std::string socket_dir;
  static const Sandbox& get();
  // Direct connection to PostgreSQL as the superuser (bypasses the pooler).
  std::string superuserConninfo(const std::string& db = "app") const;
};

using Conn = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

Conn connect(const std::string& conninfo);
Result exec(PGconn* conn, const std::string& sql);
std::string errorField(const PGresult* result, int field);  // "" if absent
// A NOTICE/WARNING (or an error libpq got while idle) as the notice receiver saw it.
struct Notice {
  std::string severity, sqlstate, message, detail;
};
// A libpq notice receiver: PQsetNoticeReceiver(conn, collectNotice, &notices) with
// notices a std::vector<Notice>.
void collectNotice(void* notices, const PGresult* result);
// True if one of `notices` has `part` in its message.
bool noticed(const std::vector<Notice>& notices, const std::string& part);
// Runs `sql` as the sandbox superuser and returns the first value of the first row.
std::string superuserQuery(const std::string& sql);
// Creates a login role (SCRAM password) if missing, able to connect to database app.
void ensureRole(const std::string& role, const std::string& password);

struct PoolerConfig {
  std::string databases;  // lines for [databases]; default: app -> the sandbox
  std::string settings;   // extra [pgbouncer] lines (later keys override earlier ones)
  std::string userlist;   // auth_file contents; default: app, md5user, scramuser (plain)
  bool wait_until_ready = true;
};

// A directory under /tmp for one test's files, removed with its contents at the end.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A PoolerConfig from its parts (empty: the fixture's default).
PoolerConfig configWith(std::string settings, std::string userlist = {}, std::string databases = {},
                        bool wait_until_ready = true);

class PoolerProcess;
// Connects through `pooler` as app; the test fails (with the pooler's log) if it cannot.
Conn connectOk(const PoolerProcess& pooler);

class PoolerProcess {
 public:
  explicit PoolerProcess(PoolerConfig config = {});
  ~PoolerProcess();
  PoolerProcess(const PoolerProcess&) = delete;
  PoolerProcess& operator=(const PoolerProcess&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }
  // The Unix socket the pooler listens on (dir()/.s.PGSQL.<port>).
  std::string unixSocketPath() const { return dir_ + "/.s.PGSQL." + std::to_string(port_); }
  std::string conninfo(const std::string& user = "app", const std::string& password = "app-secret",
                       const std::string& db = "app") const;
  std::string log() const;
  bool logContains(const std::string& text) const;
  void signal(int signum) const;
  bool alive();
  // Waits for the process to exit; returns its exit status, or nullopt on timeout.
  std::optional<int> waitExit(std::chrono::milliseconds timeout);
  std::string stderrText() const;

 private:
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
};

int freePort();
// A loopback port bound but not listening, for as long as this lives: connecting to it is
// refused, and no other test running in parallel can take it meanwhile (a port freePort()
// returned can be handed to the next process that binds port 0).
class RefusingPort {
 public:
  RefusingPort();
  ~RefusingPort();
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};
// The pooler under test: $APIBOUNCER_BIN, else the one this build made.
std::string poolerBinary();
std::string defaultDatabases();
// A [databases] line for `app` on the sandbox with extra connection-string keys.
std::string sandboxDatabase(const std::string& extra);
// Number of PostgreSQL backends logged in as `role` (seen directly, not through the pooler).
int backendsOf(const std::string& role);
// Connects and runs one query; false with `error` set if either fails. (With a welcome from
// cached parameters the wait for a server link happens at the first query, otherwise during
// connect: this covers both.)
bool runsQuery(const std::string& conninfo, std::string& error);
// Runs a shell command; returns its output (stdout and stderr) and sets its exit status.
std::string runCommand(const std::string& command, int& status);
// Runs `sql` and returns the first value of the first row (the test fails if it errors).
std::string queryValue(PGconn* conn, const std::string& sql);
// The same for a test's helper thread, where no Catch2 macro may run (Catch2 2.x is not
// thread-safe: an INFO or REQUIRE there races the main thread's): the first value, or
// "error: " and libpq's message.
std::string queryValueInThread(PGconn* conn, const std::string& sql);
// The result's command tag ("INSERT 0 2"), "" if none.
std::string cmdStatus(const PGresult* result);
// Runs `copy` (COPY ... FROM STDIN) with the extended protocol, as PQexecParams sends it, feeds
// it `data` and returns the command tag ("COPY 2"), which must be the last result.
std::string copyInExtended(PGconn* conn, const std::string& copy, const std::string& data);
bool contains(const std::string& text, const std::string& part);
std::string defaultUserlist();

// A client speaking the protocol by hand, for what libpq will not send.
class RawClient {
 public:
  explicit RawClient(int port);
  ~RawClient();
  bool sendBytes(const std::string& bytes);
  // Reads one typed message (type + body) within the timeout; false on EOF/timeout.
  bool readMessage(char& type, std::string& body, int timeout_ms = 5000);
  // Reads exactly n raw bytes (e.g. the SSLRequest answer).
  bool readRaw(size_t n, std::string& out, int timeout_ms = 5000);
  bool closedByPeer(int timeout_ms = 5000);
  // Sends the startup packet of a login as app to database app, with `extra` parameters.
  void sendStartup(const std::vector<std::pair<std::string, std::string>>& extra = {});
  // Logs in as app to database app (the pooler trusts it), with `extra` startup parameters:
  // the startup packet, then every message up to ReadyForQuery, which must come without an
  // error.
  void logIn(const std::vector<std::pair<std::string, std::string>>& extra = {});
  // Sends `chunk` again and again without blocking until the peer stops taking bytes (its
  // buffers and ours are full) or `max_bytes` went out; returns the bytes sent. With
  // `pause_ms`, waits that long after each whole chunk, so a reader gets one chunk per read.
  size_t sendUntilFull(const std::string& chunk, size_t max_bytes, int pause_ms = 0);
  // Closes with a reset (SO_LINGER 0): the peer's next send fails instead of succeeding.
  void reset();

 private:
  bool fill(size_t n, int timeout_ms);
  int fd_ = -1;
  std::string buffer_;
};

// What a login's answer held, read up to its ReadyForQuery or its error.
struct LoginSeen {
  std::map<std::string, std::string> reported;  // ParameterStatus name -> value
  std::string error;                            // the ErrorResponse's body, if one came
  int notices = 0;
  bool ready = false;  // ReadyForQuery came
};
LoginSeen readLogin(RawClient& client, int timeout_ms = 5000);

// What a simple query on a raw client answered, read up to its ReadyForQuery.
struct RawReply {
  std::string value;  // the first value of the first row ("" if none)
  std::string error;  // the first ErrorResponse's body ("" if none)
};
RawReply rawQuery(RawClient& client, const std::string& sql);
// rawQuery's value.
std::string rawQueryValue(RawClient& client, const std::string& sql);

// What floodUnread saw.
struct UnreadFlood {
  bool stopped = false;  // the pooler stopped taking bytes before 1 GB went out
  bool ready = false;    // ReadyForQuery came once the client read
  size_t sent = 0;       // messages sent (the last one finished after reading began)
  size_t answers = 0;    // replies of the expected type before ReadyForQuery
};
// Sends `message` (a request the pooler answers itself) again and again without reading, as a
// client that never reads would, until the pooler stops taking bytes; then reads every answer
// while it finishes the last message and sends a Sync.
UnreadFlood floodUnread(RawClient& client, const std::string& message, char answer_type);

}  // namespace itest
