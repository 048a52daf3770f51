// The IDX reader on bytes in memory (every error path) and on the Fashion-MNIST files Debian
// installs (gzip), when that package is present.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <vector>

#include "nnjit/idx.hpp"

using namespace nnjit;

namespace {

std::vector<std::byte> idx_bytes(unsigned char type, std::vector<std::uint32_t> dims, std::vector<unsigned char> body) {
    std::vector<std::byte> out{std::byte{0}, std::byte{0}, std::byte{type}, std::byte(dims.size())};
    for (std::uint32_t d : dims)
        for (int s = 24; s >= 0; s -= 8) out.push_back(std::byte((d >> s) & 0xff));
    for (unsigned char b : body) out.push_back(std::byte{b});
    return out;
}

}  // namespace

TEST_CASE("idx: ubyte, int16 and float32 arrays parse big-endian into tensors", "[idx]") {
    const Tensor u = parse_idx(idx_bytes(0x08, {2, 3}, {0, 1, 2, 253, 254, 255}));
    REQUIRE(u.shape() == Shape{2, 3});
    CHECK(u.at({1, 2}) == 255.0);
    CHECK(u.at({0, 1}) == 1.0);

    const Tensor s = parse_idx(idx_bytes(0x0B, {2}, {0xff, 0xfe, 0x01, 0x00}), "int16", DType::f64);
    CHECK(s.dtype() == DType::f64);
    CHECK(s.flat(0) == -2.0);
    CHECK(s.flat(1) == 256.0);

    const float value = -1.5f;
    std::uint32_t bits;
    std::memcpy(&bits, &value, 4);
    const Tensor f = parse_idx(idx_bytes(0x0D, {1}, {static_cast<unsigned char>(bits >> 24), static_cast<unsigned char>(bits >> 16),
                                                     static_cast<unsigned char>(bits >> 8), static_cast<unsigned char>(bits)}));
    CHECK(f.flat(0) == -1.5);
}

TEST_CASE("idx: malformed data is a UserError that says what is wrong", "[idx][error]") {
    const auto header = idx_bytes(0x08, {}, {});
    CHECK_THROWS_WITH(parse_idx(std::span<const std::byte>(header).subspan(0, 3), "x.idx"),
                      Catch::Contains("x.idx: truncated IDX header"));
    auto bad = idx_bytes(0x08, {1}, {7});
    bad[0] = std::byte{0x1f};
    CHECK_THROWS_WITH(parse_idx(bad), Catch::Contains("bad IDX magic") && Catch::Contains("0x1f"));
    CHECK_THROWS_WITH(parse_idx(idx_bytes(0x07, {1}, {7})), Catch::Contains("unknown IDX type code 0x07"));
    CHECK_THROWS_WITH(parse_idx(idx_bytes(0x08, {}, {})), Catch::Contains("IDX rank 0 is not supported"));
    auto short_header = idx_bytes(0x08, {2, 2}, {});
    short_header.resize(9);
    CHECK_THROWS_WITH(parse_idx(short_header), Catch::Contains("truncated IDX header: rank 2 needs 12 bytes"));
    CHECK_THROWS_WITH(parse_idx(idx_bytes(0x08, {2, 3}, {1, 2, 3, 4, 5})),
                      Catch::Contains("truncated IDX data: shape (2, 3) of ubyte"));
    CHECK_THROWS_WITH(parse_idx(idx_bytes(0x0C, {2}, {0, 0, 0, 1, 0, 0, 0, 2, 9})),
                      Catch::Contains("takes 8 bytes, but 9 follow the header"));
    // A header claiming 2^32-1 squared elements must fail before allocating anything.
    CHECK_THROWS_WITH(parse_idx(idx_bytes(0x0E, {0xffffffffu, 0xffffffffu}, {1, 2, 3})),
                      Catch::Contains("truncated IDX data"));
    CHECK_THROWS_WITH(read_idx("/nonexistent/file.idx"), Catch::Contains("/nonexistent/file.idx: cannot open"));
}

TEST_CASE("idx: Debian's Fashion-MNIST test split reads through gzip", "[idx][data]") {
    const std::filesystem::path dir = "/usr/share/datasets/fashion-mnist";
    if (!std::filesystem::exists(dir / "t10k-labels-idx1-ubyte.gz")) {
        WARN("dataset-fashion-mnist is not installed: the gzip path of read_idx was not exercised");
        CHECK_THROWS_AS(read_idx(dir / "t10k-labels-idx1-ubyte.gz"), UserError);
        return;
    }
    const IdxDataset d = read_idx_dataset(dir / "t10k-images-idx3-ubyte.gz", dir / "t10k-labels-idx1-ubyte.gz");
    CHECK(d.samples.shape() == Shape{10000, 28, 28});
    REQUIRE(d.labels.shape() == Shape{10000});
    std::vector<int> counts(10, 0);  // the test split is balanced: 1000 images per class
    for (std::int64_t i = 0; i < 10000; ++i) ++counts[static_cast<std::size_t>(d.labels.flat(i))];
    for (int c : counts) CHECK(c == 1000);
    double lo = 255, hi = 0;
    for (std::int64_t i = 0; i < 28 * 28 * 10; ++i) lo = std::min(lo, d.samples.flat(i)), hi = std::max(hi, d.samples.flat(i));
    CHECK(lo == 0.0);
    CHECK(hi == 255.0);
    CHECK_THROWS_WITH(read_idx_dataset(dir / "t10k-images-idx3-ubyte.gz", dir / "train-labels-idx1-ubyte.gz"),
                      Catch::Contains("dimension mismatch") && Catch::Contains("10000 samples") &&
                          Catch::Contains("60000 labels"));
}
