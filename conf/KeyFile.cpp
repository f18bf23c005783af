#include "conf/KeyFile.h"

#include <map>
#include <optional>

namespace headwater::conf {

namespace {

struct Token {
    enum class Kind : uint8_t { Word, Quoted, Punct, End };
    Kind kind = Kind::End;
    std::string text;
    uint32_t line = 0;
};

class Lexer {
  public:
    explicit Lexer(std::string_view text) : text_(text) {}

    // The next token, or an error message (an unterminated string or comment).
    Result<Token, std::string> next() {
        if (auto err = skip_space_and_comments()) return unexpected(*err);
        Token t;
        t.line = line_;
        if (pos_ >= text_.size()) return t;
        const char c = text_[pos_];
        if (c == '{' || c == '}' || c == ';') {
            t.kind = Token::Kind::Punct;
            t.text = std::string(1, c);
            ++pos_;
            return t;
        }
        if (c == '"') {
            t.kind = Token::Kind::Quoted;
            ++pos_;
            while (true) {
                if (pos_ >= text_.size())
                    return unexpected("line " + std::to_string(t.line) + ": unterminated quoted string");
                const char d = text_[pos_++];
                if (d == '"') break;
                if (d == '\n') ++line_;
                if (d == '\\' && pos_ < text_.size()) {
                    t.text += text_[pos_++];
                    continue;
                }
                t.text += d;
            }
            return t;
        }
        t.kind = Token::Kind::Word;
        while (pos_ < text_.size()) {
            const char d = text_[pos_];
            if (is_space(d) || d == '{' || d == '}' || d == ';' || d == '"' || d == '#' ||
                (d == '/' && pos_ + 1 < text_.size() && (text_[pos_ + 1] == '/' || text_[pos_ + 1] == '*')))
                break;
            t.text += d;
            ++pos_;
        }
        return t;
    }

  private:
    static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
    }

    std::optional<std::string> skip_space_and_comments() {
        while (pos_ < text_.size()) {
            const char c = text_[pos_];
            if (c == '\n') {
                ++line_;
                ++pos_;
            } else if (is_space(c)) {
                ++pos_;
            } else if (c == '#' || (c == '/' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '/')) {
                while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
            } else if (c == '/' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '*') {
                const uint32_t start = line_;
                pos_ += 2;
                while (true) {
                    if (pos_ + 1 >= text_.size())
                        return "line " + std::to_string(start) + ": unterminated /* comment";
                    if (text_[pos_] == '*' && text_[pos_ + 1] == '/') {
                        pos_ += 2;
                        break;
                    }
                    if (text_[pos_] == '\n') ++line_;
                    ++pos_;
                }
            } else {
                break;
            }
        }
        return std::nullopt;
    }

    std::string_view text_;
    std::size_t pos_ = 0;
    uint32_t line_ = 1;
};

std::string shown(const Token& t) {
    switch (t.kind) {
        case Token::Kind::End:
            return "the end of the file";
        case Token::Kind::Quoted:
            return "\"" + t.text + "\"";
        default:
            return "'" + t.text + "'";
    }
}

std::string at(const Token& t) {
    return "line " + std::to_string(t.line) + ": ";
}

// The lower-cased name without a trailing dot, for duplicate detection.
std::string name_key(std::string_view name) {
    std::string k(name);
    if (!k.empty() && k.back() == '.') k.pop_back();
    for (auto& c : k)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return k;
}

}  // namespace

Result<std::vector<KeyFileEntry>, std::string> parse_key_file(std::string_view text) {
    Lexer lex(text);
    std::vector<KeyFileEntry> out;
    std::map<std::string, uint32_t> seen;  // name key -> line

    auto next = [&]() { return lex.next(); };
    auto expect_punct = [&](char p, std::string_view after) -> Result<void, std::string> {
        auto t = next();
        if (!t) return unexpected(t.error());
        if (t->kind != Token::Kind::Punct || t->text[0] != p)
            return unexpected(at(*t) + "expected '" + std::string(1, p) + "' " + std::string(after) +
                              ", found " + shown(*t));
        return {};
    };

    while (true) {
        auto t = next();
        if (!t) return unexpected(t.error());
        if (t->kind == Token::Kind::End) break;
        if (t->kind != Token::Kind::Word || name_key(t->text) != "key")
            return unexpected(at(*t) + "expected a 'key' statement, found " + shown(*t));
        KeyFileEntry entry;
        entry.line = t->line;

        auto name = next();
        if (!name) return unexpected(name.error());
        if ((name->kind != Token::Kind::Word && name->kind != Token::Kind::Quoted) || name->text.empty())
            return unexpected(at(*name) + "expected the key name after 'key', found " + shown(*name));
        entry.name = name->text;
        if (auto r = expect_punct('{', "after the key name"); !r) return unexpected(r.error());

        std::optional<uint32_t> algorithm_line;
        std::optional<uint32_t> secret_line;
        while (true) {
            auto clause = next();
            if (!clause) return unexpected(clause.error());
            if (clause->kind == Token::Kind::Punct && clause->text == "}") break;
            if (clause->kind != Token::Kind::Word)
                return unexpected(at(*clause) + "expected 'algorithm', 'secret' or '}' in key \"" +
                                  entry.name + "\", found " + shown(*clause));
            const std::string keyword = name_key(clause->text);
            if (keyword != "algorithm" && keyword != "secret")
                return unexpected(at(*clause) + "unknown clause " + shown(*clause) + " in key \"" +
                                  entry.name + "\" (known: algorithm, secret)");
            auto& seen_line = keyword == "algorithm" ? algorithm_line : secret_line;
            if (seen_line)
                return unexpected(at(*clause) + "'" + keyword + "' given twice in key \"" + entry.name +
                                  "\" (first at line " + std::to_string(*seen_line) + ")");
            seen_line = clause->line;
            auto value = next();
            if (!value) return unexpected(value.error());
            if ((value->kind != Token::Kind::Word && value->kind != Token::Kind::Quoted) ||
                value->text.empty())
                return unexpected(at(*value) + "expected a value after '" + keyword + "', found " +
                                  shown(*value));
            (keyword == "algorithm" ? entry.algorithm : entry.secret) = value->text;
            if (auto r = expect_punct(';', "after the " + keyword); !r) return unexpected(r.error());
        }
        if (auto r = expect_punct(';', "after the closing '}' of key \"" + entry.name + "\""); !r)
            return unexpected(r.error());
        if (!algorithm_line)
            return unexpected("line " + std::to_string(entry.line) + ": key \"" + entry.name +
                              "\" has no algorithm");
        if (!secret_line)
            return unexpected("line " + std::to_string(entry.line) + ": key \"" + entry.name +
                              "\" has no secret");
        const auto [first, inserted] = seen.emplace(name_key(entry.name), entry.line);
        if (!inserted)
            return unexpected("line " + std::to_string(entry.line) + ": duplicate key \"" + entry.name +
                              "\" (first at line " + std::to_string(first->second) + ")");
        out.push_back(std::move(entry));
    }
    return out;
}

}  // namespace headwater::conf
