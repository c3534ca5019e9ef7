// The replies a server link owes, in order, when the pooler edits the client's extended-protocol
// stream (prepared statements in transaction pooling). Some requests were added by the pooler
// (a Parse of a statement this link has not seen, a Close of an evicted one): their replies are
// swallowed. Some client requests never reached the server (a Parse the link already has, a
// Close of a statement the pooler keeps): the pooler answers them itself, exactly where the
// server's answer would have been. After an ErrorResponse the server ignores everything up to
// Sync, and so do the answers queued for it. Pure; no I/O.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

namespace apibouncer {

class ReplyTracker {
 public:
  enum class Request : uint8_t { kParse, kBind, kDescribe, kExecute, kClose, kSync, kSimpleQuery };

  // The server will answer `request`; a pooler-added request has its answer swallowed.
  void expect(Request request, bool swallow = false);
  // The pooler answers in the server's place (ParseComplete, CloseComplete, an error).
  void answer(std::string reply);
  // Appends the pooler's answers whose turn has come (nothing owed by the server before them).
  void takeReady(std::string& out);
  bool empty() const { return queue_.empty(); }
  size_t size() const { return queue_.size(); }
  void clear() { queue_.clear(); }

  // A server message of `type` begins; true if its bytes must not reach the client.
  bool onReplyStart(char type);
  // It ended: appends the pooler's answers that follow it to `out`.
  void onReplyEnd(char type, std::string& out);

 private:
  struct Entry {
    Request request;
    bool swallow = false;
    std::string answer;  // non-empty: the pooler answers, the server never sees the request
  };
  static bool ends(Request request, char type);

  std::deque<Entry> queue_;
  bool current_ends_head_ = false;  // the message being read ends the first request
};

}  // namespace apibouncer
