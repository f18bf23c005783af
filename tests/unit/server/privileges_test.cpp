// server.user / server.group resolution and the process set-up (server/Privileges.h). The switch itself
// is irreversible, so tests/system/test_privileges.py checks it on a real server.
#include "server/Privileges.h"

#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <string>

namespace headwater::server {
namespace {

conf::ServerConfig with_user(std::string user, std::string group = {}) {
    conf::ServerConfig s;
    s.user = std::move(user);
    s.group = std::move(group);
    return s;
}

bool have_nobody() {
    return ::getpwnam("nobody") != nullptr;
}

TEST(PrivilegesTest, NoUserMeansNoSwitch) {
    auto id = resolve_identity(conf::ServerConfig{});
    ASSERT_TRUE(id) << id.error();
    EXPECT_FALSE(id->has_value());
}

TEST(PrivilegesTest, UnknownUserOrGroupIsAClearError) {
    auto id = resolve_identity(with_user("hw-no-such-user-x"));
    ASSERT_FALSE(id);
    EXPECT_EQ(id.error(), "server.user: no user \"hw-no-such-user-x\" on this system");
    if (!have_nobody()) GTEST_SKIP() << "no 'nobody' account";
    id = resolve_identity(with_user("nobody", "hw-no-such-group-x"));
    ASSERT_FALSE(id);
    EXPECT_EQ(id.error(), "server.group: no group \"hw-no-such-group-x\" on this system");
}

TEST(PrivilegesTest, NumericIdsBeyondTheIdTypeAreNoUser) {
    // 2^32 + 1 must not wrap to uid 1 (daemon), and 23 digits must not throw.
    for (const std::string user : {"4294967297", "99999999999999999999999"}) {
        auto id = resolve_identity(with_user(user));
        ASSERT_FALSE(id) << user;
        EXPECT_EQ(id.error(), "server.user: no user \"" + user + "\" on this system");
    }
    if (!have_nobody()) GTEST_SKIP() << "no 'nobody' account";
    auto id = resolve_identity(with_user("nobody", "4294967296"));  // would wrap to gid 0
    ASSERT_FALSE(id);
    EXPECT_EQ(id.error(), "server.group: no group \"4294967296\" on this system");
}

TEST(PrivilegesTest, RootIsNotAnUnprivilegedUser) {
    auto id = resolve_identity(with_user("root"));
    ASSERT_FALSE(id);
    EXPECT_NE(id.error().find("is root"), std::string::npos) << id.error();
    id = resolve_identity(with_user("0"));
    ASSERT_FALSE(id);
    EXPECT_NE(id.error().find("is root"), std::string::npos) << id.error();
}

TEST(PrivilegesTest, NamesAndNumbersResolve) {
    if (!have_nobody()) GTEST_SKIP() << "no 'nobody' account";
    const passwd* pw = ::getpwnam("nobody");
    const uid_t uid = pw->pw_uid;
    const gid_t gid = pw->pw_gid;
    if (::geteuid() != 0 && ::geteuid() != uid) {
        // Only root may switch: the reason says so.
        auto id = resolve_identity(with_user("nobody"));
        ASSERT_FALSE(id);
        EXPECT_NE(id.error().find("only root can switch"), std::string::npos) << id.error();
        return;
    }
    auto id = resolve_identity(with_user("nobody"));
    ASSERT_TRUE(id) << id.error();
    ASSERT_TRUE(id->has_value());
    EXPECT_EQ((*id)->user, "nobody");
    EXPECT_EQ((*id)->uid, uid);
    EXPECT_EQ((*id)->gid, gid);  // the user's primary group by default
    EXPECT_FALSE((*id)->group.empty());

    auto by_number = resolve_identity(with_user(std::to_string(uid), std::to_string(gid)));
    ASSERT_TRUE(by_number) << by_number.error();
    EXPECT_EQ((*by_number)->user, "nobody");
    EXPECT_EQ((*by_number)->uid, uid);
    EXPECT_EQ((*by_number)->gid, gid);
}

TEST(PrivilegesTest, PrepareProcessIgnoresSigxfszAndRaisesTheDescriptorLimit) {
    rlimit before{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &before), 0);
    const uint64_t soft = prepare_process();
    rlimit after{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &after), 0);
    EXPECT_EQ(after.rlim_cur, before.rlim_max);  // soft raised to the hard limit
    EXPECT_EQ(static_cast<rlim_t>(soft), after.rlim_cur);
    struct sigaction sa {};
    ASSERT_EQ(::sigaction(SIGXFSZ, nullptr, &sa), 0);
    EXPECT_EQ(sa.sa_handler, SIG_IGN);
    ASSERT_EQ(::sigaction(SIGPIPE, nullptr, &sa), 0);
    EXPECT_EQ(sa.sa_handler, SIG_IGN);
}

TEST(PrivilegesTest, CapabilitiesAreReadFromProc) {
    const uint64_t caps = effective_capabilities();
    EXPECT_NE(caps, UINT64_MAX);  // /proc/self/status has CapEff
    if (::geteuid() != 0) {
        EXPECT_EQ(caps, 0u);
    }
}

}  // namespace
}  // namespace headwater::server
