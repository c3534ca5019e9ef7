// Which of the requests a client sent through the link are still unanswered, per exchange (a
// run of extended-protocol messages up to its Sync, or one simple Query). The interceptor
// needs it to put a synced write's reply exactly where the server's would have been: after
// the answers to everything sent before it. An ErrorResponse makes the server skip the rest
// of its exchange, so those answers are no longer owed. Pure; no I/O.
#pragma once

#include "pooler/copy_in_syncs.h"
#include "pooler/ring_queue.h"

namespace apibouncer {

class ReplyCounter {
 public:
  void sent(char type);      // a client message the server got
  void received(char type);  // a message the client got in reply
  // Everything sent is answered, except the open exchange's ReadyForQuery (no Sync yet).
  bool settled() const;
  // The open exchange (no Sync yet) got an ErrorResponse: the server skips until its Sync.
  bool failed() const {
    return !exchanges_.empty() && !exchanges_.back().closed && exchanges_.back().error;
  }

 private:
  struct Exchange {
    int owed = 0;         // completion messages still to come (ParseComplete, CommandComplete, ...)
    bool closed = false;  // its Sync (or the Query itself) was sent: it ends with ReadyForQuery
    bool error = false;
  };
  Exchange& open();
  // The server began COPY FROM STDIN and will not answer `count` Syncs sent since its Execute.
  void forgetSyncs(int count);
  RingQueue<Exchange> exchanges_;
  CopyInSyncs copy_;
};

}  // namespace apibouncer
