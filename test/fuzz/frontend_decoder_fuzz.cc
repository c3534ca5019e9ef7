// libFuzzer target: arbitrary client bytes through the startup decoder, the message framer and
// every frontend body decoder. Any crash, sanitizer report or hang is a bug.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "pooler/wire/frontend.h"
#include "pooler/wire/packet.h"

using namespace apibouncer::wire;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  StartupPacket startup;
  std::string error;
  if (decodeStartup(in, startup, error) == DecodeStatus::kOk) in = in.subspan(startup.consumed);
  while (!in.empty()) {
    Message msg;
    if (nextMessage(in, 1 << 20, msg) != DecodeStatus::kOk) break;
    validateFrontendMessage(msg);
    ParseMsg parse;
    decodeParse(msg.body, parse);
    BindMsg bind;
    decodeBind(msg.body, bind);
    SaslInitialResponseMsg sasl;
    decodeSaslInitialResponse(msg.body, sasl);
    in = in.subspan(msg.header.totalSize());
  }
  return 0;
}
