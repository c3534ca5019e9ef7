// systemd's readiness protocol (sd_notify(3)) without linking libsystemd: one datagram per
// state change to the socket named by $NOTIFY_SOCKET ("/path" or "@abstract"). With
// Type=notify in the unit, systemd then knows when apibouncer listens (READY=1), reloads
// (RELOADING=1 ... READY=1) and stops (STOPPING=1). Without $NOTIFY_SOCKET every call is a no-op.
#pragma once

#include <string_view>

namespace apibouncer::systemd {

// Sends `state` (e.g. "READY=1\nSTATUS=listening"); false if $NOTIFY_SOCKET is set but the
// datagram could not be sent.
bool notify(std::string_view state);

void notifyReady();
void notifyReloading();  // adds MONOTONIC_USEC, which Type=notify-reload requires
void notifyStopping();

}  // namespace apibouncer::systemd
