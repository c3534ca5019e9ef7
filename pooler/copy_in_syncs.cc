// CopyInSyncs (see copy_in_syncs.h).
#include "pooler/copy_in_syncs.h"

#include <utility>

#include "pooler/wire/frontend.h"

namespace apibouncer {

bool CopyInSyncs::see(char type) {
  namespace fe = wire::fe;
  switch (type) {
    case fe::kSync:
      if (copy_in_) return false;
      ++syncs_since_execute_;
      return true;
    case fe::kFlush:
      return !copy_in_;
    case fe::kExecute:
    case fe::kQuery:
    case fe::kFunctionCall:
      syncs_since_execute_ = 0;
      syncs_before_copy_end_ = -1;
      return true;
    case fe::kCopyDone:
    case fe::kCopyFail:
      if (copy_in_)
        copy_in_ = false;
      else if (syncs_before_copy_end_ < 0)
        syncs_before_copy_end_ = syncs_since_execute_;  // sent before the server's answer
      return true;
    default:
      return true;
  }
}

int CopyInSyncs::onCopyIn() {
  if (syncs_before_copy_end_ >= 0) {  // the client ended the copy already: it did not wait
    int ignored = syncs_before_copy_end_;
    syncs_before_copy_end_ = -1;
    syncs_since_execute_ -= ignored;
    return ignored;
  }
  copy_in_ = true;
  return std::exchange(syncs_since_execute_, 0);
}

}  // namespace apibouncer
