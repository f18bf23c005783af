// An answer that may leave only once what it reports is durable: a dynamic update's (RFC 2136 §3.5, the
// change on stable storage before the response). The Responder computes it without waiting for the
// journal's fdatasync when its caller allows (an event loop serving many clients); the caller then waits
// for the sync where blocking is harmless and asks for the message to send.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "zone/base/Result.h"

namespace headwater::xfr {

class DeferredAnswer {
  public:
    virtual ~DeferredAnswer() = default;
    // The sync, by the calling thread: true once durable; false at once, without waiting, when another
    // sync that does not cover this one is running (then wait() is for a thread that may block).
    virtual Result<bool, std::string> sync_unless_running() = 0;
    // The sync, waiting for one in progress first if need be: blocks for one or two fdatasyncs.
    virtual Result<void, std::string> sync() = 0;
    // After a sync (`synced` its outcome): the change served and the answer to send, SERVFAIL if the sync
    // failed. Called once.
    virtual std::vector<uint8_t> finish(const Result<void, std::string>& synced) = 0;
};

}  // namespace headwater::xfr
