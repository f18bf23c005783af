#include "server/Privileges.h"
#include "zone/base/ErrnoText.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>
#include <fstream>
#include <vector>

#include <spdlog/spdlog.h>

namespace headwater::server {

namespace {

bool all_digits(const std::string& s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

// The id written in `digits` (all_digits); nullopt beyond the id type, never truncated ("4294967297"
// must not become uid 1, nor 21 digits an exception).
template <class Id>
std::optional<Id> numeric_id(const std::string& digits) {
    Id id{};
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
    if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
    return id;
}

// Already running as the identity (real and effective ids): nothing to switch.
bool runs_as(const Identity& id) {
    return ::getuid() == id.uid && ::geteuid() == id.uid && ::getgid() == id.gid && ::getegid() == id.gid;
}

// getpwnam_r/getgrnam_r want a caller buffer; sysconf may say "no limit" (-1).
std::vector<char> lookup_buffer(int which) {
    const long n = ::sysconf(which);
    return std::vector<char>(n > 0 ? static_cast<std::size_t>(n) : 16384);
}

std::optional<passwd> find_user(const std::string& name, std::vector<char>& buf) {
    passwd pw{};
    passwd* found = nullptr;
    int rc = 0;
    if (all_digits(name)) {
        const auto uid = numeric_id<uid_t>(name);
        if (!uid) return std::nullopt;
        rc = ::getpwuid_r(*uid, &pw, buf.data(), buf.size(), &found);
    } else {
        rc = ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
    }
    if (rc != 0 || found == nullptr) return std::nullopt;
    return pw;
}

std::optional<group> find_group(const std::string& name, std::vector<char>& buf) {
    group gr{};
    group* found = nullptr;
    int rc = 0;
    if (all_digits(name)) {
        const auto gid = numeric_id<gid_t>(name);
        if (!gid) return std::nullopt;
        rc = ::getgrgid_r(*gid, &gr, buf.data(), buf.size(), &found);
    } else {
        rc = ::getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &found);
    }
    if (rc != 0 || found == nullptr) return std::nullopt;
    return gr;
}

// Gives the open file `fd` to the identity unless it already has it.
Result<void, std::string> give(int fd, const struct stat& st, const Identity& id, const std::string& shown) {
    if (st.st_uid == id.uid && st.st_gid == id.gid) return {};
    if (::fchown(fd, id.uid, id.gid) != 0)
        return unexpected("cannot give " + shown + " to " + id.user + ": " + errno_text(errno));
    return {};
}

// Gives the directory open as `dir` and everything below it to the identity. openat with O_NOFOLLOW and
// fchown on what was opened: a symbolic link planted in the state directory (which the unprivileged user
// can write) never makes root chown its target; a file with several hard links may be a link to a file
// elsewhere, so it is left alone (and reported).
Result<void, std::string> give_tree(int dir, const std::string& shown, const Identity& id, int depth) {
    struct stat st {};
    if (::fstat(dir, &st) != 0) return unexpected("cannot stat " + shown + ": " + errno_text(errno));
    if (auto r = give(dir, st, id, shown); !r) return r;
    if (depth > 16) return {};  // the server makes state_dir/zones only; deeper is not ours
    const int list_fd = ::dup(dir);
    if (list_fd < 0) return unexpected("cannot read " + shown + ": " + errno_text(errno));
    DIR* d = ::fdopendir(list_fd);
    if (d == nullptr) {
        ::close(list_fd);
        return unexpected("cannot read " + shown + ": " + errno_text(errno));
    }
    Result<void, std::string> result;
    while (const dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        std::string child = shown;
        child += '/';
        child += name;
        const int fd = ::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
            // ELOOP: a symbolic link (left alone); anything else vanished or is not ours to open.
            if (errno != ELOOP && errno != ENOENT)
                spdlog::warn("user switch: leaving {} as it is: {}", child, errno_text(errno));
            continue;
        }
        struct stat cst {};
        if (::fstat(fd, &cst) == 0) {
            if (S_ISDIR(cst.st_mode)) {
                result = give_tree(fd, child, id, depth + 1);
            } else if (S_ISREG(cst.st_mode) && cst.st_nlink == 1) {
                result = give(fd, cst, id, child);
            } else if (S_ISREG(cst.st_mode)) {
                spdlog::warn("user switch: leaving {} as it is: it has {} hard links", child, cst.st_nlink);
            }
        }
        ::close(fd);
        if (!result) break;
    }
    ::closedir(d);
    return result;
}

Result<void, std::string> give_state_dir(const std::filesystem::path& dir, const Identity& id) {
    // The directory itself is the operator's choice (it may be a link); below it nothing is followed.
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return {};  // made later by the zones, as the user
        return unexpected("cannot open state_dir " + dir.string() + ": " + errno_text(errno));
    }
    auto r = give_tree(fd, dir.string(), id, 0);
    ::close(fd);
    return r;
}

