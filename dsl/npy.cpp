// .npy reading and writing (format: numpy/lib/format.py). The header is a Python dict literal,
// e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }, parsed here by a small
// non-recursive scanner that accepts exactly what NumPy writes and names whatever else it finds.
#include "nnjit/npy.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

#include "nnjit/error.hpp"

namespace nnjit {
namespace {

static_assert(std::endian::native == std::endian::little, "the .npy code assumes a little-endian host");

constexpr std::array<unsigned char, 6> kMagic = {0x93, 'N', 'U', 'M', 'P', 'Y'};
constexpr std::size_t kPreambleV1 = 10;  // magic, major, minor, uint16 header length
constexpr std::size_t kPreambleV2 = 12;  // the same with a uint32 header length
// NumPy itself refuses headers over 10000 bytes by default; ours never exceed a few hundred.
constexpr std::size_t kMaxHeaderBytes = std::size_t{1} << 20;
// Tensors larger than this cannot be allocated anyway; keeps byte counts far from overflow.
constexpr std::uint64_t kMaxDataBytes = std::uint64_t{1} << 62;

// Printable rendering of untrusted bytes for messages, cut after `limit` characters.
std::string escaped(std::string_view bytes, std::size_t limit = 60) {
    std::string out;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        if (out.size() >= limit) {
            out += "...";
            break;
        }
        const auto c = static_cast<unsigned char>(bytes[i]);
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else if (c >= 0x20 && c < 0x7f) out += static_cast<char>(c);
        else out += fmt::format("\\x{:02x}", c);
    }
    return out;
}

std::string_view as_chars(std::span<const std::byte> bytes) {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

[[noreturn]] void fail(std::string_view source, std::string_view message) {
    throw UserError(fmt::format("{}: {}", source, message));
}

struct Preamble {
    int major = 0;
    int minor = 0;
    std::size_t size = 0;          // bytes before the header text
    std::size_t header_bytes = 0;  // length of the header text
};

// `first` holds the first min(12, total) bytes of something `total` bytes long.
Preamble parse_preamble(std::span<const std::byte> first, std::uint64_t total, std::string_view source) {
    const std::string_view got = as_chars(first);
    const std::size_t magic_seen = std::min(got.size(), kMagic.size());
    for (std::size_t i = 0; i < magic_seen; ++i)
        if (static_cast<unsigned char>(got[i]) != kMagic[i])
            fail(source, fmt::format("not a .npy file: it starts with '{}', not the magic '\\x93NUMPY'",
                                     escaped(got.substr(0, kMagic.size()))));
    if (total < kPreambleV1)
        fail(source, fmt::format("truncated .npy file: {} bytes, shorter than the {}-byte preamble", total,
                                 kPreambleV1));
    Preamble p;
    p.major = static_cast<unsigned char>(got[6]);
    p.minor = static_cast<unsigned char>(got[7]);
    if (p.minor != 0 || p.major < 1 || p.major > 3)
        fail(source, fmt::format(".npy format version {}.{} is not supported (1.0, 2.0 or 3.0 only)", p.major,
                                 p.minor));
    const auto byte = [&](std::size_t i) { return static_cast<std::size_t>(static_cast<unsigned char>(got[i])); };
    if (p.major == 1) {
        p.size = kPreambleV1;
        p.header_bytes = byte(8) | byte(9) << 8;
    } else {
        if (total < kPreambleV2)
            fail(source, fmt::format("truncated .npy file: {} bytes, shorter than the {}-byte preamble of version {}.0",
                                     total, kPreambleV2, p.major));
        p.size = kPreambleV2;
        p.header_bytes = byte(8) | byte(9) << 8 | byte(10) << 16 | byte(11) << 24;
    }
    if (p.header_bytes > total - p.size)
        fail(source, fmt::format("truncated .npy header: it claims {} bytes, only {} follow the preamble",
                                 p.header_bytes, total - p.size));
    if (p.header_bytes > kMaxHeaderBytes)
        fail(source, fmt::format(".npy header of {} bytes is too long (at most {})", p.header_bytes, kMaxHeaderBytes));
    return p;
}

// One value of the header dict.
struct HeaderValue {
    enum class Kind { String, Bool, Tuple, Other } kind = Kind::Other;
    std::string text;                // String: its contents
    bool boolean = false;            // Bool
    std::vector<std::int64_t> dims;  // Tuple of integers
    std::string_view raw;            // as written, for messages
};

// The header dict's scanner. Fails with the position and the header text on anything that
// is not a dict of strings, booleans, tuples of integers or (for messages) other literals.
class HeaderScanner {
public:
    HeaderScanner(std::string_view text, std::string_view source) : text_(text), source_(source) {}

    // Calls on_entry(key, value) for each entry of the dict, then checks nothing follows.
    template <class F> void parse_dict(F&& on_entry) {
        skip_space();
        expect('{', "'{' opening the header dict");
        skip_space();
        while (!accept('}')) {
            const std::size_t key_at = pos_;
            if (peek() != '\'' && peek() != '"') malformed("a quoted key or '}'");
            std::string key = parse_string();
            skip_space();
            expect(':', "':' after the key");
            skip_space();
            on_entry(key, key_at, parse_value());
            skip_space();
            if (accept(',')) {
                skip_space();
                continue;
            }
            if (peek() != '}') malformed("',' or '}'");
        }
        skip_space();
        if (pos_ != text_.size()) malformed("the end of the header after the dict");
    }

    [[noreturn]] void malformed(std::string_view expected) const {
        const std::string found = pos_ < text_.size() ? fmt::format("'{}'", escaped(text_.substr(pos_, 12), 12))
                                                      : std::string("the end of the header");
        fail(source_, fmt::format("malformed .npy header: expected {} at offset {}, found {} (header: \"{}\")",
                                  expected, pos_, found, escaped(text_, 120)));
    }

private:
    char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
    bool at_end() const { return pos_ >= text_.size(); }
    bool accept(char c) {
        if (at_end() || text_[pos_] != c) return false;
        ++pos_;
        return true;
    }
    void expect(char c, std::string_view what) {
        if (!accept(c)) malformed(what);
    }
    void skip_space() {
        while (!at_end() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
            ++pos_;
    }
    static bool is_digit(char c) { return c >= '0' && c <= '9'; }

    std::string parse_string() {
        const char quote = text_[pos_++];
        std::string out;
        while (!at_end() && text_[pos_] != quote) {
            if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) out += text_[pos_++];  // kept as written
            out += text_[pos_++];
        }
        if (!accept(quote)) malformed("a closing quote");
        return out;
    }

    std::int64_t parse_dimension() {
        const bool negative = accept('-');
        if (!is_digit(peek())) malformed("an integer dimension");
        std::int64_t v = 0;
        while (is_digit(peek())) {
            const int digit = text_[pos_++] - '0';
            if (v > (std::numeric_limits<std::int64_t>::max() - digit) / 10) {
                --pos_;
                malformed("a dimension that fits in 64 bits");
            }
            v = v * 10 + digit;
        }
        if (peek() == 'L' || peek() == 'l') ++pos_;  // Python 2 long suffix, as NumPy accepts
        return negative ? -v : v;
    }

    // A parenthesised list of integers; (3) without a comma is not a tuple in Python.
    void parse_tuple(HeaderValue& v) {
        expect('(', "'('");
        skip_space();
        bool comma = false;
        while (!accept(')')) {
            v.dims.push_back(parse_dimension());
            skip_space();
            if (accept(',')) {
                comma = true;
                skip_space();
            } else if (peek() != ')') {
                malformed("',' or ')' in the shape tuple");
            }
        }
        v.kind = (v.dims.size() == 1 && !comma) ? HeaderValue::Kind::Other : HeaderValue::Kind::Tuple;
    }

    // Any other literal (a list, None, a number): skipped with its brackets balanced, so that
    // the caller can name it. No recursion: hostile nesting cannot exhaust the stack.
    void skip_other() {
        int depth = 0;
        while (!at_end()) {
            const char c = text_[pos_];
            if (c == '\'' || c == '"') {
                parse_string();
                continue;
            }
            if (depth == 0 && (c == ',' || c == '}')) break;
            if (c == '(' || c == '[' || c == '{') ++depth;
            if (c == ')' || c == ']' || c == '}') {
                if (depth == 0) malformed("a value");
                --depth;
            }
            ++pos_;
        }
        if (depth != 0) malformed("a closing bracket");
    }

    HeaderValue parse_value() {
        HeaderValue v;
        const std::size_t start = pos_;
        const auto word = [&](std::string_view w) {
            if (text_.substr(pos_, w.size()) != w) return false;
            const std::size_t after = pos_ + w.size();
            if (after < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[after])) || text_[after] == '_'))
                return false;
            pos_ = after;
            return true;
        };
        if (peek() == '\'' || peek() == '"') {
            v.kind = HeaderValue::Kind::String;
            v.text = parse_string();
        } else if (word("True") || word("False")) {
            v.kind = HeaderValue::Kind::Bool;
            v.boolean = text_[start] == 'T';
        } else if (peek() == '(') {
            parse_tuple(v);
        } else {
            skip_other();
            if (pos_ == start) malformed("a value");
        }
        v.raw = text_.substr(start, pos_ - start);
        return v;
    }

    std::string_view text_;
    std::string_view source_;
    std::size_t pos_ = 0;
};

