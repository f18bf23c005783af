#include "zone/DurableFile.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace headwater;

namespace {

class DurableFileTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("hw-durable-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    static std::string read(const std::filesystem::path& p) {
        std::ifstream in(p, std::ios::binary);
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }
    static void write(int fd, std::string_view text) {
        ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    }

    std::filesystem::path dir_;
};

TEST_F(DurableFileTest, CommitReplacesTheTarget) {
    const auto target = dir_ / "file";
    std::ofstream(target) << "old";
    auto tmp = zone::TempFile::create(target, ".tmp", 0644);
    ASSERT_TRUE(tmp) << tmp.error();
    EXPECT_EQ(tmp->path(), dir_ / "file.tmp");
    write(tmp->fd(), "new");
    ASSERT_TRUE(tmp->commit());
    EXPECT_EQ(read(target), "new");
    EXPECT_FALSE(std::filesystem::exists(dir_ / "file.tmp"));
}

TEST_F(DurableFileTest, ATempFileNotCommittedIsRemovedAndTheTargetKept) {
    const auto target = dir_ / "file";
    std::ofstream(target) << "old";
    {
        auto tmp = zone::TempFile::create(target, ".tmp", 0644);
        ASSERT_TRUE(tmp) << tmp.error();
        write(tmp->fd(), "half");
        EXPECT_TRUE(std::filesystem::exists(tmp->path()));
    }
    EXPECT_EQ(read(target), "old");
    EXPECT_FALSE(std::filesystem::exists(dir_ / "file.tmp"));
}

TEST_F(DurableFileTest, CreateFailsInAMissingDirectory) {
    auto tmp = zone::TempFile::create(dir_ / "missing" / "file", ".tmp", 0644);
    ASSERT_FALSE(tmp);
    EXPECT_NE(tmp.error().find("cannot create"), std::string::npos) << tmp.error();
}

TEST_F(DurableFileTest, WriteFileAtomically) {
    const auto target = dir_ / "file";
    const std::string text = "serial 2024010101\n";
    ASSERT_TRUE(zone::write_file_atomically(
        target, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()), 0644));
    EXPECT_EQ(read(target), text);
    EXPECT_FALSE(std::filesystem::exists(dir_ / "file.headwater-tmp"));
}

}  // namespace
