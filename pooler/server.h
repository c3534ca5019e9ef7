// A server link: one connection from the pooler to PostgreSQL. Connects, logs in (md5,
// SCRAM-SHA-256, cleartext), learns the server's parameters and cancel key, and then relays
// bytes to the client it is linked to, watching for ReadyForQuery to know when it is clean.
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pooler/chunk_editor.h"
#include "pooler/connection.h"
#include "pooler/message_scanner.h"
#include "pooler/prepared_statements.h"
#include "pooler/reply_tracker.h"
#include "pooler/tracked_params.h"
#include "pooler/wire/backend.h"

namespace apibouncer {

class CancelLink;
namespace auth {
class ScramClient;
}
class ClientSession;
class Pool;

class ServerLink : public Connection {
 public:
  enum class State { kConnecting, kLogin, kInternalQuery, kIdle, kActive, kClosing };
  using InternalDone = std::function<void(bool ok, const std::string& error)>;

  ServerLink(uv_loop_t* loop, Pool& pool, Transport transport);
  ~ServerLink() override;

  // Starts connecting to `host` (an IP, a name, or a Unix socket directory) and `port`.
  void connectTo(const std::string& host, int port);
  State state() const { return state_; }
  Pool& pool() { return pool_; }

  // Parameters the server reported (ParameterStatus), by canonical name.
  const std::map<std::string, std::string>& parameters() const { return parameters_; }
  // Tracked parameters the server does not report (no ParameterStatus) that the pooler SET
  // on this link for a client: the next client either wants the same value or a RESET.
  const std::map<std::string, std::string>& unreportedSettings() const {
    return unreported_settings_;
  }
  void rememberSetting(const std::string& name, const std::string& value) {
    unreported_settings_[name] = value;
    tracked_view_.names.reset();
  }
  void forgetSetting(const std::string& name) {
    unreported_settings_.erase(name);
    tracked_view_.names.reset();
  }
  // A SET, RESET or DISCARD ran on the link: a tracked parameter the server does not report
  // may have changed without a word. Each is then unknown, so that the next client gets its
  // SET, or a RESET, whatever it wants (`tracked`: the names the pooler tracks).
  void markUnreportedSettingsUnknown(const ParameterNames& tracked);
  // This link's current value of each of `names` (nullptr: not set, the server's default),
  // and which of them the server reports. Asked at every hand-over in transaction pooling, so
  // it is worked out once per list and kept until a parameter changes.
  struct TrackedView {
    std::shared_ptr<const ParameterNames> names;
    std::vector<const std::string*> values;
    uint64_t reported_mask = 0;
  };
  const TrackedView& trackedView(const std::shared_ptr<const ParameterNames>& names);
  uint32_t backendPid() const { return backend_pid_; }
  uint32_t backendKey() const { return backend_key_; }
  const std::string& addressHost() const { return host_; }
  int addressPort() const { return port_; }
  uint64_t createdAtMs() const { return created_at_ms_; }
  // Logged in and past connect_query: the link can serve clients.
  bool loggedIn() const { return logged_in_; }
  uint64_t lastUsedMs() const { return last_used_ms_; }

  // Runs a simple query nobody else sees (reset, health check, SET, connect_query,
  // auth_query). Its first row, if any, is internalFirstRow() when `done` runs.
  void runInternalQuery(std::string sql, InternalDone done);
  // The SQLSTATE of the error that failed the last internal query ("" if none came).
  const std::string& internalErrorCode() const { return internal_sqlstate_; }
  const std::vector<std::optional<std::string>>& internalFirstRow() const { return internal_row_; }
  void becomeIdle();
  void linkTo(ClientSession* client);
  ClientSession* client() const { return client_; }
  // Client bytes go through here so the link knows how many ReadyForQuery it still owes, and
  // whether an extended-protocol exchange is still open (no Sync yet: the link is not free).
  void forwardFromClient(std::span<const uint8_t> bytes, int expected_ready, bool extended_open);
  // Prepared statement tracking (transaction/statement pooling): what this link has prepared,
  // and the answers it owes for the client's edited stream.
  ServerStatementCache& preparedStatements() { return prepared_; }
  ReplyTracker& replies() { return replies_; }
  // True if the link sits between transactions with no reply pending.
  bool isClean() const;
  // Transaction and statement pooling, and clean: the client's transaction is over and the
  // link goes back to the pool.
  bool freeForPool() const;
  void unlink() { client_ = nullptr; }
  // The pooler answered some of the client's requests itself (ClientSession::relayToServer).
  void notePoolerAnswered() { replied_since_send_ = true; }
  // A query (or Sync) is out and its ReadyForQuery has not come back yet, or the server is in
  // COPY FROM STDIN (the client's Sync after an extended-protocol COPY earns nothing).
  bool busy() const { return pending_ready_ > 0 || copy_in_; }
  // The client sent extended-protocol messages and no Sync yet (an Execute may be running).
  bool extendedOpen() const { return extended_open_; }
  uint64_t busySinceMs() const { return busy_since_ms_; }
  // What query_timeout counts from: the statement's start, or in COPY FROM STDIN the client's
  // last data (the server waits for the client meanwhile; PgBouncer's query_timeout counts
  // from the client's last packet). Statistics and transaction_timeout keep busySinceMs().
  uint64_t queryClockMs() const {
    return copy_in_ ? std::max(busy_since_ms_, copy_data_ms_) : busy_since_ms_;
  }
  bool cancelSent() const { return cancel_sent_; }
  uint64_t cancelSentMs() const { return cancel_sent_ms_; }
  void markCancelSent() {
    cancel_sent_ = true;
    cancel_sent_ms_ = uv_now(loop());
  }
  bool inTransaction() const { return tx_status_ != 'I'; }
  char transactionStatus() const { return tx_status_; }  // the last ReadyForQuery's
  uint64_t transactionSinceMs() const { return tx_since_ms_; }

