// COPY FROM STDIN and the Syncs the server ignores. From its CopyInResponse until the client's
// CopyDone or CopyFail the server ignores Sync and Flush. libpq (like most drivers) sends an
// extended-protocol Execute with its Sync before it knows the statement is a COPY, and another
// Sync after CopyDone: two Syncs, one ReadyForQuery. Whoever counts the ReadyForQuery a client
// is owed follows the client's stream through this, and takes back what onCopyIn() reports.
// Pure; no I/O.
#pragma once

namespace apibouncer {

class CopyInSyncs {
 public:
  // A client message the server gets; false if it will ignore it (Sync, Flush during a copy).
  bool see(char type);
  // The server announced COPY FROM STDIN (CopyInResponse or CopyBothResponse): how many of the
  // Syncs seen since the copy's Execute it will not answer.
  int onCopyIn();

 private:
  bool copy_in_ = false;
  int syncs_since_execute_ = 0;     // Syncs since the last Execute, Query or FunctionCall
  int syncs_before_copy_end_ = -1;  // that count at a CopyDone/CopyFail after it; -1: none yet
};

}  // namespace apibouncer
