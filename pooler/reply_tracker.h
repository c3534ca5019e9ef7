// The replies a server link owes, in order, when the pooler edits the client's extended-protocol
// stream (prepared statements in transaction pooling). Some requests were added by the pooler
// (a Parse of a statement this link has not seen, a Close of an evicted one): their replies are
// swallowed. Some client requests never reached the server (a Parse the link already has, a
// Close of a statement the pooler keeps): the pooler answers them itself, exactly where the
// server's answer would have been. After an ErrorResponse the server ignores everything up to
// Sync, and so do the answers queued for it. Pure; no I/O.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pooler/ring_queue.h"

namespace apibouncer {

struct PreparedStatement;

class ReplyTracker {
 public:
  enum class Request : uint8_t { kParse, kBind, kDescribe, kExecute, kClose, kSync, kSimpleQuery };

  // What an error made void, to take back in the pooler's books: the server refused a request
  // and skipped the rest up to Sync. One undo per statement or name, leaving it as it was
  // before the first void request on it; none while a request still queued behind the Sync
  // deals with it (that request carries the undo, should it be void too).
  struct Undo {
    enum class Kind : uint8_t {
      kNotOnLink,    // a Parse that did not happen: the link does not have `statement`
      kOnLink,       // a Close the pooler added that did not happen: the link has `kept`
      kForgetName,   // the client's Parse of `client_name` did not happen
      kRestoreName,  // the client's Close of `client_name` (or DEALLOCATE) did not happen
    };
    Kind kind;
    const PreparedStatement* statement = nullptr;
    std::shared_ptr<const PreparedStatement> kept;
    std::string client_name;
  };
  bool hasUndos() const { return !undos_.empty(); }
  std::vector<Undo> takeUndos() {
    std::vector<Undo> taken;
    taken.swap(undos_);
    return taken;
  }

  // The server will answer `request`; a pooler-added request has its answer swallowed.
  void expect(Request request, bool swallow = false);
  // A Parse of `statement` sent to the server, for the client's `client_name` ("" if the
  // pooler added it, whose answer is swallowed).
  void expectParse(const PreparedStatement* statement, std::string_view client_name);
  // The pooler answers in the server's place (ParseComplete, CloseComplete, an error);
  // `client_name` names the statement a ParseComplete stands for.
  void answer(std::string reply, std::string_view client_name = {});
  // The pooler answers a client's Close of `client_name` (CloseComplete) in the server's place.
  void answerClose(std::string_view client_name,
                   std::shared_ptr<const PreparedStatement> statement);
  // The client's Parse of a SQL DEALLOCATE that retires its `client_name` (see
  // PreparedRelay::retireByDeallocate): if it fails, or an error makes the server skip it,
  // the client keeps the name.
  void expectRetire(std::string_view client_name,
                    std::shared_ptr<const PreparedStatement> statement);
  // A Close the pooler added to evict `statement` is still unanswered: the server may have
  // it yet, whatever the link's cache says.
  bool evictionPending(const PreparedStatement* statement) const {
    return pending_evictions_.contains(statement);
  }
  // A Close the pooler adds so that a Parse of `statement` right behind it is safe whether or
  // not the server still has it (its answer is swallowed).
  void expectReclose(const PreparedStatement* statement);
  // A Close the pooler adds to evict `statement` from the link (its answer is swallowed).
  void expectEviction(std::shared_ptr<const PreparedStatement> statement);
  // The request just announced may drop every prepared statement of the session (a query that
  // mentions DEALLOCATE or DISCARD). Until the server has answered everything owed, the
  // statements it had before are not to be trusted: dropAllPossible() says so.
  void mayDropAll() {
    if (!queue_.empty()) drop_all_possible_ = true;
  }
  bool dropAllPossible() const { return drop_all_possible_; }
  // The request at the head of the queue dropped every prepared statement (its CommandComplete
  // says DEALLOCATE ALL or DISCARD ALL). The requests behind it were sent after the drop: what
  // they prepare is kept, and the statements that were on the link are gone whether or not an
  // error later makes the server skip a Close of them.
  struct KeptAfterDrop {
    std::vector<const PreparedStatement*> on_link;  // Parses sent to the server
    std::vector<std::string_view> client_names;     // valid until the queue changes
  };
  KeptAfterDrop onDropAll();
  // Appends the pooler's answers whose turn has come (nothing owed by the server before them).
  void takeReady(std::string& out);
  bool empty() const { return queue_.empty(); }
  size_t size() const { return queue_.size(); }
  void clear() {
    queue_.clear();
    not_ready_terminated_ = 0;
    drop_all_possible_ = false;
    pending_evictions_.clear();
  }
  // True when every request owed is a simple query or a Sync and the pooler neither answers
  // nor swallows anything: nothing in the server's replies needs editing, so the relay can
  // skip the per-message bookkeeping and just call onReadyForQuery() (simple-protocol clients
  // pay almost nothing for prepared statement tracking).
  bool onlyReadyTerminated() const { return not_ready_terminated_ == 0; }
  void onReadyForQuery() {
    if (!queue_.empty()) popFront();
  }
  // The first `count` Syncs owed will not be answered (sent during COPY FROM STDIN).
  void forgetSyncs(size_t count) {
    queue_.eraseIf(
        [](const Entry& entry) {
          return readyTerminated(entry) && entry.request == Request::kSync;
        },
        count);
  }

