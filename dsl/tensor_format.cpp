// The fmt::formatter for Tensor: nested brackets like NumPy, one row per line for rank >= 2.
#include <string>

#include "nnjit/tensor.hpp"

namespace nnjit {
namespace {

constexpr std::int64_t kSummaryThreshold = 1000;  // NumPy's default
constexpr std::int64_t kEdgeItems = 3;

struct Printer {
    const Tensor& t;
    bool summarise;
    std::string out;

    void element(std::int64_t offset) {
        const double v = t.dtype() == DType::f32 ? static_cast<const float*>(t.raw_data())[offset]
                                                 : static_cast<const double*>(t.raw_data())[offset];
        fmt::format_to(std::back_inserter(out), "{:.8g}", v);
    }

    void dim(int d, std::int64_t offset, int indent) {
        if (d == t.rank()) return element(offset);
        const std::int64_t n = t.shape()[d];
        const std::int64_t stride = t.strides()[static_cast<std::size_t>(d)];
        const bool cut = summarise && n > 2 * kEdgeItems;
        const bool inner = d == t.rank() - 1;
        out += '[';
        for (std::int64_t i = 0; i < n; ++i) {
            if (cut && i == kEdgeItems) {
                out += inner ? "..., " : fmt::format("...,\n{:{}}", "", indent + 1);
                i = n - kEdgeItems;
            }
            dim(d + 1, offset + i * stride, indent + 1);
            if (i + 1 < n) {
                if (inner) out += ", ";
                else out += fmt::format(",{:\n>{}}{:{}}", "", t.rank() - d - 1, "", indent + 1);
            }
        }
        out += ']';
    }
};

}  // namespace
}  // namespace nnjit

fmt::format_context::iterator fmt::formatter<nnjit::Tensor>::format(const nnjit::Tensor& t,
                                                                      fmt::format_context& ctx) const {
    nnjit::Printer p{t, t.numel() > nnjit::kSummaryThreshold, {}};
    p.dim(0, 0, 7);  // 7 = strlen("tensor(")
    return fmt::format_to(ctx.out(), "tensor({}, dtype={}, shape={})", p.out, t.dtype(), t.shape());
}
