// MessageScanner: header bookkeeping (the template body lives in the header).
#include "pooler/message_scanner.h"

#include "pooler/wire/packet.h"

namespace apibouncer {

void MessageScanner::reset() {
  header_have_ = 0;
  body_left_ = 0;
  capturing_ = false;
  captured_.clear();
}

bool MessageScanner::headerComplete(Result& result) {
  uint32_t length = wire::readU32(header_ + 1);
  header_have_ = 0;
  if (length < 4) {
    result.status = Result::Status::kMalformed;
    return false;
  }
  if (length > max_size_ - 1) {
    result.status = Result::Status::kTooLarge;
    return false;
  }
  body_left_ = length - 4;
  return true;
}

}  // namespace apibouncer