struct Header {
    DType dtype = DType::f32;
    Shape shape;
    std::uint64_t data_bytes = 0;
};

Header parse_header(std::string_view text, std::string_view source) {
    HeaderScanner scanner(text, source);
    std::optional<HeaderValue> descr, fortran_order, shape;
    scanner.parse_dict([&](const std::string& key, std::size_t, HeaderValue value) {
        std::optional<HeaderValue>* slot = key == "descr"           ? &descr
                                           : key == "fortran_order" ? &fortran_order
                                           : key == "shape"         ? &shape
                                                                    : nullptr;
        if (slot == nullptr)
            fail(source, fmt::format("unexpected key '{}' in the .npy header (descr, fortran_order and shape only)",
                                     escaped(key)));
        if (slot->has_value()) fail(source, fmt::format("the .npy header repeats the key '{}'", key));
        *slot = std::move(value);
    });
    const std::pair<const std::optional<HeaderValue>*, std::string_view> required[] = {
        {&descr, "descr"}, {&fortran_order, "fortran_order"}, {&shape, "shape"}};
    for (const auto& [slot, key] : required)
        if (!slot->has_value()) fail(source, fmt::format("the .npy header has no '{}' key", key));

    Header h;
    const std::string_view d = descr->kind == HeaderValue::Kind::String ? std::string_view(descr->text) : "";
    if (d == "<f4") h.dtype = DType::f32;
    else if (d == "<f8") h.dtype = DType::f64;
    else if (d == ">f4" || d == ">f8")
        fail(source, fmt::format("dtype '{}' is big-endian, which is not supported (little-endian float32 '<f4' "
                                 "or float64 '<f8' only)",
                                 d));
    else
        fail(source, fmt::format("dtype {} is not supported (float32 '<f4' or float64 '<f8' only)",
                                 escaped(descr->raw)));

    if (fortran_order->kind != HeaderValue::Kind::Bool)
        fail(source, fmt::format("fortran_order must be True or False, found {}", escaped(fortran_order->raw)));
    if (fortran_order->boolean)
        fail(source, "fortran_order is True: Fortran-order (column-major) arrays are not supported (C order only)");

    if (shape->kind != HeaderValue::Kind::Tuple)
        fail(source, fmt::format("shape must be a tuple of integers, found {}", escaped(shape->raw)));
    const auto& dims = shape->dims;
    if (dims.size() > static_cast<std::size_t>(Shape::kMaxRank))
        fail(source, fmt::format("shape {} has rank {}; nnjit supports rank up to {}", escaped(shape->raw),
                                 dims.size(), Shape::kMaxRank));
    std::uint64_t numel = 1;
    bool too_large = false;
    for (auto dim : dims) {
        if (dim < 0) fail(source, fmt::format("shape {} has a negative dimension", escaped(shape->raw)));
        const auto u = static_cast<std::uint64_t>(dim);
        if (u != 0 && numel > kMaxDataBytes / u) too_large = true;
        else numel *= u;
    }
    // A zero dimension makes any other size harmless; otherwise the byte count must be sane.
    const bool empty = std::find(dims.begin(), dims.end(), 0) != dims.end();
    if (!empty && (too_large || numel > kMaxDataBytes / dtype_size(h.dtype)))
        fail(source, fmt::format("shape {} has too many elements", escaped(shape->raw)));
    try {
        h.shape = Shape(dims);
    } catch (const UserError& e) {
        fail(source, e.what());
    }
    h.data_bytes = empty ? 0 : numel * dtype_size(h.dtype);
    return h;
}

