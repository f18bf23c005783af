// DNSSEC keys in BIND's file format, the one BIND's dnssec-keygen, ldns-keygen and Knot's keymgr
// (import-bind) share: `K<zone>.+<alg>+<tag>.key` holds the DNSKEY record in master-file form,
// `K<zone>.+<alg>+<tag>.private` the private key ("Private-key-format: v1.3", "Algorithm: 13
// (ECDSAP256SHA256)", "PrivateKey: <base64>", ... and timing lines). Keeping our own keys in this format
// means a key moves from or to those tools by copying two files, and the DS at the parent stays.
#pragma once

#include <cstdint>
#include <ctime>
#include <filesystem>
#include <string>
#include <string_view>

#include "zone/base/Result.h"
#include "zone/dns/Name.h"
#include "zone/sign/DnssecKey.h"
#include "zone/sign/KeyTiming.h"

namespace headwater::sign {

// "Kexample.com.+013+12345" (no extension), as BIND names the pair.
std::string key_file_base(dns::NameView zone, const DnssecKey& key);

// The .key file's text: comment lines, then "<zone>. <ttl> IN DNSKEY <flags> 3 <alg> <base64>".
std::string public_key_text(dns::NameView zone, const DnssecKey& key, uint32_t ttl, std::time_t created);
// The .private file's text (v1.3), with the timing lines `timing` has.
std::string private_key_text(const DnssecKey& key, const KeyTiming& timing);
// The timing of a key generated at `created` to be used at once: Created, Publish and Activate.
KeyTiming active_from(std::time_t created);

// A key read from its two files' texts: the DNSKEY must be for `zone` and its algorithm one we sign with;
// the private fields must match the public key. Errors name what is wrong ("Kx.+013+1.private: ...").
struct LoadedKey {
    DnssecKey key;
    KeyTiming timing;  // from the .private file's timing lines
};
Result<LoadedKey, std::string> parse_key_files(dns::NameView zone, std::string_view public_text,
                                               std::string_view private_text);
// The same from `<base>.key` and `<base>.private` (`base` may also name either file).
Result<LoadedKey, std::string> read_key_files(dns::NameView zone, const std::filesystem::path& base);

// DNSKEY records of `zone`, one per line ("<zone> [TTL] [IN] DNSKEY <flags> 3 <alg> <base64>", as a
// .key file or `dig +short`-free `dig DNSKEY` output has them; `;` starts a comment): their RDATAs. The
// algorithm must be one Headwater knows; errors name the line.
Result<std::vector<std::vector<uint8_t>>, std::string> parse_dnskey_lines(dns::NameView zone,
                                                                          std::string_view text);

// Writes both files into `dir` (the .private one readable by its owner only, written before the public
// one, each atomically). Returns the base path.
Result<std::filesystem::path, std::string> write_key_files(const std::filesystem::path& dir,
                                                           dns::NameView zone, const DnssecKey& key,
                                                           uint32_t ttl, const KeyTiming& timing);
// Rewrites the .private file of the pair `base` (as write_key_files returned it) with new timing lines,
// atomically: a rollover step is on disk before the signer acts on it.
Result<void, std::string> write_key_timing(const std::filesystem::path& base, const DnssecKey& key,
                                           const KeyTiming& timing);

}  // namespace headwater::sign
