// The process around the server: signals and limits set at start-up, and least privilege (server.user):
// started as root so it can bind port 53, the server hands its state to the unprivileged user and
// becomes that user once every socket is bound. docs/operations.md says how to set it up.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>

#include "conf/Config.h"
#include "zone/base/Result.h"

namespace headwater::server {

// Ignores SIGPIPE and SIGXFSZ (a full disk or a file-size limit then makes a write fail with an error the
// journal reports, EFBIG/ENOSPC, instead of killing the server) and raises the soft RLIMIT_NOFILE to the
// hard limit (every TCP connection is a descriptor: tcp_max_connections plus the listeners, journals and
// control connections must fit). Returns the soft descriptor limit now in force.
uint64_t prepare_process();

struct Identity {
    std::string user;
    std::string group;
    uid_t uid = 0;
    gid_t gid = 0;
};

// server.user and server.group looked up in the user and group databases (names, or numeric ids), and
// checked against what this process can do: switching needs root, unless the process already runs as
// that user and group (systemd's User= with the same name in the config). nullopt when no user is set.
// Errors are ready to print ("server.user: no user \"headwater\" on this system").
Result<std::optional<Identity>, std::string> resolve_identity(const conf::ServerConfig& server);

// After every socket (DNS, NOTIFY, control) is bound: gives the state directory (recursively, never
// following symbolic links, skipping files with several hard links), the control socket, its directory
// when it is the private 0700 directory the server made, and the transfer log to the identity, then sets
// the supplementary groups to the one group, the group and the user (real, effective and saved), forbids
// gaining privileges again (PR_SET_NO_NEW_PRIVS) and checks that it worked: root cannot be regained
// (setuid(0) fails), no capability is left, and the state directory is writable. A no-op (Ok) when no
// user is configured or the process already is the identity.
Result<void, std::string> drop_privileges(const conf::ServerConfig& server);

// The process's effective capabilities from /proc/self/status (CapEff), 0 when none; for the checks
// above and the tests.
uint64_t effective_capabilities();

}  // namespace headwater::server
