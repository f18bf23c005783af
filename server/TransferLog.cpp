#include "server/TransferLog.h"
#include "zone/base/ErrnoText.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <system_error>

namespace headwater::server {

namespace {}  // namespace

TransferLog::~TransferLog() {
    close();
}

Result<void, std::string> TransferLog::open(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) return unexpected("cannot open transfer log " + path.string() + ": " + errno_text(errno));
    std::lock_guard lock(mutex_);
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
    path_ = path;
    lines_ = 0;
    errors_ = 0;
    return {};
}

void TransferLog::close() {
    std::lock_guard lock(mutex_);
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

bool TransferLog::is_open() const {
    std::lock_guard lock(mutex_);
    return fd_ >= 0;
}

Result<void, std::string> TransferLog::write(const nlohmann::json& event) {
    std::string line = event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    line += '\n';
    std::lock_guard lock(mutex_);
    if (fd_ < 0) return {};
    // One write(2) per line: with O_APPEND the kernel places it at the end in one piece. A short write
    // (disk full, a signal) is finished with further writes; still under the mutex, so still one line.
    std::size_t done = 0;
    while (done < line.size()) {
        const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            ++errors_;
            return unexpected("cannot write transfer log " + path_.string() + ": " +
                              (n < 0 ? errno_text(errno) : std::string("nothing written")));
        }
    }
    ++lines_;
    return {};
}

std::size_t TransferLog::lines() const {
    std::lock_guard lock(mutex_);
    return lines_;
}

std::size_t TransferLog::errors() const {
    std::lock_guard lock(mutex_);
    return errors_;
}

std::string format_time_ms(std::chrono::system_clock::time_point t) {
    const auto ms = std::chrono::time_point_cast<std::chrono::milliseconds>(t);
    auto secs = std::chrono::time_point_cast<std::chrono::seconds>(ms);
    if (secs > ms) secs -= std::chrono::seconds(1);  // before 1970: round towards the past
    const auto frac = (ms - secs).count();
    const std::time_t tt = std::chrono::system_clock::to_time_t(secs);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[40];
    const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(frac));
    return buf;
}

nlohmann::json log_event(std::string_view kind, std::chrono::system_clock::time_point at) {
    return {{"time", format_time_ms(at)}, {"event", std::string(kind)}};
}

}  // namespace headwater::server
