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
        // The columns of a row to do (a row of side-by-side slices may be split across chunks;
        // the executor passes (0, row length) for whole rows).
        Value* column_begin = &*arg++;
        Value* column_end = &*arg++;
        b_.SetInsertPoint(block("entry"));
        if (static_cast<std::uint64_t>(spec_.columns) > kRegisterVectors * lanes_) {  // normalize_column_tile's
            const std::uint64_t room = kTile + lanes_;  // a tile and its rest vector
            maxima_ = b_.CreateAlloca(m_.elem, b_.getInt64(room));
            sums_ = b_.CreateAlloca(m_.elem, b_.getInt64(room));
        }
        Value* x_base = b_.CreateLoad(b_.getPtrTy(), args);
        Value* y_base = b_.CreateLoad(b_.getPtrTy(), b_.CreateConstGEP1_64(b_.getPtrTy(), args, 1));
        loop("row", row_begin, row_end, 1, {}, [&](Value* row, const std::vector<Value*>&) {
            Value* offset = b_.CreateMul(row, b_.getInt64(len_));
            Value* x = b_.CreateGEP(m_.elem, x_base, offset);
            Value* y = b_.CreateGEP(m_.elem, y_base, offset);
            if (spec_.columns == 1) normalize_row(x, y);
            else normalize_columns(x, y, column_begin, column_end);
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
    Value* maxima_ = nullptr;  // normalize_columns' stack rows: a tile's maxima (then shifts)
    Value* sums_ = nullptr;    // and sums (then, for log_softmax, their logarithms)

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
    // hi, or 0 where hi is infinite: the interpreter's shift_of (scalar or vector).
    Value* shift_of(Value* hi) {
        Value* infinite = b_.CreateFCmpOEQ(b_.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, hi),
                                           llvm::ConstantFP::getInfinity(hi->getType()));
        return b_.CreateSelect(infinite, llvm::ConstantFP::get(hi->getType(), 0.0), hi);
    }

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
        Value* shift = splat(shift_of(hi));

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

    // Along another axis: the row's slices side by side, each lane of a vector doing the
    // interpreter's normalize_columns for its slice, in its order: each pass sweeps the rows
    // of a tile of kTile slices element by element (contiguous memory), keeping the tile's
    // maxima and sums in two stack rows. Slices [first, last) of the row: `first` is a
    // multiple of the vector's lanes (chunks start at multiples of 64), so only the tile that
    // holds the row's last slice has a rest.
    static constexpr std::uint64_t kTile = 1024;

    void normalize_columns(Value* x, Value* y, Value* first, Value* last) {
        if (static_cast<std::uint64_t>(spec_.columns) <= kRegisterVectors * lanes_) {
            normalize_few_columns(x, y);  // one chunk: at most 64 slices
            return;
        }
        Value* end = b_.CreateBinaryIntrinsic(llvm::Intrinsic::smin, last, b_.getInt64(spec_.columns));
        loop("tiles", first, end, kTile, {}, [&](Value* t, const std::vector<Value*>&) {
            Value* tile_end = b_.CreateBinaryIntrinsic(llvm::Intrinsic::smin, end, b_.CreateAdd(t, b_.getInt64(kTile)));
            normalize_column_tile(x, y, t, tile_end);
            return std::vector<Value*>{};
        });
    }

    // A row of at most kRegisterVectors vectors of slices: their maxima and sums stay in
    // registers over the sweeps (the stack rows' store and reload would be the loop's longest
    // chain). Same operations, same order.
    static constexpr unsigned kRegisterVectors = 4;

    void normalize_few_columns(Value* x, Value* y) {
        const double inf = std::numeric_limits<double>::infinity();
        const auto columns = static_cast<std::uint64_t>(spec_.columns);
        std::vector<std::pair<std::uint64_t, Value*>> vectors;  // (first slice, lane mask or null)
        for (std::uint64_t j = 0; j < columns; j += lanes_)
            vectors.emplace_back(j, j + lanes_ <= columns ? nullptr : lane_mask(columns - j));
        // state = f(element index, vector k, state) over the rows along the axis.
        auto sweep = [&](const char* name, std::vector<Value*> start, const auto& f) {
            return loop(name, b_.getInt64(0), b_.getInt64(len_ / columns), 1, std::move(start),
                        [&](Value* a, const std::vector<Value*>& s) {
                            Value* row_start = b_.CreateMul(a, b_.getInt64(columns));
                            std::vector<Value*> next(s.size());
                            for (std::size_t k = 0; k < vectors.size(); ++k)
                                next[k] = f(b_.CreateAdd(row_start, b_.getInt64(vectors[k].first)), k, s);
                            return next;
                        });
        };
        auto mask = [&](std::size_t k) { return vectors[k].second; };
        std::vector<Value*> shift = sweep("max", std::vector<Value*>(vectors.size(), m_.c(-inf)),
                                          [&](Value* i, std::size_t k, const std::vector<Value*>& s) {
                                              return pick_max(load_rest(x, i, mask(k)), s[k]);
                                          });
        for (Value*& hi : shift) hi = shift_of(hi);
        std::vector<Value*> total = sweep("sum", std::vector<Value*>(vectors.size(), m_.c(0)),
                                          [&](Value* i, std::size_t k, const std::vector<Value*>& s) {
                                              Value* e = m_.exp(m_.sub(load_rest(x, i, mask(k)), shift[k]));
                                              if (!is_log()) store_rest(e, y, i, mask(k));
                                              return b_.CreateFAdd(s[k], e);
                                          });
        if (is_log())
            for (Value*& t : total) t = m_.log(t);
        sweep("out", std::vector<Value*>(vectors.size(), m_.c(0)), [&](Value* i, std::size_t k, const std::vector<Value*>& s) {
            Value* v = is_log() ? m_.sub(m_.sub(load_rest(x, i, mask(k)), shift[k]), total[k])
                                : m_.div(load_rest(y, i, mask(k)), total[k]);
            store_rest(v, y, i, mask(k));
            return s[k];
        });
    }

    // f(slice index j, lane mask or null) for the vectors of slices [t, t_end).
    template <class F> void over_tile(Value* t, Value* t_end, const F& f) {
        const auto columns = static_cast<std::uint64_t>(spec_.columns);
        const std::uint64_t whole = columns / lanes_ * lanes_;
        loop("vectors", t, b_.CreateBinaryIntrinsic(llvm::Intrinsic::smin, t_end, b_.getInt64(whole)), lanes_, {},
             [&](Value* j, const std::vector<Value*>&) {
                 f(j, nullptr);
                 return std::vector<Value*>{};
             });
        if (whole == columns) return;
        auto* rest = block("rest");
        auto* done = block("rest.end");
        b_.CreateCondBr(b_.CreateICmpSGT(t_end, b_.getInt64(whole)), rest, done);
        b_.SetInsertPoint(rest);
        f(b_.getInt64(whole), lane_mask(columns - whole));
        b_.CreateBr(done);
        b_.SetInsertPoint(done);
    }

    void normalize_column_tile(Value* x, Value* y, Value* t, Value* t_end) {
        const double inf = std::numeric_limits<double>::infinity();
        const auto columns = static_cast<std::uint64_t>(spec_.columns);
        // State of slice j: element j - t of a stack row (whole vectors: the rest's dead lanes too).
        auto state = [&](Value* row, Value* j) { return at(row, b_.CreateSub(j, t)); };
        auto load_state = [&](Value* row, Value* j) { return b_.CreateAlignedLoad(m_.vec, state(row, j), align()); };
        auto store_state = [&](Value* v, Value* row, Value* j) { b_.CreateAlignedStore(v, state(row, j), align()); };
        // f(element index, j, mask) over the tile's elements, row after row along the axis.
        auto sweep = [&](const char* name, const auto& f) {
            loop(name, b_.getInt64(0), b_.getInt64(len_ / columns), 1, {}, [&](Value* a, const std::vector<Value*>&) {
                Value* row_start = b_.CreateMul(a, b_.getInt64(columns));
                over_tile(t, t_end, [&](Value* j, Value* mask) { f(b_.CreateAdd(row_start, j), j, mask); });
                return std::vector<Value*>{};
            });
        };
        over_tile(t, t_end, [&](Value* j, Value*) {
            store_state(m_.c(-inf), maxima_, j);
            store_state(m_.c(0), sums_, j);
        });
        sweep("max", [&](Value* i, Value* j, Value* mask) {
            store_state(pick_max(load_rest(x, i, mask), load_state(maxima_, j)), maxima_, j);
        });
        over_tile(t, t_end, [&](Value* j, Value*) {  // the shift, in place of the maximum
            store_state(shift_of(load_state(maxima_, j)), maxima_, j);
        });
        sweep("sum", [&](Value* i, Value* j, Value* mask) {
            Value* e = m_.exp(m_.sub(load_rest(x, i, mask), load_state(maxima_, j)));
            if (!is_log()) store_rest(e, y, i, mask);
            store_state(b_.CreateFAdd(load_state(sums_, j), e), sums_, j);
        });
        if (is_log()) over_tile(t, t_end, [&](Value* j, Value*) { store_state(m_.log(load_state(sums_, j)), sums_, j); });
        sweep("out", [&](Value* i, Value* j, Value* mask) {
            Value* v = is_log() ? m_.sub(m_.sub(load_rest(x, i, mask), load_state(maxima_, j)), load_state(sums_, j))
                                : m_.div(load_rest(y, i, mask), load_state(sums_, j));
            store_rest(v, y, i, mask);
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
