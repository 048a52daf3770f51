// generate_normalize_kernel(): softmax or log_softmax along contiguous rows, one LLVM function
// doing per row what the interpreter's kernel does (dsl/softmax_kernels.cpp, normalize_row),
// operation for operation, so the two agree bit for bit (along another axis, a row holds
// KernelSpec::columns slices side by side: normalize_columns below, the interpreter's
// normalize_columns, one slice per lane):
//
//   for row in [row_begin, row_end):
//     hi    = max of the row: 16 running maxima (v > m ? v : m) over whole blocks of 16
//             elements, combined in lane order, then the rest one by one
//     shift = hi, or 0 where hi is infinite
//     e     = exp(x - shift) per element (vmath), stored as y for softmax; the sum of the
//             whole blocks in 16 running sums, added in lane order from 0, then the rest
//     y     = e / total, or (x - shift) - log(total)
//
// The row length is part of the kernel (KernelSpec::key), so every loop bound is a constant.
// log_softmax reads x again in its last pass, so its first passes never store: y may be x's
// own buffer (the executor's in-place reuse).
#include <algorithm>
#include <limits>

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/LLVMContext.h>

#include <fmt/format.h>

#include "codegen.hpp"
#include "kernel_function.hpp"
#include "llvm_math.hpp"
#include "nnjit/error.hpp"

namespace nnjit::jit {
namespace {

using llvm::Value;

// The interpreter's running maxima and sums per row (softmax_kernels.cpp, kLanes).
constexpr unsigned kLanes = 16;

class NormalizeBuilder {
public:
    NormalizeBuilder(llvm::LLVMContext& context, const KernelSpec& spec, const std::string& name, unsigned vector_bits)
        : ctx_(context), spec_(spec), module_(std::make_unique<llvm::Module>(name, context)), b_(context),
          lanes_(vector_bits / (spec.dtype == DType::f64 ? 64u : 32u)),
          m_(b_, *module_, spec.dtype == DType::f64, lanes_), len_(static_cast<std::uint64_t>(spec.row_length())) {
        if (kLanes % lanes_ != 0) throw InternalError(fmt::format("normalize kernel: {} lanes per vector", lanes_));
        fn_ = create_kernel_function(*module_, name, vector_bits);
    }

    std::unique_ptr<llvm::Module> build() {
        auto arg = fn_->arg_begin();
        Value* args = &*arg++;
        Value* row_begin = &*arg++;
        Value* row_end = &*arg++;
        b_.SetInsertPoint(block("entry"));
        Value* x_base = b_.CreateLoad(b_.getPtrTy(), args);
        Value* y_base = b_.CreateLoad(b_.getPtrTy(), b_.CreateConstGEP1_64(b_.getPtrTy(), args, 1));
        loop("row", row_begin, row_end, 1, {}, [&](Value* row, const std::vector<Value*>&) {
            Value* offset = b_.CreateMul(row, b_.getInt64(len_));
            Value* x = b_.CreateGEP(m_.elem, x_base, offset);
            Value* y = b_.CreateGEP(m_.elem, y_base, offset);
            if (spec_.columns == 1) normalize_row(x, y);
            else normalize_columns(x, y);
            return std::vector<Value*>{};
        });
        b_.CreateRetVoid();
        return verified(std::move(module_), spec_);
    }

private:
    llvm::LLVMContext& ctx_;
    const KernelSpec& spec_;
    std::unique_ptr<llvm::Module> module_;
    llvm::IRBuilder<> b_;
    unsigned lanes_;
    LlvmMath m_;
    std::uint64_t len_;
    llvm::Function* fn_ = nullptr;

    llvm::Type* i64() { return b_.getInt64Ty(); }
    llvm::BasicBlock* block(const llvm::Twine& name) { return llvm::BasicBlock::Create(ctx_, name, fn_); }
    std::uint64_t whole_blocks_end() const { return len_ / kLanes * kLanes; }
    unsigned vectors_per_block() const { return kLanes / lanes_; }
    bool is_log() const { return spec_.normalize == KernelSpec::Normalize::log_softmax; }

    // for (i = first; i < last; i += step) state = body(i, state), `state` one value per
    // loop-carried register; returns the state after the loop, where the insertion point ends.
    template <class Body>
    std::vector<Value*> loop(const char* name, Value* first, Value* last, std::uint64_t step, std::vector<Value*> state,
                             const Body& body) {
        auto* pre = b_.GetInsertBlock();
        auto* head = block(name);
        auto* body_block = block(llvm::Twine(name) + ".body");
        auto* exit = block(llvm::Twine(name) + ".end");
        b_.CreateBr(head);
        b_.SetInsertPoint(head);
        auto* i = b_.CreatePHI(i64(), 2, name);
        i->addIncoming(first, pre);
        std::vector<llvm::PHINode*> phis;
        for (Value* s : state) {
            phis.push_back(b_.CreatePHI(s->getType(), 2));
            phis.back()->addIncoming(s, pre);
        }
        b_.CreateCondBr(b_.CreateICmpSLT(i, last), body_block, exit);
        b_.SetInsertPoint(body_block);
        std::vector<Value*> current(phis.begin(), phis.end());
        std::vector<Value*> next = body(i, current);
        i->addIncoming(b_.CreateAdd(i, b_.getInt64(step)), b_.GetInsertBlock());
        for (std::size_t k = 0; k < phis.size(); ++k) phis[k]->addIncoming(next[k], b_.GetInsertBlock());
        b_.CreateBr(head);
        b_.SetInsertPoint(exit);
        return current;
    }