  // A server message of `type` begins; true if its bytes must not reach the client.
  bool onReplyStart(char type);
  // It ended: appends the pooler's answers that follow it to `out`.
  void onReplyEnd(char type, std::string& out);

 private:
  // What only Parses, Closes and the pooler's answers need; most entries (Bind, Execute,
  // Sync) have none, which keeps an entry at 16 bytes and its push free of allocations.
  struct Detail {
    std::string answer;       // non-empty: the pooler answers, the server never sees the request
    std::string client_name;  // Parse: the client's name for it
    // Parse sent to the server, or the pooler's Close before one (expectReclose)
    const PreparedStatement* statement = nullptr;
    std::shared_ptr<const PreparedStatement> evicted;  // Close the pooler added
    std::shared_ptr<const PreparedStatement> closed;   // client's Close the pooler answers
    // How the statements and names this request deals with were before it, when an earlier
    // request on them was made void (see settle()): its undo, should this one be void too.
    std::vector<Undo> inherited;
  };
  struct Entry {
    Request request = Request::kSync;
    bool swallow = false;
    std::unique_ptr<Detail> detail;
    bool isAnswer() const { return detail && !detail->answer.empty(); }
  };
  static bool ends(Request request, char type);
  static bool readyTerminated(const Entry& entry) {
    return (entry.request == Request::kSync || entry.request == Request::kSimpleQuery) &&
           !entry.swallow && !entry.detail;
  }
  void push(Entry entry);
  void popFront();
  // `entry` will never be answered (an error ended it or made the server skip it): appends
  // what to take back to `run`.
  void abandon(Entry& entry, std::vector<Undo>& run);
  // The eviction `detail` stands for is answered, void or moot.
  void endEviction(Detail& detail);
  // The undos of a stretch the server skipped, in request order: per statement or name, the
  // first one tells how it was before the stretch. That goes to the books, unless a request
  // still queued deals with the same statement or name: it inherits the undo instead.
  void settle(std::vector<Undo>& run);

  RingQueue<Entry> queue_;
  size_t not_ready_terminated_ = 0;  // entries that are not a plain Sync or simple query
  std::vector<Undo> undos_;
  bool current_ends_head_ = false;  // the message being read ends the first request
  bool drop_all_possible_ = false;  // see mayDropAll()
  // Statements with an eviction Close queued, and how many.
  std::unordered_map<const PreparedStatement*, uint32_t> pending_evictions_;
};

}  // namespace apibouncer
