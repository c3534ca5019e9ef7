// A client session: one application connection. Reads the startup packet, authenticates
// against auth_file, waits for a server link from its pool, then relays bytes both ways
// (session mode: the link stays until the client leaves).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "pooler/client_auth.h"
#include "pooler/config/config.h"
#include "pooler/connection.h"
#include "pooler/message_scanner.h"
#include "pooler/prepared_relay.h"
#include "pooler/tracked_params.h"

namespace apibouncer {
namespace interceptor {
struct WriteReply;
}
namespace admin {
class AdminSession;
}

struct ClientInterception;
class Pool;
class Pooler;
class ServerLink;

class ClientSession : public Connection {
 public:
  // kLoggedIn: welcomed with the pool's cached server parameters, holding no link until the
  // client sends something (as PgBouncer: idle clients cost no server connection).
  enum class State { kStartup, kAuth, kLoggedIn, kWaitingLink, kLinking, kActive, kClosing };

  ClientSession(Pooler& pooler, Transport transport);
  ~ClientSession() override;

  void start(const std::string& peer);  // after accept: begin reading
  State state() const { return state_; }
  const std::string& userName() const { return user_; }
  const std::string& databaseName() const { return database_; }
  const std::string& peer() const { return peer_; }
  ServerLink* server() const { return server_; }
  uint64_t connectedAtMs() const { return connected_at_ms_; }
  uint64_t waitStartMs() const { return wait_start_ms_; }
  uint64_t lastActivityMs() const { return last_activity_ms_; }
  uint64_t cancelKey() const { return cancel_key_; }
  // Admin console (SHOW CLIENTS): the client's pool (nullptr before login and for console
  // sessions), its session parameters, and whether it is a console session.
  Pool* pool() const { return pool_; }
  const TrackedParameters& trackedParameters() const { return tracked_; }
  bool isAdminConsole() const { return admin_login_; }
  // Logged in and greeted (ParameterStatus, BackendKeyData, ReadyForQuery went out).
  bool welcomed() const { return welcome_sent_; }

  // From the pool.
  void onServerAssigned(ServerLink* server);
  // query_wait_notify: tells a client that waits for a link, once per wait, that it waits.
  void notifyWaiting();
  // From the linked server link.
  void relayFromServer(std::span<const uint8_t> bytes);
  void onServerLost(const char* reason, std::string_view sqlstate = "08006",
                    std::string_view message = "server conn crashed?");
  // Transaction/statement pooling: the link is clean between transactions; give it back.
  void onTransactionEnd();
  // The server reported a changed setting; tracked ones are re-applied on later links.
  void rememberParameter(std::string_view name, std::string_view value);
  // DEALLOCATE ALL / DISCARD ALL ran on the link: the client's named statements are gone,
  // but for those it prepared after it.
  void forgetPreparedStatements(std::span<const std::string_view> prepared_since);
  void forgetPreparedStatement(std::string_view name);
  // A Close of it that an error before it made void (the server would have skipped it).
  void restorePreparedStatement(std::string_view name, StatementRef statement);
  void onServerDrained();  // the server took our queued bytes: read from the client again
  // Reading stopped at kMaxOwedReplies replies owed by the link (relayToServer); the server
  // link calls onOwedRepliesFell() once they are down to half.
  static constexpr size_t kMaxOwedReplies = 65536;
  bool owedRepliesBackedUp() const { return replies_backed_up_; }
  void onOwedRepliesFell();
  // The server began COPY FROM STDIN: how many of the client's Syncs it will not answer.
  int onCopyIn() { return requests_.copy.onCopyIn(); }
  // A synced write of this client is running (client_intercept.cc): when it started (0: none),
  // and a cancel request or query_timeout for it. The write honours it until its API call.
  uint64_t writeStartedMs() const;
  void cancelWrite();

  // Sends a FATAL error and closes. `reason` goes to the log.
  void fail(std::string_view sqlstate, std::string_view message, const char* reason);
  // Closes without an error message (the client left, or shutdown).
  void disconnect(const char* reason);

 protected:
  void onRead(std::span<const uint8_t> data) override;
  void onReadEnd(int status) override;
  void onDrained() override;
  void onWriteFailed(int status) override;
  void onClosed() override;
  void onTlsFailed(const std::string& error) override;

