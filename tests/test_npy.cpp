// .npy reading and writing: round trips through files and memory, the exact bytes NumPy's
// format prescribes, and every kind of malformed input as a UserError naming what was found.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>

#include "nnjit/npy.hpp"

using namespace nnjit;
using Catch::Matchers::Contains;

namespace {

// A fresh directory per test case, removed afterwards.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        static int counter = 0;
        path = std::filesystem::temp_directory_path() /
               fmt::format("nnjit_test_npy_{}_{}", static_cast<long>(::getpid()), counter++);
        std::filesystem::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::filesystem::path operator/(std::string_view name) const { return path / name; }
};

std::vector<std::byte> bytes_of(std::string_view s) {
    std::vector<std::byte> out(s.size());
    std::memcpy(out.data(), s.data(), s.size());
    return out;
}

// A .npy file as NumPy writes it (format.py): magic, version, little-endian header length,
// the dict padded with spaces to a multiple of 64 bytes with a final newline, then the data.
std::vector<std::byte> npy_bytes(std::string_view dict, std::span<const std::byte> data, int major = 1) {
    std::string header(dict);
    const std::size_t preamble = major == 1 ? 10 : 12;
    while ((preamble + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::string out("\x93NUMPY", 6);
    out += static_cast<char>(major);
    out += '\0';
    for (std::size_t i = 0; i < preamble - 8; ++i) out += static_cast<char>((header.size() >> (8 * i)) & 0xff);
    out += header;
    auto bytes = bytes_of(out);
    bytes.insert(bytes.end(), data.begin(), data.end());
    return bytes;
}

template <class T> std::vector<std::byte> raw(std::initializer_list<T> values) {
    std::vector<std::byte> out(values.size() * sizeof(T));
    std::memcpy(out.data(), values.begin(), out.size());
    return out;
}

void write_file(const std::filesystem::path& path, std::span<const std::byte> bytes) {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

std::vector<std::byte> read_file(const std::filesystem::path& path) {
    std::ifstream f(path, std::ios::binary);
    std::vector<char> chars((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::vector<std::byte> out(chars.size());
    std::memcpy(out.data(), chars.data(), chars.size());
    return out;
}

// The header a .npy file of dtype `descr` and shape text `shape` must carry.
std::string dict_for(std::string_view descr, std::string_view shape) {
    return fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", descr, shape);
}

}  // namespace

TEST_CASE("npy: round trips through a file for both dtypes and ranks 0..4", "[npy]") {
    TempDir dir;
    const std::vector<Shape> shapes = {Shape{}, Shape{5}, Shape{2, 3}, Shape{2, 3, 4}, Shape{2, 1, 3, 2}, Shape{0, 3}};
    for (DType dtype : {DType::f32, DType::f64}) {
        for (const Shape& shape : shapes) {
            const Tensor t = Tensor::randn(dtype, shape, 7);
            const auto path = dir / fmt::format("t_{}_{}.npy", dtype, shape.rank());
            write_npy(path, t);
            const Tensor back = read_npy(path);
            INFO(fmt::format("{} {}", dtype, shape));
            CHECK(back.dtype() == dtype);
            CHECK(back.shape() == shape);
            CHECK(bitwise_equal(back, t));
            CHECK(back.is_contiguous());
        }
    }
}

TEST_CASE("npy: special values survive bit for bit", "[npy]") {
    const double inf = std::numeric_limits<double>::infinity();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const Tensor t = Tensor::from<double>(Shape{6}, {0.0, -0.0, inf, -inf, nan, 5e-324});
    const Tensor back = parse_npy(encode_npy(t));
    REQUIRE(back.shape() == Shape{6});
    CHECK(std::signbit(back.flat(1)));
    CHECK_FALSE(std::signbit(back.flat(0)));
    CHECK(back.flat(2) == inf);
    CHECK(back.flat(3) == -inf);
    CHECK(std::isnan(back.flat(4)));
    CHECK(back.flat(5) == 5e-324);
}

TEST_CASE("npy: non-contiguous views are written in logical (C) order", "[npy]") {
    const Tensor base = Tensor::arange(DType::f32, 6).reshape(Shape{2, 3});
    const Tensor tt = base.transpose();  // (3, 2): [[0, 3], [1, 4], [2, 5]]
    REQUIRE_FALSE(tt.is_contiguous());
    const Tensor back = parse_npy(encode_npy(tt));
    CHECK(back.shape() == Shape{3, 2});
    CHECK(back.to_doubles() == std::vector<double>{0, 3, 1, 4, 2, 5});

    const Tensor b = Tensor::arange(DType::f64, 3).broadcast_to(Shape{2, 3});
    CHECK(parse_npy(encode_npy(b)).to_doubles() == std::vector<double>{0, 1, 2, 0, 1, 2});
}

TEST_CASE("npy: the bytes written are NumPy's format 1.0 with a 64-byte aligned header", "[npy]") {
    const Tensor t = Tensor::from<float>(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
    const auto bytes = encode_npy(t);
    const auto expected = npy_bytes(dict_for("<f4", "(2, 3)"), raw<float>({1, 2, 3, 4, 5, 6}));
    CHECK(bytes == expected);
    CHECK((bytes.size() - 24) % 64 == 0);  // data starts aligned: 24 = 6 float32s

    // Rank 1 and rank 0 use Python's tuple syntax: (5,) and ().
    const std::string one(reinterpret_cast<const char*>(encode_npy(Tensor::zeros(DType::f64, Shape{5})).data()), 80);
    CHECK_THAT(one, Contains("'shape': (5,)") && Contains("'descr': '<f8'"));
    const std::string zero(reinterpret_cast<const char*>(encode_npy(Tensor::scalar(DType::f32, 1)).data()), 64);
    CHECK_THAT(zero, Contains("'shape': ()"));

    TempDir dir;
    write_npy(dir / "a.npy", t);
    CHECK(read_file(dir / "a.npy") == expected);
}

TEST_CASE("npy: reads what NumPy writes, versions 1.0, 2.0 and 3.0, either quote style", "[npy]") {
    const auto data = raw<double>({1.5, -2.0, 3.25, 0.0});
    for (int major : {1, 2, 3}) {
        const Tensor t = parse_npy(npy_bytes(dict_for("<f8", "(2, 2)"), data, major));
        INFO("version " << major);
        CHECK(t.dtype() == DType::f64);
        CHECK(t.shape() == Shape{2, 2});
        CHECK(t.to_doubles() == std::vector<double>{1.5, -2.0, 3.25, 0.0});
    }
    // Keys in another order, double quotes, no trailing comma, extra spaces, Python 2 longs.
    const Tensor t = parse_npy(
        npy_bytes(R"({ "shape" : (4L,) , "fortran_order":False, "descr":"<f4" })", raw<float>({1, 2, 3, 4})));
    CHECK(t.shape() == Shape{4});
    CHECK(t.to_doubles() == std::vector<double>{1, 2, 3, 4});
    // A header that is not padded (older writers) is fine too.
    std::string unpadded = "\x93NUMPY\x01";
    unpadded += '\0';
    const std::string dict = dict_for("<f4", "()");
    unpadded += static_cast<char>(dict.size());
    unpadded += '\0';
    unpadded += dict;
    auto bytes = bytes_of(unpadded);
    const auto value = raw<float>({42});
    bytes.insert(bytes.end(), value.begin(), value.end());
    CHECK(parse_npy(bytes).to_doubles() == std::vector<double>{42});
}

TEST_CASE("npy: unsupported dtypes and layouts name what was found", "[npy][error]") {
    const auto four = raw<float>({1, 2});  // 8 bytes: as much data as any of these would need
    CHECK_THROWS_WITH(parse_npy(npy_bytes(dict_for("<i4", "(2,)"), four), "x.npy"),
                      Contains("x.npy") && Contains("dtype '<i4' is not supported") &&
                          Contains("float32 '<f4' or float64 '<f8' only"));
    CHECK_THROWS_WITH(parse_npy(npy_bytes(dict_for(">f4", "(2,)"), four), "x.npy"),
                      Contains("x.npy") && Contains("'>f4' is big-endian"));
    CHECK_THROWS_WITH(parse_npy(npy_bytes(dict_for(">f8", "(1,)"), four)), Contains("'>f8' is big-endian"));
    CHECK_THROWS_WITH(parse_npy(npy_bytes(dict_for("|u1", "(8,)"), four)), Contains("dtype '|u1' is not supported"));
    CHECK_THROWS_WITH(parse_npy(npy_bytes(dict_for("<f2", "(4,)"), four)), Contains("dtype '<f2' is not supported"));
    CHECK_THROWS_WITH(parse_npy(npy_bytes(dict_for("<c8", "(1,)"), four)), Contains("dtype '<c8' is not supported"));
    CHECK_THROWS_WITH(
        parse_npy(npy_bytes("{'descr': [('a', '<f4'), ('b', '<f4')], 'fortran_order': False, 'shape': (1,), }", four)),
        Contains("dtype [('a', '<f4'), ('b', '<f4')] is not supported"));
    CHECK_THROWS_WITH(
        parse_npy(npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (1, 2), }", four), "m.npy"),
        Contains("m.npy") && Contains("fortran_order is True") && Contains("C order only"));
    CHECK_THROWS_WITH(parse_npy(npy_bytes("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }", four)),
                      Contains("fortran_order must be True or False, found 0"));
}

TEST_CASE("npy: malformed files are user errors that say what is wrong", "[npy][error]") {
    const auto two = raw<float>({1, 2});
    const auto good = npy_bytes(dict_for("<f4", "(2,)"), two);
    REQUIRE(parse_npy(good).to_doubles() == std::vector<double>{1, 2});

    SECTION("bad magic") {
        auto bytes = good;
        bytes[1] = std::byte{'X'};
        CHECK_THROWS_WITH(parse_npy(bytes, "p.npy"),
                          Contains("p.npy") && Contains("not a .npy file") && Contains("\\x93XUMPY"));
        CHECK_THROWS_WITH(parse_npy(bytes_of("PK\x03\x04 a zip file")), Contains("it starts with 'PK\\x03\\x04 a'"));
    }
    SECTION("empty and truncated preamble") {
        CHECK_THROWS_WITH(parse_npy({}, "e.npy"), Contains("e.npy") && Contains("truncated .npy file: 0 bytes"));
        CHECK_THROWS_WITH(parse_npy(std::span(good).first(7)), Contains("truncated .npy file: 7 bytes"));
        const auto v2 = npy_bytes(dict_for("<f4", "(2,)"), two, 2);
        CHECK_THROWS_WITH(parse_npy(std::span(v2).first(11)), Contains("11 bytes") && Contains("version 2.0"));
    }
    SECTION("unsupported versions") {
        auto bytes = good;
        bytes[6] = std::byte{4};
        CHECK_THROWS_WITH(parse_npy(bytes), Contains("format version 4.0 is not supported"));
        bytes[6] = std::byte{1};
        bytes[7] = std::byte{1};
        CHECK_THROWS_WITH(parse_npy(bytes), Contains("format version 1.1 is not supported"));
        bytes[6] = std::byte{0};
        bytes[7] = std::byte{0};
        CHECK_THROWS_WITH(parse_npy(bytes), Contains("format version 0.0 is not supported"));
    }
    SECTION("truncated header") {
        CHECK_THROWS_WITH(parse_npy(std::span(good).first(40)),
                          Contains("truncated .npy header: it claims 118 bytes, only 30 follow"));
        // A version 2.0 header length of 4 GiB in a tiny file: rejected before any allocation.
        auto v2 = npy_bytes(dict_for("<f4", "(2,)"), two, 2);
        for (int i = 8; i < 12; ++i) v2[static_cast<std::size_t>(i)] = std::byte{0xff};
        CHECK_THROWS_WITH(parse_npy(v2), Contains("it claims 4294967295 bytes"));
    }
    SECTION("truncated or excess data") {
        CHECK_THROWS_WITH(parse_npy(std::span(good).first(good.size() - 1), "t.npy"),
                          Contains("t.npy") && Contains("truncated .npy data") && Contains("shape (2,)") &&
                              Contains("needs 8 bytes, found 7"));
        auto longer = good;
        longer.push_back(std::byte{0});
        CHECK_THROWS_WITH(parse_npy(longer), Contains("1 unexpected bytes after the data"));
    }
    SECTION("absurd shapes are refused without allocating") {
        // 2^40 float64s would be 8 TiB: refused because the data is not there.
        CHECK_THROWS_WITH(parse_npy(npy_bytes(dict_for("<f8", "(1099511627776,)"), two)),
                          Contains("truncated .npy data") && Contains("needs 8796093022208 bytes, found 8"));
        CHECK_THROWS_WITH(parse_npy(npy_bytes(dict_for("<f4", "(4294967296, 4294967296, 4294967296)"), two)),
                          Contains("shape (4294967296, 4294967296, 4294967296) has too many elements"));
        CHECK_THROWS_WITH(parse_npy(npy_bytes(dict_for("<f4", "(99999999999999999999,)"), two)),
                          Contains("a dimension that fits in 64 bits"));
        CHECK_THROWS_WITH(parse_npy(npy_bytes(dict_for("<f4", "(2, -1)"), two)),
                          Contains("shape (2, -1) has a negative dimension"));
        CHECK_THROWS_WITH(parse_npy(npy_bytes(dict_for("<f4", "(1, 1, 1, 1, 1, 1, 1, 1, 2)"), two)),
                          Contains("has rank 9; nnjit supports rank up to 8"));
        CHECK_THROWS_WITH(parse_npy(npy_bytes(dict_for("<f4", "(2)"), two)),
                          Contains("shape must be a tuple of integers, found (2)"));
        CHECK_THROWS_WITH(parse_npy(npy_bytes(dict_for("<f4", "[2]"), two)),
                          Contains("shape must be a tuple of integers, found [2]"));
        // An empty array with a huge other dimension holds no data and is fine.
        CHECK(parse_npy(npy_bytes(dict_for("<f4", "(0, 4294967296, 4294967296)"), {})).numel() == 0);
    }
    SECTION("garbage headers") {
        CHECK_THROWS_WITH(parse_npy(npy_bytes("hello", two), "g.npy"),
                          Contains("g.npy") && Contains("malformed .npy header") &&
                              Contains("expected '{' opening the header dict at offset 0, found 'hello"));
        CHECK_THROWS_WITH(parse_npy(npy_bytes("{'descr': '<f4', 'shape': (2,) 'fortran_order': False}", two)),
                          Contains("expected ',' or '}'"));
        CHECK_THROWS_WITH(parse_npy(npy_bytes("{'descr': '<f4", two)), Contains("expected a closing quote"));
        CHECK_THROWS_WITH(parse_npy(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)", two)),
                          Contains("malformed .npy header"));
        CHECK_THROWS_WITH(parse_npy(npy_bytes(dict_for("<f4", "(2,)") + " trailing", two)),
                          Contains("expected the end of the header after the dict"));
        CHECK_THROWS_WITH(parse_npy(npy_bytes("{descr: '<f4'}", two)), Contains("expected a quoted key or '}'"));
        CHECK_THROWS_WITH(parse_npy(npy_bytes(std::string("{'descr\x01\xff': 1}"), two)),
                          Contains("unexpected key 'descr\\x01\\xff'"));
        // Deep nesting is scanned without recursion.
        CHECK_THROWS_WITH(parse_npy(npy_bytes("{'descr': " + std::string(60000, '['), two)),
                          Contains("expected a closing bracket"));
    }
    SECTION("missing, repeated and unknown keys") {
        CHECK_THROWS_WITH(parse_npy(npy_bytes("{'descr': '<f4', 'fortran_order': False}", two)),
                          Contains("the .npy header has no 'shape' key"));
        CHECK_THROWS_WITH(parse_npy(npy_bytes("{}", two)), Contains("has no 'descr' key"));
        CHECK_THROWS_WITH(parse_npy(npy_bytes("{'descr': '<f4', 'shape': (2,), 'fortran_order': False, 'shape': (2,), }", two)),
                          Contains("repeats the key 'shape'"));
        CHECK_THROWS_WITH(
            parse_npy(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}", two)),
            Contains("unexpected key 'extra'"));
    }
}

TEST_CASE("npy: file errors name the path", "[npy][error]") {
    TempDir dir;
    const auto missing = dir / "missing.npy";
    CHECK_THROWS_WITH(read_npy(missing), Contains(missing.string()) && Contains("cannot open for reading"));
    CHECK_THROWS_WITH(read_npy(dir.path), Contains(dir.path.string()) && Contains("not a regular file"));
    CHECK_THROWS_WITH(write_npy(dir / "no_such_dir" / "x.npy", Tensor::zeros(DType::f32, Shape{2})),
                      Contains("no_such_dir") && Contains("cannot open for writing"));

    // The file reader checks sizes against the file as the memory parser does.
    const auto path = dir / "short.npy";
    auto bytes = npy_bytes(dict_for("<f8", "(1000000000,)"), raw<double>({1, 2}));
    write_file(path, bytes);
    CHECK_THROWS_WITH(read_npy(path),
                      Contains(path.string()) && Contains("truncated .npy data") && Contains("found 16"));
    write_file(path, std::span(bytes).first(5));
    CHECK_THROWS_WITH(read_npy(path), Contains("truncated .npy file: 5 bytes"));
    bytes[0] = std::byte{'#'};
    write_file(path, bytes);
    CHECK_THROWS_WITH(read_npy(path), Contains("not a .npy file"));
    write_file(path, npy_bytes(dict_for("<i8", "(2,)"), raw<double>({1, 2})));
    CHECK_THROWS_WITH(read_npy(path), Contains("short.npy: dtype '<i8' is not supported"));
}

TEST_CASE("npy: mutated files either parse or throw UserError, never anything else", "[npy][error]") {
    // A deterministic miniature fuzzer: flip, truncate and overwrite bytes of valid files.
    std::mt19937_64 gen(20261122);
    const std::vector<std::vector<std::byte>> seeds = {
        encode_npy(Tensor::randn(DType::f32, Shape{3, 4}, 1)),
        encode_npy(Tensor::randn(DType::f64, Shape{2, 1, 2}, 2)),
        npy_bytes(dict_for("<f4", "(2,)"), raw<float>({1, 2}), 2),
    };
    int parsed = 0, rejected = 0;
    for (int iter = 0; iter < 3000; ++iter) {
        auto bytes = seeds[gen() % seeds.size()];
        const int edits = 1 + static_cast<int>(gen() % 4);
        for (int e = 0; e < edits; ++e) {
            const std::size_t at = gen() % bytes.size();
            switch (gen() % 4) {
            case 0: bytes[at] = static_cast<std::byte>(gen()); break;
            case 1: bytes.resize(at); break;
            case 2: bytes[at] = static_cast<std::byte>("{}(),:'\" 0123456789TrueFalse<f48"[gen() % 33]); break;
            default: bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(at), static_cast<std::byte>(gen()));
            }
            if (bytes.empty()) bytes.push_back(std::byte{0});
        }
        try {
            const Tensor t = parse_npy(bytes);
            // Whatever parsed must account for every byte after the header.
            CHECK(static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype()) <= bytes.size());
            ++parsed;
        } catch (const UserError&) {
            ++rejected;
        }
    }
    CHECK(parsed + rejected == 3000);
    CHECK(rejected > 0);
}
