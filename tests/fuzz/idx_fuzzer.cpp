// libFuzzer target for the IDX reader (uncompressed bytes; gzip is zlib's): the input is a file.
// The reader must either return a tensor or throw UserError; anything else (a crash, a
// sanitizer report, another exception) is a finding. An accepted file reads the same in float32
// and float64 (up to the rounding of float64 values to float32) and cannot hold more values than
// it has bytes.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <span>

#include <fmt/format.h>

#include "nnjit/error.hpp"
#include "nnjit/idx.hpp"

using namespace nnjit;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    Tensor f32, f64;
    try {
        f32 = parse_idx(bytes, "fuzz.idx", DType::f32);
    } catch (const UserError&) {
        try {
            (void)parse_idx(bytes, "fuzz.idx", DType::f64);
        } catch (const UserError&) {
            return 0;
        }
        fmt::print(stderr, "idx fuzzer finding: rejected as float32 but accepted as float64\n");
        std::abort();
    }
    f64 = parse_idx(bytes, "fuzz.idx", DType::f64);
    if (f32.dtype() != DType::f32 || f64.dtype() != DType::f64 || f32.shape() != f64.shape() ||
        static_cast<std::size_t>(f32.shape().numel()) > size) {
        fmt::print(stderr, "idx fuzzer finding: {} {} and {} {} from {} bytes\n", f32.dtype(), f32.shape(),
                   f64.dtype(), f64.shape(), size);
        std::abort();
    }
    const auto a = f32.to_doubles(), b = f64.to_doubles();
    for (std::size_t i = 0; i < a.size(); ++i) {
        const double rounded = static_cast<double>(static_cast<float>(b[i]));
        if (!(a[i] == rounded || (std::isnan(a[i]) && std::isnan(rounded)))) {
            fmt::print(stderr, "idx fuzzer finding: element {} reads {} as float32 but {} as float64\n", i, a[i], b[i]);
            std::abort();
        }
    }
    return 0;
}