  // Cancel requests on their way to this link's backend (cancel.h). A link its client gave
  // back while one is in flight is parked until the cancel is through.
  void cancelStarted(CancelLink* cancel) { cancels_.push_back(cancel); }
  void cancelFinished(CancelLink* cancel);
  bool cancelInFlight() const { return !cancels_.empty(); }
  void parkUntilCanceled();
  bool parked() const { return parked_since_ms_ != 0; }
  uint64_t parkedSinceMs() const { return parked_since_ms_; }

  // Closes the link, logging why. Safe to call more than once.
  void disconnect(const char* reason);
  // Login did not finish: tells the pool (which tells waiting clients) and closes.
  void failLogin(const std::string& sqlstate, const std::string& message);
  bool loggingIn() const { return state_ == State::kConnecting || state_ == State::kLogin; }

 protected:
  void onRead(std::span<const uint8_t> data) override;
  void onReadEnd(int status) override;
  void onDrained() override;
  void onWriteFailed(int status) override;
  void onClosed() override;
  void onTlsFailed(const std::string& error) override;

 private:
  static void connectCb(uv_connect_t* req, int status);
  void onResolved(int status, const std::vector<sockaddr_storage>& addrs);
  void connectToAddress(const sockaddr* addr);
  void beginLogin();
  void onSslAnswer(std::span<const uint8_t> data);
  void sendStartup();
  void onLoginData(std::span<const uint8_t> data);
  bool handleLoginMessage(char type, std::span<const uint8_t> body);
  void offerWelcome();
  bool handleAuthRequest(std::span<const uint8_t> body);
  void onInternalData(std::span<const uint8_t> data);
  bool handleInternalMessage(char type, std::span<const uint8_t> body);
  template <class Handler>
  bool drainBuffered(std::span<const uint8_t> data, uint32_t max_size, Handler&& handle);
  // Decodes a ParameterStatus body into `msg` and keeps the value; false if malformed.
  bool recordParameter(std::span<const uint8_t> body, wire::ParameterStatusMsg& msg);
  void onActiveData(std::span<const uint8_t> data);
  void refuseTransactionBlock(std::span<const uint8_t> data);
  void setState(State state);
  void setTransactionStatus(char status);
  // SHOW STATS: a ReadyForQuery for the client ends a query, and with status 'I' a transaction.
  void countQueryEnd(char status);
  void onCopyIn();
  // Takes back in the link's and the client's books what an error made void (ReplyTracker).
  void applyUndos();

  template <bool kTracking>
  struct ActiveVisitor;
  Pool& pool_;
  State state_ = State::kConnecting;
  ClientSession* client_ = nullptr;
  std::string host_;
  int port_ = 0;
  uint32_t backend_pid_ = 0, backend_key_ = 0;
  std::map<std::string, std::string> parameters_;
  // Some tracked parameter is not reported by this server (track_extra_parameters): its value
  // on the link is unknown after each transaction, since a client may change it unseen.
  bool tracks_unreported_ = false;
  std::map<std::string, std::string> unreported_settings_;
  TrackedView tracked_view_;  // names == nullptr: to be worked out again
  std::string inbuf_;         // login and internal queries only
  MessageScanner scanner_;
  int pending_ready_ = 0;  // ReadyForQuery messages the server still owes the client
  bool extended_open_ = false;
  bool copy_in_ = false;  // CopyInResponse seen, its ReadyForQuery not yet
  // A request was answered (by the server, or by the pooler in its place) since the client
  // last sent: the client's next message starts a new statement's query_timeout clock.
  bool replied_since_send_ = false;
  // The replies are being edited (ActiveVisitor<true>). A message is read to its end by the
  // visitor that began it, since the two keep a message's bookkeeping differently.
  bool tracking_ = false;
  ServerStatementCache prepared_;
  ReplyTracker replies_;
  ChunkEditor editor_;  // swallows and inserts replies when statements are tracked
  char tx_status_ = 'I';
  uint64_t busy_since_ms_ = 0;  // when the statement running now started (forwardFromClient,
                                // or the ReadyForQuery of the one before)
  uint64_t copy_data_ms_ = 0;   // when the client last sent COPY data
  uint64_t tx_since_ms_ = 0;    // when tx_status_ last left 'I'
  bool cancel_sent_ = false;    // query_timeout already canceled the running query
  uint64_t cancel_sent_ms_ = 0;
  std::vector<CancelLink*> cancels_;
  uint64_t parked_since_ms_ = 0;
  std::unique_ptr<auth::ScramClient> scram_;
  InternalDone internal_done_;
  std::string internal_error_;
  std::string internal_sqlstate_;  // the error's SQLSTATE, if the server gave one
  std::vector<std::optional<std::string>> internal_row_;  // the internal query's first row
  bool internal_row_seen_ = false;
  uint64_t created_at_ms_ = 0;
  bool logged_in_ = false;
  uint64_t last_used_ms_ = 0;
  std::shared_ptr<tls::Context> tls_context_;  // set only while our SSLRequest awaits its answer
  uv_connect_t connect_req_{};
  uint64_t dns_ticket_ = 0;  // a DnsCache lookup this link waits for
};

}  // namespace apibouncer
