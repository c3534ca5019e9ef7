// Client -> server bytes when prepared statements are tracked (transaction and statement
// pooling with max_prepared_statements > 0). Parse, Bind, Describe and Close that name a
// statement are rewritten to the pooler's name for it; a statement the link lacks is prepared
// on it first; a Parse the link already has, and a Close, are answered by the pooler. Every
// request is announced to the link's ReplyTracker so the answers come back in order. All other
// bytes pass untouched, and a chunk with nothing to rewrite is forwarded as it came.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>

#include "pooler/chunk_editor.h"
#include "pooler/copy_in_syncs.h"
#include "pooler/message_scanner.h"
#include "pooler/prepared_statements.h"
#include "pooler/reply_tracker.h"

namespace apibouncer {

// What a stretch of client bytes asks of the server: the ReadyForQuery messages it will earn,
// and whether it leaves an extended-protocol exchange open (no Sync yet: keep the link).
struct ClientRequests {
  int expected_ready = 0;
  bool extended_open = false;
  bool simple_query = false;  // this chunk has a Query message (disable_pqexec)
  CopyInSyncs copy;           // Syncs sent during COPY FROM STDIN earn no ReadyForQuery
  // False for a message the server ignores (Sync or Flush during COPY FROM STDIN).
  bool see(char type);
};

class PreparedRelay {
 public:
  // The server link the client holds now.
  struct Link {
    ServerStatementCache& cache;
    ReplyTracker& replies;
    size_t capacity;       // max_prepared_statements
    char tx_status = 'I';  // its last ReadyForQuery's status (current when nothing is owed)
  };
  struct Outcome {
    MessageScanner::Result scan;
    std::span<const uint8_t> to_server;  // the chunk itself, or `server_buf`
    ClientRequests requests;
  };

  explicit PreparedRelay(StatementRegistry& registry) : registry_(registry) {}

  // Relays one chunk for `link`. Rewritten bytes are built in `server_buf`; the pooler's
  // answers whose turn has come are appended to `to_client`. `requests.extended_open` carries
  // the state from the previous chunk in and the new state out.
  Outcome relay(std::span<const uint8_t> chunk, MessageScanner& scanner, Link link,
                ClientRequests requests, std::string& server_buf, std::string& to_client);
  // DEALLOCATE ALL / DISCARD ALL ran: the client keeps only the statements it prepared after.
  void forgetAllBut(std::span<const std::string_view> prepared_since) {
    statements_.retainOnly(prepared_since);
  }
  // A Parse of the client's did not happen after all (refused, or skipped after an error).
  void forget(std::string_view client_name) { statements_.remove(client_name); }
  void restore(std::string_view client_name, StatementRef statement) {
    statements_.add(client_name, std::move(statement));
  }
  size_t statementCount() const { return statements_.size(); }

 private:
  struct Visitor;
  enum class Decision { kKeep, kReplace, kDrop };
  Decision rewrite(char type, std::span<const uint8_t> body, Link& link, std::string& out);
  Decision rewriteParse(std::span<const uint8_t> body, Link& link, std::string& out);
  // Rewrites a message naming statement `name` at `name_offset` of its body.
  Decision rewriteStatementName(char type, std::span<const uint8_t> body, size_t name_offset,
                                Link& link, std::string& out);
  Decision rewriteClose(std::span<const uint8_t> body, Link& link);
  // A SQL-level DEALLOCATE (a Query, or an unnamed Parse, whose text is `query`) of one of the
  // client's statements: the server knows that statement under the pooler's name, so the
  // command would fail there. The client forgets the name, and the server runs a DEALLOCATE of
  // a statement the pooler prepares just before, so the client gets the server's own answers.
  // Appends that to `out`, announces the replies (the client's included) and returns true;
  // false (and nothing) when this is not such a DEALLOCATE. `after_query` is the rest of a
  // Parse body (the parameter types).
  bool retireByDeallocate(char type, std::string_view query, std::string_view after_query,
                          Link& link, std::string& out);
  // The client just sent a query, `sql` (nullopt: not readable whole): if it may drop every
  // statement, the link is told (ReplyTracker::mayDropAll).
  void noteMayDropAll(std::optional<std::string_view> sql, Link& link);
  // Whether the link has `statement` prepared for sure (it becomes the most recently used).
  bool preparedOnLink(const PreparedStatement* statement, Link& link);
  // Prepares `statement` on the link (again, after a Close, if it may be there), appending the
  // Parse (and the Close of any statement it evicts) to `out`. `client_name` is the client's Parse
  // this is; "" when the pooler adds the Parse for a Bind or Describe (its answer is swallowed).
  void prepareOnLink(const StatementRef& statement, std::string_view client_name, Link& link,
                     std::string& out);

  StatementRegistry& registry_;
  ClientStatements statements_;
  ChunkEditor editor_;
  bool in_message_ = false;              // a message being held back continues in the next chunk
  Decision decision_ = Decision::kKeep;  // what becomes of it when it ends
  bool skip_until_sync_ = false;         // after the pooler's own error, like the server after one
};

}  // namespace apibouncer
