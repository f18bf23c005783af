// Small POSIX helpers for files that must survive a crash or power loss: the journal, snapshots and the
// in-place serial rewrite all write a temporary file and then commit it with fsync + rename + directory
// fsync, so a reader finds either the old file or the new one, never a mix.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "zone/base/Result.h"

namespace headwater::zone {

// "what path: <errno as text>" (errno_text).
std::string io_error_text(const std::string& what, const std::filesystem::path& p);

// fsync of a directory, so a rename or a new file in it survives a power loss.
Result<void, std::string> sync_directory(const std::filesystem::path& dir);

// How a commit ends. Durable: fsync before the rename and of the directory after it. Lazy: the rename
// alone, for a file whose loss in a crash costs nothing (a reader still finds the old file or the whole
// new one, or after a power loss a torn one, which it must detect); sync_file() makes it durable later.
enum class Sync { Durable, Lazy };

// Commits `tmp` (open as `fd`, fully written) as `target`: fsync, close, rename, directory fsync (`sync`
// Lazy: close and rename only). On any failure the temporary file is removed and `target` is untouched.
// `fd` is closed in every case.
Result<void, std::string> commit_temp_file(int fd, const std::filesystem::path& tmp,
                                           const std::filesystem::path& target, Sync sync = Sync::Durable);

// fsync of an existing file and of its directory: a file committed with Sync::Lazy made durable.
Result<void, std::string> sync_file(const std::filesystem::path& file);

// A temporary file next to `target`, being written: commit() makes it `target` (commit_temp_file); one
// dropped without a commit is closed and removed, so a failed write leaves `target` as it was.
class TempFile {
  public:
    // Creates (truncates) `target` + `suffix` with `mode`.
    static Result<TempFile, std::string> create(std::filesystem::path target, const std::string& suffix,
                                                unsigned mode);
    TempFile(TempFile&& other) noexcept;
    TempFile& operator=(TempFile&&) = delete;
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    ~TempFile();

    int fd() const { return fd_; }
    const std::filesystem::path& path() const { return tmp_; }
    // commit_temp_file() on this file; afterwards the object holds nothing, whatever the outcome.
    Result<void, std::string> commit(Sync sync = Sync::Durable);

  private:
    TempFile(int fd, std::filesystem::path tmp, std::filesystem::path target);
    int fd_;
    std::filesystem::path tmp_;
    std::filesystem::path target_;
};

// Writes `data` to `target` through a temporary file in the same directory, committed as above; the new
// file takes `mode`.
Result<void, std::string> write_file_atomically(const std::filesystem::path& target,
                                                std::span<const uint8_t> data, unsigned mode);

}  // namespace headwater::zone