    // The same over the whole blocks of a row (block start i = 0, 16, ...).
    template <class Body>
    std::vector<Value*> over_blocks(const char* name, std::vector<Value*> state, const Body& body) {
        if (whole_blocks_end() == 0) return state;
        return loop(name, b_.getInt64(0), b_.getInt64(whole_blocks_end()), kLanes, std::move(state), body);
    }

    Value* splat(Value* scalar) { return b_.CreateVectorSplat(lanes_, scalar); }
    Value* scalar(double v) { return llvm::ConstantFP::get(m_.elem, v); }
    Value* at(Value* base, Value* index) { return b_.CreateGEP(m_.elem, base, index); }
    Value* load(Value* base, Value* index) { return b_.CreateAlignedLoad(m_.vec, at(base, index), align()); }
    void store(Value* v, Value* base, Value* index) { b_.CreateAlignedStore(v, at(base, index), align()); }
    llvm::Align align() const { return llvm::Align(dtype_size(spec_.dtype)); }
    Value* load_scalar(Value* base, std::uint64_t i) { return b_.CreateLoad(m_.elem, at(base, b_.getInt64(i))); }
    // v > best ? v : best, the interpreter's pick_max.
    Value* pick_max(Value* v, Value* best) { return b_.CreateSelect(b_.CreateFCmpOGT(v, best), v, best); }

    // The element `lane` of a block held as vectors_per_block() vectors.
    Value* lane_of(const std::vector<Value*>& vectors, unsigned lane) {
        return b_.CreateExtractElement(vectors[lane / lanes_], b_.getInt64(lane % lanes_));
    }

    // Index of vector k of the block starting at i.
    Value* in_block(Value* i, unsigned k) { return b_.CreateAdd(i, b_.getInt64(k * lanes_)); }

    // The rest of the row after the whole blocks, as vectors with the lanes past the row's
    // end masked off; f(index, lane mask or null, lanes in the row) for each.
    template <class F> void over_rest(const F& f) {
        for (std::uint64_t i = whole_blocks_end(); i < len_; i += lanes_) {
            const std::uint64_t count = std::min<std::uint64_t>(lanes_, len_ - i);
            f(b_.getInt64(i), count < lanes_ ? lane_mask(count) : nullptr, count);
        }
    }
    // The first `count` lanes on.
    Value* lane_mask(std::uint64_t count) {
        std::vector<llvm::Constant*> on;
        for (unsigned l = 0; l < lanes_; ++l) on.push_back(b_.getInt1(l < count));
        return llvm::ConstantVector::get(on);
    }
    Value* load_rest(Value* base, Value* i, Value* mask) {
        if (!mask) return load(base, i);
        return b_.CreateMaskedLoad(m_.vec, at(base, i), align(), mask, m_.c(0));
    }
    void store_rest(Value* v, Value* base, Value* i, Value* mask) {
        if (!mask) store(v, base, i);
        else b_.CreateMaskedStore(v, at(base, i), align(), mask);
    }

    void normalize_row(Value* x, Value* y) {
        const double inf = std::numeric_limits<double>::infinity();
        const unsigned per_block = vectors_per_block();

        // The maximum.
        auto running_max = [&](Value* i, const std::vector<Value*>& m) {
            std::vector<Value*> next;
            for (unsigned k = 0; k < per_block; ++k) next.push_back(pick_max(load(x, in_block(i, k)), m[k]));
            return next;
        };
        std::vector<Value*> maxima = over_blocks("max", std::vector<Value*>(per_block, m_.c(-inf)), running_max);
        Value* hi = scalar(-inf);
        for (unsigned l = 0; l < kLanes; ++l) hi = pick_max(lane_of(maxima, l), hi);
        for (std::uint64_t i = whole_blocks_end(); i < len_; ++i) hi = pick_max(load_scalar(x, i), hi);
        Value* infinite = b_.CreateFCmpOEQ(b_.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, hi), scalar(inf));
        Value* shift = splat(b_.CreateSelect(infinite, scalar(0), hi));

