#include "zone/SerialRewrite.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "zone/DurableFile.h"

namespace headwater::zone {

Result<std::string, std::string> rewrite_soa_serial_text(std::string_view text, std::size_t line,
                                                         dns::Serial serial) {
    // Find the start of `line`.
    std::size_t pos = 0;
    for (std::size_t l = 1; l < line; ++l) {
        pos = text.find('\n', pos);
        if (pos == std::string_view::npos)
            return unexpected("line " + std::to_string(line) + " not in the file");
        ++pos;
    }
    // RFC 1035 §5.1 tokens: whitespace and parentheses separate, ';' starts a comment, quotes group.
    // The SOA's RDATA follows the type token: MNAME, RNAME, then SERIAL.
    int after_soa = -1;  // tokens seen after "SOA"
    while (pos < text.size()) {
        const char c = text[pos];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '(' || c == ')') {
            ++pos;
            continue;
        }
        if (c == ';') {
            pos = text.find('\n', pos);
            if (pos == std::string_view::npos) break;
            continue;
        }
        std::size_t end = pos;
        if (c == '"') {
            end = text.find('"', pos + 1);
            if (end == std::string_view::npos) break;
            ++end;
        } else {
            while (end < text.size() && !std::strchr(" \t\r\n();", text[end])) {
                if (text[end] == '\\' && end + 1 < text.size()) ++end;
                ++end;
            }
        }
        const std::string_view token = text.substr(pos, end - pos);
        if (after_soa < 0) {
            if (token.size() == 3 && std::toupper(static_cast<unsigned char>(token[0])) == 'S' &&
                std::toupper(static_cast<unsigned char>(token[1])) == 'O' &&
                std::toupper(static_cast<unsigned char>(token[2])) == 'A')
                after_soa = 0;
        } else if (++after_soa == 3) {
            for (char d : token)
                if (!std::isdigit(static_cast<unsigned char>(d)))
                    return unexpected("the SOA serial on line " + std::to_string(line) + " is \"" +
                                      std::string(token) + "\", not a plain number");
            std::string out(text.substr(0, pos));
            out += std::to_string(serial.value());
            out += text.substr(end);
            return out;
        }
        pos = end;
    }
    return unexpected("no SOA serial found from line " + std::to_string(line));
}

Result<void, std::string> rewrite_soa_serial(const std::filesystem::path& file, std::size_t line,
                                             dns::Serial serial) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return unexpected("cannot read " + file.string() + ": " + std::strerror(errno));
    std::stringstream buffer;
    buffer << in.rdbuf();
    auto rewritten = rewrite_soa_serial_text(buffer.str(), line, serial);
    if (!rewritten) return unexpected(file.string() + ": " + rewritten.error());

    struct stat st {};
    const bool have_mode = ::stat(file.c_str(), &st) == 0;
    const auto& data = *rewritten;
    auto written =
        write_file_atomically(file, std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()),
                              have_mode ? st.st_mode & 07777 : 0644);
    if (!written) return unexpected(written.error());
    // Keep the operator's ownership (the server may run as root while the file belongs to someone else).
    if (have_mode) (void)::chown(file.c_str(), st.st_uid, st.st_gid);
    return {};
}

}  // namespace headwater::zone