void check_data_size(const Header& h, std::uint64_t available, std::string_view source) {
    if (available < h.data_bytes)
        fail(source, fmt::format("truncated .npy data: a {} array of shape {} needs {} bytes, found {}", h.dtype,
                                 h.shape, h.data_bytes, available));
    if (available > h.data_bytes)
        fail(source, fmt::format("{} unexpected bytes after the data of a {} array of shape {} ({} bytes)",
                                 available - h.data_bytes, h.dtype, h.shape, h.data_bytes));
}

// The preamble and the header text, padded as NumPy pads it: with spaces and a final newline
// so that the data starts 64-byte aligned.
std::vector<std::byte> encode_header(const Tensor& t) {
    std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
                                   t.dtype() == DType::f32 ? "<f4" : "<f8", t.shape());
    const bool v2 = kPreambleV1 + dict.size() + 1 + 63 > 0xffff;  // the length must fit 16 bits in 1.0
    const std::size_t preamble = v2 ? kPreambleV2 : kPreambleV1;
    dict.append((64 - (preamble + dict.size() + 1) % 64) % 64, ' ');
    dict += '\n';
    std::vector<std::byte> out;
    for (unsigned char c : kMagic) out.push_back(std::byte{c});
    out.push_back(std::byte{static_cast<unsigned char>(v2 ? 2 : 1)});
    out.push_back(std::byte{0});
    for (std::size_t i = 0; i < preamble - 8; ++i)
        out.push_back(std::byte{static_cast<unsigned char>(dict.size() >> (8 * i))});
    for (char c : dict) out.push_back(static_cast<std::byte>(c));
    return out;
}

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