// The control socket, and its directory when that is the private one ControlServer makes (root's, mode
// 0700): the user must be able to remove the socket at exit and its headwaterctl to connect. A shared
// directory such as /run is never touched.
Result<void, std::string> give_control_socket(const std::filesystem::path& socket, const Identity& id) {
    if (::fchownat(AT_FDCWD, socket.c_str(), id.uid, id.gid, AT_SYMLINK_NOFOLLOW) != 0)
        return unexpected("cannot give control socket " + socket.string() + " to " + id.user + ": " +
                          errno_text(errno));
    const auto parent = socket.parent_path();
    struct stat st {};
    if (parent.empty() || ::lstat(parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return {};
    if (st.st_uid == 0 && (st.st_mode & 07777) == S_IRWXU &&
        ::fchownat(AT_FDCWD, parent.c_str(), id.uid, id.gid, AT_SYMLINK_NOFOLLOW) != 0)
        return unexpected("cannot give " + parent.string() + " to " + id.user + ": " + errno_text(errno));
    return {};
}

Result<void, std::string> give_file(const std::filesystem::path& file, const Identity& id) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return {};  // not there (yet), or a link: left alone
    struct stat st {};
    Result<void, std::string> r;
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1) r = give(fd, st, id, file.string());
    ::close(fd);
    return r;
}

}  // namespace

uint64_t prepare_process() {
    std::signal(SIGPIPE, SIG_IGN);
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
    if (rl.rlim_cur < rl.rlim_max) {
        const rlim_t before = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) rl.rlim_cur = before;
    }
    return rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : static_cast<uint64_t>(rl.rlim_cur);
}

Result<std::optional<Identity>, std::string> resolve_identity(const conf::ServerConfig& server) {
    if (server.user.empty()) return std::optional<Identity>();
    auto pw_buf = lookup_buffer(_SC_GETPW_R_SIZE_MAX);
    auto user = find_user(server.user, pw_buf);
    if (!user) return unexpected("server.user: no user \"" + server.user + "\" on this system");
    Identity id;
    id.user = user->pw_name;
    id.uid = user->pw_uid;
    id.gid = user->pw_gid;
    auto gr_buf = lookup_buffer(_SC_GETGR_R_SIZE_MAX);
    if (!server.group.empty()) {
        auto gr = find_group(server.group, gr_buf);
        if (!gr) return unexpected("server.group: no group \"" + server.group + "\" on this system");
        id.gid = gr->gr_gid;
        id.group = gr->gr_name;
    } else if (auto gr = find_group(std::to_string(id.gid), gr_buf)) {
        id.group = gr->gr_name;
    } else {
        id.group = std::to_string(id.gid);
    }
    if (id.uid == 0)
        return unexpected("server.user: \"" + server.user +
                          "\" is root; name an unprivileged user (or leave server.user out)");
    if (!runs_as(id) && ::geteuid() != 0)
        return unexpected("server.user: cannot switch to " + id.user + " (uid " + std::to_string(id.uid) +
                          "): running as uid " + std::to_string(::geteuid()) +
                          ", and only root can switch; start as root or as " + id.user);
    return std::optional<Identity>(std::move(id));
}

uint64_t effective_capabilities() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("CapEff:", 0) != 0) continue;
        try {
            return std::stoull(line.substr(7), nullptr, 16);
        } catch (const std::exception&) {
            return UINT64_MAX;
        }
    }
    return UINT64_MAX;  // unknown counts as "not dropped"
}

Result<void, std::string> drop_privileges(const conf::ServerConfig& server) {
    auto resolved = resolve_identity(server);
    if (!resolved) return unexpected(resolved.error());
    if (!*resolved) return {};
    const Identity& id = **resolved;
    if (runs_as(id)) {
        spdlog::info("running as user {} (uid {}) and group {} (gid {}) already", id.user, id.uid, id.group,
                     id.gid);
        return {};
    }

    // Everything the server writes from now on must be the user's.
    if (auto r = give_state_dir(server.state_dir, id); !r) return r;
    if (auto r = give_control_socket(server.control_socket, id); !r) return r;
    if (!server.transfer_log.empty()) {
        if (auto r = give_file(server.transfer_log, id); !r) return r;
    }

    // Groups before the user: once the uid is not 0, the groups cannot be changed any more.
    const gid_t groups[] = {id.gid};
    if (::setgroups(1, groups) != 0) return unexpected("setgroups: " + errno_text(errno));
    if (::setresgid(id.gid, id.gid, id.gid) != 0)
        return unexpected("cannot switch to group " + id.group + ": " + errno_text(errno));
    if (::setresuid(id.uid, id.uid, id.uid) != 0)
        return unexpected("cannot switch to user " + id.user + ": " + errno_text(errno));
    (void)::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);

    // Trust, but verify: a partial switch would be worse than none.
    uid_t ru = 0, eu = 0, su = 0;
    gid_t rg = 0, eg = 0, sg = 0;
    if (::getresuid(&ru, &eu, &su) != 0 || ::getresgid(&rg, &eg, &sg) != 0 || ru != id.uid || eu != id.uid ||
        su != id.uid || rg != id.gid || eg != id.gid || sg != id.gid)
        return unexpected("the switch to " + id.user + " did not take");
    if (::setuid(0) == 0 || ::seteuid(0) == 0) return unexpected("root could be regained after the switch");
    if (const uint64_t caps = effective_capabilities(); caps != 0)
        return unexpected("capabilities left after the switch (CapEff " + std::to_string(caps) + ")");
    if (::access(server.state_dir.c_str(), W_OK | X_OK) != 0 && errno != ENOENT)
        return unexpected("state_dir " + server.state_dir.string() + " is not writable by " + id.user + ": " +
                          errno_text(errno) + " (its parent directories must let " + id.user + " through)");
    spdlog::info("running as user {} (uid {}) and group {} (gid {}); root cannot be regained", id.user,
                 id.uid, id.group, id.gid);
    return {};
}

}  // namespace headwater::server
