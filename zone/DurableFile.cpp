#include "zone/DurableFile.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "zone/base/ErrnoText.h"

namespace headwater::zone {

std::string io_error_text(const std::string& what, const std::filesystem::path& p) {
    return what + " " + p.string() + ": " + errno_text(errno);
}

Result<void, std::string> sync_directory(const std::filesystem::path& dir) {
    const std::filesystem::path d = dir.empty() ? std::filesystem::path(".") : dir;
    const int fd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return unexpected(io_error_text("cannot open directory", d));
    const int rc = ::fsync(fd);
    const int saved = errno;
    ::close(fd);
    if (rc != 0) {
        errno = saved;
        return unexpected(io_error_text("cannot fsync directory", d));
    }
    return {};
}

Result<void, std::string> commit_temp_file(int fd, const std::filesystem::path& tmp,
                                           const std::filesystem::path& target, Sync sync) {
    if (sync == Sync::Durable && ::fsync(fd) != 0) {
        const std::string message = io_error_text("cannot fsync", tmp);
        ::close(fd);
        ::unlink(tmp.c_str());
        return unexpected(message);
    }
    if (::close(fd) != 0) {
        const std::string message = io_error_text("cannot close", tmp);
        ::unlink(tmp.c_str());
        return unexpected(message);
    }
    if (::rename(tmp.c_str(), target.c_str()) != 0) {
        const std::string message = io_error_text("cannot rename " + tmp.string() + " to", target);
        ::unlink(tmp.c_str());
        return unexpected(message);
    }
    if (sync == Sync::Lazy) return {};
    return sync_directory(target.parent_path());
}

Result<void, std::string> sync_file(const std::filesystem::path& file) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return unexpected(io_error_text("cannot open", file));
    const bool synced = ::fsync(fd) == 0;
    const std::string message = synced ? std::string() : io_error_text("cannot fsync", file);
    ::close(fd);
    if (!synced) return unexpected(message);
    return sync_directory(file.parent_path());
}

TempFile::TempFile(int fd, std::filesystem::path tmp, std::filesystem::path target)
    : fd_(fd), tmp_(std::move(tmp)), target_(std::move(target)) {}

TempFile::TempFile(TempFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), tmp_(std::move(other.tmp_)), target_(std::move(other.target_)) {}

TempFile::~TempFile() {
    if (fd_ < 0) return;
    ::close(fd_);
    ::unlink(tmp_.c_str());
}

Result<TempFile, std::string> TempFile::create(std::filesystem::path target, const std::string& suffix,
                                               unsigned mode) {
    std::filesystem::path tmp = target;
    tmp += suffix;
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) return unexpected(io_error_text("cannot create", tmp));
    return TempFile(fd, std::move(tmp), std::move(target));
}

Result<void, std::string> TempFile::commit(Sync sync) {
    // commit_temp_file closes the descriptor and removes the file on failure: nothing is left to discard.
    return commit_temp_file(std::exchange(fd_, -1), tmp_, target_, sync);
}

Result<void, std::string> write_file_atomically(const std::filesystem::path& target,
                                                std::span<const uint8_t> data, unsigned mode) {
    auto tmp = TempFile::create(target, ".headwater-tmp", mode);
    if (!tmp) return unexpected(tmp.error());
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(tmp->fd(), data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return unexpected(io_error_text("cannot write", tmp->path()));
        done += static_cast<std::size_t>(n);
    }
    return tmp->commit();
}

}  // namespace headwater::zone
