// Shared by the conf tests: a fresh directory per test holding the config's zone files (removed
// afterwards), parse/error helpers that report positions as "<config path>:<line>:<column>: ", and
// EXPECT_CONTAINS for error messages that list several problems.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>

#include "conf/ConfigLoader.h"

namespace headwater::conf::test_support {

class ConfigFileTest : public ::testing::Test {
  protected:
    void SetUp() override {
        static std::atomic<unsigned> counter{0};
        dir_ = std::filesystem::temp_directory_path() /
               ("headwater-conf-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
                std::to_string(std::random_device{}()));
        std::filesystem::create_directories(dir_ / "zones");
        write("zones/example.com.zone", "; zone data is not read by the config loader\n");
        write("zones/example.net.zone", "");
        config_path_ = dir_ / "headwater.toml";
    }
    void TearDown() override {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    void write(const std::filesystem::path& relative, std::string_view text) {
        std::ofstream out(dir_ / relative, std::ios::binary);
        out << text;
    }

    // The whole config file for a test's `text`; a fixture whose tests give only part of it wraps it here.
    virtual std::string document(std::string_view text) const { return std::string(text); }

    Result<Config, ConfigError> parse(std::string_view text) {
        return parse_config(document(text), config_path_);
    }

    // The error message for text that must not load.
    std::string error_of(std::string_view text) {
        auto result = parse(text);
        EXPECT_FALSE(result.has_value()) << "loaded:\n" << document(text);
        return result ? std::string() : result.error().message;
    }

    // "<config path>:<line>:<column>: <rest>"
    std::string at(int line, int column, std::string_view rest) const {
        return config_path_.string() + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " +
               std::string(rest);
    }

    std::filesystem::path dir_;
    std::filesystem::path config_path_;
};

// Whether an error message holds `needle`; the failure shows both.
inline ::testing::AssertionResult contains(std::string_view haystack, std::string_view needle) {
    if (haystack.find(needle) != std::string_view::npos) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "expected to find\n  " << needle << "\nin\n  " << haystack;
}

}  // namespace headwater::conf::test_support

#define EXPECT_CONTAINS(haystack, needle) \
    EXPECT_TRUE(::headwater::conf::test_support::contains((haystack), (needle)))