std::string errno_message() { return std::error_code(errno, std::generic_category()).message(); }

}  // namespace

Tensor parse_npy(std::span<const std::byte> bytes, std::string_view source) {
    const Preamble p = parse_preamble(bytes.first(std::min(bytes.size(), kPreambleV2)), bytes.size(), source);
    const Header h = parse_header(as_chars(bytes.subspan(p.size, p.header_bytes)), source);
    const auto data = bytes.subspan(p.size + p.header_bytes);
    check_data_size(h, data.size(), source);
    Tensor t = Tensor::empty(h.dtype, h.shape);
    if (h.data_bytes != 0) std::memcpy(t.raw_data(), data.data(), static_cast<std::size_t>(h.data_bytes));
    return t;
}

std::vector<std::byte> encode_npy(const Tensor& tensor) {
    const Tensor t = tensor.contiguous();
    std::vector<std::byte> out = encode_header(t);
    const auto* d = static_cast<const std::byte*>(t.raw_data());
    out.insert(out.end(), d, d + static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype()));
    return out;
}

Tensor read_npy(const std::filesystem::path& path) {
    const std::string source = path.string();
    File f(std::fopen(path.c_str(), "rb"));
    if (!f) fail(source, fmt::format("cannot open for reading: {}", errno_message()));
    struct stat st {};
    if (::fstat(fileno(f.get()), &st) != 0) fail(source, fmt::format("cannot read: {}", errno_message()));
    if (!S_ISREG(st.st_mode)) fail(source, "not a regular file");
    const auto total = static_cast<std::uint64_t>(st.st_size);

    const auto read_exactly = [&](void* dst, std::size_t n, std::string_view what) {
        if (n != 0 && std::fread(dst, 1, n, f.get()) != n)
            fail(source, fmt::format("truncated .npy file: could not read its {} ({} bytes)", what, n));
    };
    std::array<std::byte, kPreambleV2> first{};
    const auto first_bytes = static_cast<std::size_t>(std::min<std::uint64_t>(total, kPreambleV2));
    read_exactly(first.data(), first_bytes, "preamble");
    const Preamble p = parse_preamble(std::span(first).first(first_bytes), total, source);

    // parse_preamble checked the header length against the file size before this allocation.
    std::string header(p.header_bytes, '\0');
    if (std::fseek(f.get(), static_cast<long>(p.size), SEEK_SET) != 0)
        fail(source, fmt::format("cannot seek: {}", errno_message()));
    read_exactly(header.data(), header.size(), "header");
    const Header h = parse_header(header, source);
    check_data_size(h, total - p.size - p.header_bytes, source);

    Tensor t = Tensor::empty(h.dtype, h.shape);
    read_exactly(t.raw_data(), static_cast<std::size_t>(h.data_bytes), "data");
    return t;
}

void write_npy(const std::filesystem::path& path, const Tensor& tensor) {
    const std::string source = path.string();
    const Tensor t = tensor.contiguous();
    const std::vector<std::byte> header = encode_header(t);
    File f(std::fopen(path.c_str(), "wb"));
    if (!f) fail(source, fmt::format("cannot open for writing: {}", errno_message()));
    const auto data_bytes = static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype());
    const bool ok = std::fwrite(header.data(), 1, header.size(), f.get()) == header.size() &&
                    (data_bytes == 0 || std::fwrite(t.raw_data(), 1, data_bytes, f.get()) == data_bytes);
    if (!ok) fail(source, fmt::format("cannot write: {}", errno_message()));
    if (std::fclose(f.release()) != 0) fail(source, fmt::format("cannot write: {}", errno_message()));
}

}  // namespace nnjit
