// Lab mode's fault model: the text syntax, who a fault is aimed at, and what the faults of one request
// add up to (the pacing and the cut of a stream included).
#include <gtest/gtest.h>

#include "xfr/Fault.h"
#include "xfr/FaultSet.h"

namespace headwater::xfr {
namespace {

dns::IpAddress ip(const char* text) {
    return *dns::IpAddress::parse(text);
}

Fault fault(const char* text) {
    auto f = parse_fault(text);
    EXPECT_TRUE(f.has_value()) << text << ": " << (f ? "" : f.error());
    return f ? *f : Fault{};
}

TEST(Fault, EveryKindReadsBackItsOwnText) {
    const char* samples[] = {
        "delay 2s",       "rate 5000",         "stall 3 10s",      "records 1",
        "ixfr-as-axfr",   "ixfr-uncondensed",  "ixfr-condensed",   "cut-messages 3 reset",
        "cut-bytes 4096", "rcode notimp ixfr", "wrong-mac 7",      "sign-every 5",
        "badtime",        "no-notify",         "notify-serial 42", "soa-tc",
        "drop-soa"};
    ASSERT_EQ(std::size(samples), fault_kinds().size());
    for (const char* s : samples) {
        const Fault f = fault(s);
        auto again = parse_fault(f.text());
        ASSERT_TRUE(again.has_value()) << f.text();
        EXPECT_EQ(again->text(), f.text());
        EXPECT_EQ(again->kind, f.kind);
    }
}

TEST(Fault, ArgumentsAreRead) {
    EXPECT_EQ(fault("delay 250ms").ms, 250u);
    EXPECT_EQ(fault("delay 2").ms, 2000u);
    EXPECT_EQ(fault("DELAY 1m").ms, 60000u);
    EXPECT_EQ(fault("delay 1m30s").ms, 90000u);  // the config's duration syntax, combinations too
    const Fault stall = fault("stall 3");
    EXPECT_EQ(stall.number, 3u);
    EXPECT_EQ(stall.ms, 3600u * 1000);
    EXPECT_FALSE(fault("cut-messages 3").reset);
    EXPECT_TRUE(fault("cut-bytes 10 reset").reset);
    EXPECT_EQ(fault("rcode REFUSED").rcode, dns::Rcode::Refused);
    EXPECT_EQ(fault("rcode servfail").rcode, dns::Rcode::ServFail);
    EXPECT_FALSE(fault("rcode servfail").only);
    EXPECT_EQ(fault("rcode notimp IXFR").only, dns::RRType::IXFR);
    EXPECT_EQ(fault("rcode notimp ixfr").text(), "rcode notimp ixfr");
    EXPECT_EQ(fault("records 65535").number, 65535u);
}

TEST(Fault, BadInputGetsAClearError) {
    auto unknown = parse_fault("explode");
    ASSERT_FALSE(unknown);
    EXPECT_NE(unknown.error().find("unknown fault \"explode\""), std::string::npos);
    EXPECT_NE(unknown.error().find("cut-messages"), std::string::npos);  // lists the known ones

    auto missing = parse_fault("delay");
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().find("usage: delay DURATION"), std::string::npos);

