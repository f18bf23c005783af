#pragma once
// Large arrays that are filled right after they are allocated (a config's 100k zone settings, a zone
// version's records, a signing's output) fault in one 4 KiB page at a time, and on a virtual machine a
// fault can cost 10 µs: 44 MB took 120 ms, and copying a signed million-record zone (260 MB) spent half
// its 0.8 s in faults. Asking for transparent huge pages on such a block makes that a few hundred faults.
// Linux with THP in "madvise" mode (Debian's default) honours the advice; elsewhere it is a no-op.

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace headwater {

// Advises huge pages for the 2 MiB-aligned part of [p, p + bytes) (the only part they can back). Worth it
// only for a block of several MiB that is about to be written all through; failures are ignored (the
// pages are then ordinary ones).
inline void prefer_huge_pages(const void* p, std::size_t bytes) {
#if defined(MADV_HUGEPAGE)
    constexpr std::size_t kHuge = std::size_t{2} << 20;
    const auto begin = reinterpret_cast<std::uintptr_t>(p);
    const std::size_t skip = (kHuge - begin % kHuge) % kHuge;  // to the first 2 MiB boundary
    if (bytes <= skip) return;
    const std::size_t length = (bytes - skip) / kHuge * kHuge;
    // madvise() takes a non-const pointer; the advice changes no contents.
    if (length > 0) (void)::madvise(static_cast<char*>(const_cast<void*>(p)) + skip, length, MADV_HUGEPAGE);
#else
    (void)p;
    (void)bytes;
#endif
}

// reserve() with the advice above, for a buffer a zone version or its build is about to fill, when it
// is at least 32 MiB: glibc serves a block that large from mmap() whatever its (self-raising) threshold,
// so its pages go back with it. A smaller block may come from the heap, where the advice would stay on
// the memory after the block is freed and khugepaged could make the next small allocations huge too.
template <class T>
void reserve_huge(std::vector<T>& v, std::size_t count) {
    constexpr std::size_t kAlwaysMapped = std::size_t{32} << 20;
    v.reserve(count);
    if (v.capacity() * sizeof(T) >= kAlwaysMapped) prefer_huge_pages(v.data(), v.capacity() * sizeof(T));
}

}  // namespace headwater
