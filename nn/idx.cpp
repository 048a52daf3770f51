#include "nnjit/idx.hpp"

#include <zlib.h>

#include <array>
#include <cstring>
#include <vector>

#include "nnjit/error.hpp"

namespace nnjit {
namespace {

struct IdxType {
    unsigned char code;
    std::string_view name;
    std::size_t size;
};
constexpr std::array kTypes{IdxType{0x08, "ubyte", 1}, IdxType{0x09, "sbyte", 1}, IdxType{0x0B, "int16", 2},
                            IdxType{0x0C, "int32", 4}, IdxType{0x0D, "float32", 4}, IdxType{0x0E, "float64", 8}};

std::uint64_t big_endian(const std::byte* p, std::size_t n) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<std::uint64_t>(p[i]);
    return v;
}

double decode(const std::byte* p, unsigned char code) {
    switch (code) {
    case 0x08: return static_cast<double>(static_cast<std::uint8_t>(p[0]));
    case 0x09: return static_cast<double>(static_cast<std::int8_t>(p[0]));
    case 0x0B: return static_cast<double>(static_cast<std::int16_t>(static_cast<std::uint16_t>(big_endian(p, 2))));
    case 0x0C: return static_cast<double>(static_cast<std::int32_t>(static_cast<std::uint32_t>(big_endian(p, 4))));
    case 0x0D: {
        const auto bits = static_cast<std::uint32_t>(big_endian(p, 4));
        float f;
        std::memcpy(&f, &bits, 4);
        return f;
    }
    default: {
        const std::uint64_t bits = big_endian(p, 8);
        double d;
        std::memcpy(&d, &bits, 8);
        return d;
    }
    }
}

// The whole file, inflated when it is gzip (zlib's gz* functions read plain files as they are).
std::vector<std::byte> read_maybe_gzip(const std::filesystem::path& path) {
    gzFile f = gzopen(path.c_str(), "rb");
    if (f == nullptr) throw UserError(fmt::format("{}: cannot open the file", path.string()));
    std::vector<std::byte> data;
    std::array<std::byte, 1 << 16> chunk;
    for (;;) {
        const int n = gzread(f, chunk.data(), static_cast<unsigned>(chunk.size()));
        if (n < 0) {
            int errnum = 0;
            const std::string message = gzerror(f, &errnum);
            gzclose(f);
            throw UserError(fmt::format("{}: cannot read the file: {}", path.string(), message));
        }
        if (n == 0) break;
        data.insert(data.end(), chunk.begin(), chunk.begin() + n);
    }
    gzclose(f);
    return data;
}

}  // namespace

Tensor parse_idx(std::span<const std::byte> bytes, std::string_view source, DType dtype) {
    if (bytes.size() < 4)
        throw UserError(fmt::format("{}: truncated IDX header: {} bytes, the magic number alone takes 4", source, bytes.size()));
    if (bytes[0] != std::byte{0} || bytes[1] != std::byte{0})
        throw UserError(fmt::format("{}: bad IDX magic: the first two bytes are 0x{:02x} 0x{:02x}, not 0x00 0x00", source,
                                    static_cast<unsigned>(bytes[0]), static_cast<unsigned>(bytes[1])));
    const auto code = static_cast<unsigned char>(bytes[2]);
    const IdxType* type = nullptr;
    for (const IdxType& t : kTypes)
        if (t.code == code) type = &t;
    if (type == nullptr)
        throw UserError(fmt::format("{}: unknown IDX type code 0x{:02x} (known: 0x08 ubyte, 0x09 sbyte, 0x0b int16, "
                                    "0x0c int32, 0x0d float32, 0x0e float64)", source, code));
    const int rank = static_cast<int>(bytes[3]);
    if (rank < 1 || rank > Shape::kMaxRank)
        throw UserError(fmt::format("{}: IDX rank {} is not supported (1 to {})", source, rank, Shape::kMaxRank));
    const std::size_t header = 4 + 4 * static_cast<std::size_t>(rank);
    if (bytes.size() < header)
        throw UserError(fmt::format("{}: truncated IDX header: rank {} needs {} bytes, the data has {}", source, rank,
                                    header, bytes.size()));
    std::vector<std::int64_t> dims;
    // Sizes checked against the bytes present as they are multiplied: no overflow, no
    // allocation a short file could not back.
    const std::size_t available = bytes.size() - header;
    std::uint64_t count = 1;
    bool too_big = false;
    for (int d = 0; d < rank; ++d) {
        const std::uint64_t dim = big_endian(bytes.data() + 4 + 4 * static_cast<std::size_t>(d), 4);
        dims.push_back(static_cast<std::int64_t>(dim));
        if (dim != 0 && count > available / dim) too_big = true;
        count = too_big ? count : count * dim;
    }
    if (too_big || count * type->size > available)
        throw UserError(fmt::format("{}: truncated IDX data: shape ({}) of {} needs more than the {} bytes present",
                                    source, fmt::join(dims, ", "), type->name, available));
    const Shape shape(dims);
    if (count * type->size != available)
        throw UserError(fmt::format("{}: IDX data of shape {} of {} takes {} bytes, but {} follow the header", source,
                                    shape, type->name, count * type->size, available));
    Tensor out = Tensor::empty(dtype, shape);
    const std::byte* p = bytes.data() + header;
    if (dtype == DType::f32) {
        float* o = out.data<float>();
        for (std::uint64_t i = 0; i < count; ++i) o[i] = static_cast<float>(decode(p + i * type->size, code));
    } else {
        double* o = out.data<double>();
        for (std::uint64_t i = 0; i < count; ++i) o[i] = decode(p + i * type->size, code);
    }
    return out;
}

Tensor read_idx(const std::filesystem::path& path, DType dtype) {
    const auto bytes = read_maybe_gzip(path);
    return parse_idx(bytes, path.string(), dtype);
}

IdxDataset read_idx_dataset(const std::filesystem::path& samples, const std::filesystem::path& labels, DType dtype) {
    IdxDataset d{read_idx(samples, dtype), read_idx(labels, dtype)};
    if (d.labels.rank() != 1)
        throw UserError(fmt::format("{}: labels must be rank 1, got shape {}", labels.string(), d.labels.shape()));
    if (d.samples.shape()[0] != d.labels.shape()[0])
        throw UserError(fmt::format("dimension mismatch: {} holds {} samples (shape {}) but {} holds {} labels",
                                    samples.string(), d.samples.shape()[0], d.samples.shape(), labels.string(),
                                    d.labels.shape()[0]));
    return d;
}

}  // namespace nnjit
