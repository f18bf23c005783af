#pragma once

#include <memory>
#include <string>
#include <utility>

namespace headwater {

// An immutable string that copies share instead of duplicating: for a value thousands of objects hold
// the same copy of (every zone's state directory: 100k copies of one path were 6 MB).
class SharedString {
  public:
    SharedString() = default;
    SharedString(std::string text)  // NOLINT(google-explicit-constructor): assigned from strings
        : text_(text.empty() ? nullptr : std::make_shared<const std::string>(std::move(text))) {}

    const std::string& str() const noexcept { return text_ ? *text_ : empty_string(); }
    bool empty() const noexcept { return !text_; }

    friend bool operator==(const SharedString& a, const SharedString& b) noexcept {
        return a.text_ == b.text_ || a.str() == b.str();
    }

  private:
    static const std::string& empty_string() noexcept {
        static const std::string empty;
        return empty;
    }
    std::shared_ptr<const std::string> text_;
};

}  // namespace headwater
