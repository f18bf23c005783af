// headwater: the hidden-primary DNS server.
#include <cstdio>
#include <filesystem>

#include <malloc.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "conf/ConfigLoader.h"
#include "server/Privileges.h"
#include "server/Server.h"

namespace {

// glibc adapts its mmap threshold to the largest block freed so far (up to 32 MiB), and its trim threshold
// to twice that. A zone that dynamic updates grow gets a version a little larger than the last every
// time: each one then missed the threshold, was mapped afresh, faulted in page by page and unmapped
// again (two thirds of the server's time in a burst of updates to a 15,000-record zone, and half the
// update rate). Fixed at what the adaptation ends at for large zones, versions of up to 32 MiB reuse the
// heap; the large loads and control answers still hand memory back with malloc_trim.
void tune_allocator() {
    (void)mallopt(M_MMAP_THRESHOLD, 32 << 20);
    (void)mallopt(M_TRIM_THRESHOLD, 64 << 20);
}

int run(int argc, char** argv) {
    tune_allocator();
    CLI::App app{"headwater: a hidden-primary authoritative DNS server (AXFR, IXFR, TSIG, NOTIFY)"};
    std::filesystem::path config_file;
    std::filesystem::path check_file;
    app.add_option("-c,--config", config_file, "serve with this TOML config file");
    app.add_option("--check-config", check_file, "check this config and its zones, then exit");
    bool version = false;
    app.add_flag("--version", version, "print the version and exit");
    CLI11_PARSE(app, argc, argv);

    if (version) {
        std::printf("headwater 0.1.0\n");
        return 0;
    }
    if (!check_file.empty()) return headwater::server::check_config(check_file);
    if (config_file.empty()) {
        std::fprintf(stderr, "headwater: --config FILE is required (or --check-config FILE)\n%s",
                     app.help().c_str());
        return 2;
    }

    auto logger = spdlog::stderr_color_mt("headwater");
    spdlog::set_default_logger(logger);
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

    auto cfg = headwater::conf::load_config(config_file);
    if (!cfg) {
        std::fprintf(stderr, "%s\n", cfg.error().message.c_str());
        return 1;
    }
    spdlog::set_level(spdlog::level::from_str(cfg->server.log_level));
    // Before anything is loaded or bound: a user that does not exist (or cannot be switched to) is a
    // configuration error, not something to find out after binding port 53.
    if (auto id = headwater::server::resolve_identity(cfg->server); !id) {
        spdlog::critical("{}", id.error());
        return 1;
    }
    const uint64_t fds = headwater::server::prepare_process();
    if (fds < uint64_t{cfg->server.tcp_max_connections} + 64)
        spdlog::warn("only {} file descriptors allowed (ulimit -n); tcp_max_connections = {} needs more", fds,
                     cfg->server.tcp_max_connections);
    auto server = headwater::server::Server::create(std::move(*cfg));
    if (!server) {
        spdlog::critical("{}", server.error());
        return 1;
    }
    return (*server)->run();
}

}  // namespace

int main(int argc, char** argv) {
    // Expected failures are values; an exception reaching here is a bug, reported rather than aborting.
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "headwater: internal error: %s\n", e.what());
        return 70;  // EX_SOFTWARE
    }
}