    auto bad_duration = parse_fault("delay 5x");
    ASSERT_FALSE(bad_duration);
    EXPECT_NE(bad_duration.error().find("\"5x\" is not a duration (use 250ms, 2s, 5m, 1h, 1d)"),
              std::string::npos)
        << bad_duration.error();
    EXPECT_FALSE(parse_fault("delay 30s1m"));  // units from the largest down, as in the config
    EXPECT_FALSE(parse_fault("records 0"));
    EXPECT_FALSE(parse_fault("records 65536"));
    EXPECT_FALSE(parse_fault("sign-every 101"));
    EXPECT_FALSE(parse_fault("rcode nxdomain"));
    EXPECT_FALSE(parse_fault("rcode notimp soa"));
    EXPECT_FALSE(parse_fault("cut-messages 3 slam"));
    EXPECT_FALSE(parse_fault("badtime now"));
    EXPECT_FALSE(parse_fault(""));
}

TEST(FaultPeer, AddressKeyOrAny) {
    auto a = FaultPeer::parse("127.0.0.2");
    ASSERT_TRUE(a);
    EXPECT_TRUE(a->matches(ip("127.0.0.2"), "-"));
    EXPECT_TRUE(a->matches(ip("::ffff:127.0.0.2"), "-"));  // a dual-stack socket's view of the same peer
    EXPECT_FALSE(a->matches(ip("127.0.0.3"), "-"));

    auto k = FaultPeer::parse("XFR-Key");
    ASSERT_TRUE(k);
    EXPECT_EQ(k->text(), "xfr-key.");
    EXPECT_TRUE(k->matches(ip("127.0.0.9"), "xfr-key."));
    EXPECT_TRUE(k->matches(ip("127.0.0.9"), "XFR-KEY."));
    EXPECT_FALSE(k->matches(ip("127.0.0.9"), "-"));
    EXPECT_FALSE(k->matches(ip("127.0.0.9"), "other."));

    auto any = FaultPeer::parse("*");
    ASSERT_TRUE(any);
    EXPECT_TRUE(any->matches(ip("::1"), "-"));

    EXPECT_FALSE(FaultPeer::parse(""));
    EXPECT_FALSE(FaultPeer::parse("10.0.0.0/8"));
}

FaultEntry entry(const char* zone, const char* peer, const char* text) {
    return FaultEntry{zone, *FaultPeer::parse(peer), fault(text), 0};
}

TEST(FaultSet, OnlyTheNamedZoneAndPeerAreAffected) {
    FaultSet set;
    set.set(entry("Example.COM", "127.0.0.2", "cut-messages 3"));
    set.set(entry("example.com.", "xfr-key", "rcode notimp"));

    const FaultPlan hit = set.plan("example.com.", ip("127.0.0.2"), "-");
    EXPECT_EQ(hit.cut_messages, 3u);
    EXPECT_FALSE(hit.rcode);
    EXPECT_EQ(hit.describe(), "lab: cut-messages 3 close");

    EXPECT_TRUE(set.plan("example.com.", ip("127.0.0.3"), "-").empty());  // another peer
    EXPECT_TRUE(set.plan("example.net.", ip("127.0.0.2"), "-").empty());  // another zone
    const FaultPlan by_key = set.plan("EXAMPLE.com", ip("127.0.0.3"), "xfr-key.");
    EXPECT_EQ(by_key.rcode, dns::Rcode::NotImp);
    EXPECT_FALSE(by_key.cut_messages);
}

TEST(FaultSet, SetReplacesTheSameKindAndClearSelects) {
    FaultSet set;
    set.set(entry("a.test", "127.0.0.2", "delay 1s"));
    set.set(entry("a.test", "127.0.0.2", "delay 5s"));  // replaces
    set.set(entry("a.test", "127.0.0.2", "soa-tc"));
    set.set(entry("a.test", "127.0.0.3", "drop-soa"));
    set.set(entry("b.test", "*", "no-notify"));
    ASSERT_EQ(set.entries().size(), 4u);
    EXPECT_EQ(set.plan("a.test", ip("127.0.0.2"), "-").delay_ms, 5000u);

    EXPECT_EQ(set.clear("a.test", FaultPeer::parse("127.0.0.2").value()), 2u);
    EXPECT_EQ(set.entries().size(), 2u);
    EXPECT_EQ(set.clear("nothing.test", std::nullopt), 0u);
    EXPECT_EQ(set.clear("", std::nullopt), 2u);
    EXPECT_TRUE(set.empty());
}

TEST(FaultPlan, PacingAndCut) {
    FaultPlan p;
    EXPECT_EQ(wait_before_message(p, 0, 0, 0), 0u);
    EXPECT_EQ(cut_after(p, 100, 1 << 20), StreamCut::None);
    EXPECT_FALSE(p.shapes_stream());

    p.add(fault("delay 2s"));
    p.add(fault("rate 1000"));
    p.add(fault("stall 4 30s"));
    p.add(fault("cut-bytes 5000 reset"));
    EXPECT_TRUE(p.shapes_stream());
    EXPECT_EQ(wait_before_message(p, 0, 0, 0), 2000u);       // the delay before the first message
    EXPECT_EQ(wait_before_message(p, 1, 1500, 2000), 0u);    // 1500 octets at 1000/s are due at 1.5 s
    EXPECT_EQ(wait_before_message(p, 2, 3000, 2100), 900u);  // due at 3 s, 2.1 s gone
    EXPECT_EQ(wait_before_message(p, 4, 0, 0), 30000u);      // the stall before the 5th message
    EXPECT_EQ(cut_after(p, 2, 4999), StreamCut::None);
    EXPECT_EQ(cut_after(p, 2, 5000), StreamCut::Reset);
    // The cut falls where the 5000th octet does, inside a message when it must.
    EXPECT_EQ(octets_before_cut(p, 0, 4000), 4000u);
    EXPECT_EQ(octets_before_cut(p, 4000, 1000), 1000u);  // ends exactly at the cut: whole
    EXPECT_EQ(octets_before_cut(p, 4000, 1500), 1000u);  // crosses it: the first 1000 octets only
    EXPECT_EQ(octets_before_cut(p, 5000, 10), 0u);

    FaultPlan m;
    m.add(fault("cut-messages 3"));
    EXPECT_EQ(cut_after(m, 2, 0), StreamCut::None);
    EXPECT_EQ(cut_after(m, 3, 0), StreamCut::Close);
    EXPECT_EQ(octets_before_cut(m, 1 << 20, 65535), 65535u);  // no cut-bytes: every octet
}

TEST(FaultBoard, ReplacesTheWholeSet) {
    FaultBoard board;
    EXPECT_TRUE(board.current()->empty());
    auto next = std::make_shared<FaultSet>();
    next->set(entry("a.test", "*", "badtime"));
    const auto before = board.current();
    board.replace(next);
    EXPECT_TRUE(before->empty());  // a reader keeps the set it took
    EXPECT_TRUE(board.current()->plan("a.test", ip("::1"), "-").badtime);
}

}  // namespace
}  // namespace headwater::xfr