        // exp(x - shift), stored for softmax, summed.
        auto exp_at = [&](Value* i, Value* mask) { return m_.exp(m_.sub(load_rest(x, i, mask), shift)); };
        auto running_sum = [&](Value* i, const std::vector<Value*>& s) {
            std::vector<Value*> next;
            for (unsigned k = 0; k < per_block; ++k) {
                Value* e = exp_at(in_block(i, k), nullptr);
                if (!is_log()) store(e, y, in_block(i, k));
                next.push_back(b_.CreateFAdd(s[k], e));
            }
            return next;
        };
        std::vector<Value*> sums = over_blocks("sum", std::vector<Value*>(per_block, m_.c(0)), running_sum);
        Value* total = scalar(0);
        for (unsigned l = 0; l < kLanes; ++l) total = b_.CreateFAdd(total, lane_of(sums, l));
        over_rest([&](Value* i, Value* mask, std::uint64_t count) {
            Value* e = exp_at(i, mask);
            if (!is_log()) store_rest(e, y, i, mask);
            for (std::uint64_t l = 0; l < count; ++l)
                total = b_.CreateFAdd(total, b_.CreateExtractElement(e, b_.getInt64(l)));
        });

        // The result: e / total, or (x - shift) - log(total).
        Value* totals = splat(total);
        Value* log_total = is_log() ? m_.log(totals) : nullptr;
        auto result = [&](Value* i, Value* mask, std::uint64_t) {
            Value* v = is_log() ? m_.sub(m_.sub(load_rest(x, i, mask), shift), log_total)
                                : m_.div(load_rest(y, i, mask), totals);
            store_rest(v, y, i, mask);
        };
        over_blocks("out", {}, [&](Value* i, const std::vector<Value*>&) {
            for (unsigned k = 0; k < per_block; ++k) result(in_block(i, k), nullptr, lanes_);
            return std::vector<Value*>{};
        });
        over_rest(result);
    }

    // Along another axis: the row's slices side by side, a vector of them at a time, each lane
    // doing the interpreter's normalize_columns for its slice (sequential maximum and sum).
    void normalize_columns(Value* x, Value* y) {
        const auto columns = static_cast<std::uint64_t>(spec_.columns);
        const std::uint64_t whole = columns / lanes_ * lanes_;
        if (whole > 0)
            loop("columns", b_.getInt64(0), b_.getInt64(whole), lanes_, {}, [&](Value* j, const std::vector<Value*>&) {
                normalize_column_vector(x, y, j, nullptr);
                return std::vector<Value*>{};
            });
        if (whole < columns) normalize_column_vector(x, y, b_.getInt64(whole), lane_mask(columns - whole));
    }

    // The slices j, j + 1, ... one per lane (`mask`: those that exist).
    void normalize_column_vector(Value* x, Value* y, Value* j, Value* mask) {
        const double inf = std::numeric_limits<double>::infinity();
        const auto columns = static_cast<std::uint64_t>(spec_.columns);
        // body(index of element a of the lanes' slices, state) for a = 0, 1, ... along the axis.
        auto along = [&](const char* name, std::vector<Value*> state, const auto& body) {
            return loop(name, b_.getInt64(0), b_.getInt64(len_ / columns), 1, std::move(state),
                        [&](Value* a, const std::vector<Value*>& s) {
                            return body(b_.CreateAdd(b_.CreateMul(a, b_.getInt64(columns)), j), s);
                        });
        };
        Value* hi = along("max", {m_.c(-inf)}, [&](Value* i, const std::vector<Value*>& s) {
            return std::vector<Value*>{pick_max(load_rest(x, i, mask), s[0])};
        })[0];
        Value* infinite = b_.CreateFCmpOEQ(b_.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, hi), m_.c(inf));
        Value* shift = b_.CreateSelect(infinite, m_.c(0), hi);
        Value* total = along("sum", {m_.c(0)}, [&](Value* i, const std::vector<Value*>& s) {
            Value* e = m_.exp(m_.sub(load_rest(x, i, mask), shift));
            if (!is_log()) store_rest(e, y, i, mask);
            return std::vector<Value*>{b_.CreateFAdd(s[0], e)};
        })[0];
        Value* log_total = is_log() ? m_.log(total) : nullptr;
        along("out", {}, [&](Value* i, const std::vector<Value*>&) {
            Value* v = is_log() ? m_.sub(m_.sub(load_rest(x, i, mask), shift), log_total)
                                : m_.div(load_rest(y, i, mask), total);
            store_rest(v, y, i, mask);
            return std::vector<Value*>{};
        });
    }
};

}  // namespace

std::unique_ptr<llvm::Module> generate_normalize_kernel(llvm::LLVMContext& context, const KernelSpec& spec,
                                                        const std::string& name, unsigned vector_bits) {
    return NormalizeBuilder(context, spec, name, vector_bits).build();
}

// As codegen_build_stamp(): part of the on-disk cache key.
const char* normalize_codegen_build_stamp() { return __DATE__ " " __TIME__; }

}  // namespace nnjit::jit