 private:
  void processLoginBuffer();
  bool answerSslRequest();
  bool handleStartupPacket();
  bool acceptStartupParameters(const std::vector<std::pair<std::string, std::string>>& params);
  bool acceptStartupOptions(std::string_view text);
  bool checkLimits();
  void beginAuth();
  // The virtual database "pgbouncer": the admin console instead of a pool.
  void beginAdminLogin();
  void finishAdminLogin(std::string reply);
  void runAuthExchange(config::AuthType auth_type, const auth::Secret* secret);
  void handleAuthMessage(char type, std::span<const uint8_t> body);
  // auth_query (client_auth_query.cc): a user missing from auth_file is looked up on a link
  // of auth_user's pool; the login waits in state kAuth meanwhile.
  bool startAuthLookup(config::AuthType auth_type);
  void onAuthLookupLink(ServerLink* server);
  void finishAuthLookup(bool ok, const std::string& error);
  void abandonAuthLookup();
  void authSucceeded(std::string reply);
  void finishLinking(std::string welcome);
  // ParameterStatus for each server parameter, BackendKeyData and ReadyForQuery, after
  // `prefix` (what goes out in the same write). Tracked parameters the client did not set
  // take the server's values here.
  std::string welcomeMessages(const std::map<std::string, std::string>& server_params,
                              std::string prefix = {});
  void requestLink();
  // Keeps client bytes in inbuf_ until a link is ready (in a spare buffer if one is free).
  void keepUntilLinked(std::span<const uint8_t> data);
  void relayToServer(std::span<const uint8_t> data);
  void refuseSimpleQuery();
  // Sends `data` on, or fails the client if it was not a valid message stream.
  void forwardScanned(std::span<const uint8_t> data, MessageScanner::Result result,
                      const ClientRequests& requests);
  void releaseServer(bool clean);
  // Interception (the client's database has synced tables): client bytes are held as whole
  // messages so a Query that writes a synced table can be taken out of the stream; the rest
  // goes to the link as usual. The write's reply is sent once the link has answered everything
  // sent before it.
  bool intercepting() const;
  std::string_view sessionUser() const;
  void holdFromClient(std::span<const uint8_t> data);
  void processHeld();
  void forwardHeld(size_t end);
  void maybeStartWrite();
  void startWrite();
  void finishWrite(const interceptor::WriteReply& reply);
  void replyToWrite(const interceptor::WriteReply& reply, char status, bool extended, bool ready);
  void countReplies(std::span<const uint8_t> bytes);
  void relayInterceptedReplies(std::span<const uint8_t> bytes);
  void expandScript();
  void endScriptAfterError();
  std::string setStatementsFor(ServerLink& server) const;
  void setState(State state);

  struct RelayVisitor;
  Pooler& pooler_;
  State state_ = State::kStartup;
  std::string peer_;
  std::string user_, database_;
  TrackedParameters tracked_;
  std::string inbuf_;  // login bytes, and client bytes that arrive before the link is ready
  std::unique_ptr<ClientAuth> auth_;
  // Only from startup until the pool is known. It points into the config it came from and
  // keeps that config alive, so a RELOAD meanwhile (auth_query in flight) changes nothing here.
  std::shared_ptr<const config::DatabaseConfig> db_;
  Pool* pool_ = nullptr;
  ServerLink* server_ = nullptr;
  MessageScanner scanner_;
  ClientRequests requests_;                  // extended_open carries over between chunks
  std::unique_ptr<PreparedRelay> prepared_;  // once the client uses a tracking pool
  uint64_t cancel_key_ = 0;
  bool counted_ = false;  // counted in db/user client limits
  bool welcome_sent_ = false;
  bool wait_notified_ = false;
  // Each encryption request is answered once per connection, as PostgreSQL does; a client
  // repeating one is refused rather than answered for as long as it keeps asking.
  bool ssl_requested_ = false, gss_requested_ = false;
  // Reading stopped because the pooler's own answers (prepared statements) backed up.
  bool answers_backed_up_ = false;
  bool replies_backed_up_ = false;
  uint64_t connected_at_ms_ = 0, wait_start_ms_ = 0, last_activity_ms_ = 0;
  // Only for clients of a database with synced tables (client_intercept.h).
  std::unique_ptr<ClientInterception> intercept_;
  bool admin_login_ = false;  // logging in to (or logged in to) the admin console
  bool own_user_ = false;     // user pgbouncer over the Unix socket from our own OS user
  std::unique_ptr<admin::AdminSession> admin_;
  // Only while an auth_query login is under way (an idle client pays one pointer).
  struct AuthLookup {
    config::AuthType auth_type;
    Pool* pool;                  // auth_user's pool
    ServerLink* link = nullptr;  // while the query runs
    bool answered = false;
    std::optional<auth::Secret> secret;  // what it found: for the server login as this user
  };
  std::unique_ptr<AuthLookup> auth_lookup_;
};

}  // namespace apibouncer
