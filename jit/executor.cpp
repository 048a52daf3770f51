// JitProgram: runs the steps of a plan in order.
#include "executor.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <optional>

#include <omp.h>

#include "engine.hpp"
#include "nnjit/error.hpp"
#include "nnjit/interpreter.hpp"
#include "nnjit/thread_policy.hpp"

namespace nnjit::jit {
namespace {

// Work per chunk: large enough that OpenMP's overhead is noise, small enough to share out.
constexpr std::int64_t kChunkElements = std::int64_t{1} << 17;
// At most this many chunks: bounds the per-chunk partial sums of a reduction.
constexpr std::int64_t kMaxChunks = 64;
// A kernel runs on several threads only from this many elements. Starting the other threads
// costs tens of microseconds (they are released between kernels, see run_chunks), and on a busy
// machine a woken thread can wait a scheduler tick before it runs; the cheapest kernel (relu,
// 8 bytes per element from memory) takes ~0.25 ms on one thread at 2^20 elements, so from
// there the split pays even when waking is slow, and below it one thread is as fast.
constexpr std::int64_t kParallelElements = std::int64_t{1} << 20;

struct Chunks {
    std::int64_t count = 1;
    std::int64_t per_chunk = 0;  // rows, or elements of the single row
    bool by_rows = true;
};

// Depends on the kernel's shape only: the thread count never changes how sums are split.
Chunks chunks_of(const KernelSpec& spec) {
    const std::int64_t rows = spec.rows(), len = spec.row_length();
    const std::int64_t want = std::clamp<std::int64_t>((rows * len + kChunkElements - 1) / kChunkElements, 1, kMaxChunks);
    Chunks c;
    if (rows == 1) {
        c.by_rows = false;
        c.per_chunk = (len + want - 1) / want;
        c.per_chunk = (c.per_chunk + 63) / 64 * 64;  // whole vectors at every chunk start
    } else {
        c.per_chunk = (rows + want - 1) / want;
    }
    c.per_chunk = std::max<std::int64_t>(c.per_chunk, 1);
    const std::int64_t total = c.by_rows ? rows : len;
    c.count = std::max<std::int64_t>(1, (total + c.per_chunk - 1) / c.per_chunk);
    return c;
}

// Runs body(c) for every chunk c in [0, count): on the calling thread alone below
// kParallelElements or when no core is idle, else across OpenMP threads. Chunks are taken
// dynamically, so a thread that is slowed down takes fewer (which chunk runs where never
// changes a result: each has its own partial sums). Afterwards the threads are released
// rather than left spinning (thread_policy.hpp).
template <class Body> void run_chunks(std::int64_t count, std::int64_t elements, const Body& body) {
    const int threads = count < 2 || elements < kParallelElements || omp_in_parallel() ? 1 : useful_threads();
    if (threads < 2) {
        for (std::int64_t c = 0; c < count; ++c) body(c);
        return;
    }
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (std::int64_t c = 0; c < count; ++c) body(c);
    release_threads();
}

// The L3 size as Linux describes it (sysconf's can be the sum over a whole host: 320 MiB in
// the VM this was measured on, whose L3 is 32 MiB); 32 MiB when unknown.
std::int64_t last_level_cache_bytes() {
    static const std::int64_t bytes = [] {
        std::int64_t kib = 0;
        if (std::FILE* f = std::fopen("/sys/devices/system/cpu/cpu0/cache/index3/size", "r")) {
            long long v = 0;
            char unit = 0;
            if (std::fscanf(f, "%lld%c", &v, &unit) == 2 && unit == 'K') kib = v;
            std::fclose(f);
        }
        return kib > 0 ? kib * 1024 : std::int64_t{32} << 20;
    }();
    return bytes;
}

// Stores past the caches (non-temporal) when a kernel's arrays cannot stay in the last-level
// cache anyway: a plain store first reads its cache line (write allocation), so a kernel with
// 2 inputs and 2 outputs moves 6 lines per line of output pairs instead of 4. x86 only (the
// code ends with an sfence); one-dimensional kernels only (the alignment check is per row).
bool wants_streaming_stores(const KernelSpec& spec) {
#if defined(__x86_64__)
    if (spec.dims.size() != 1 || spec.stores.empty()) return false;
    const auto arrays = static_cast<std::int64_t>(spec.operands.size() + spec.stores.size());
    return spec.numel() * static_cast<std::int64_t>(dtype_size(spec.dtype)) * arrays > last_level_cache_bytes();
#else
    (void)spec;
    return false;
#endif
}

bool is_view_op(Op op) {
    return op == Op::Input || op == Op::Parameter || op == Op::Literal || op == Op::BroadcastTo || op == Op::Reshape ||
           op == Op::Transpose;
}

template <class T> void finish_sum(const double* partial, std::int64_t chunks, std::int64_t size,
                                   double scale, Tensor& out) {
    T* o = out.data<T>();
    for (std::int64_t j = 0; j < size; ++j) {
        double total = 0;
        for (std::int64_t c = 0; c < chunks; ++c) total += partial[static_cast<std::size_t>(c * size + j)];
        o[j] = static_cast<T>(total * scale);
    }
}

// Zeroed per-chunk partial sums of a reduction: up to kMaxChunks times its output, so an
// absurd size fails here first, and that is the caller's error as for any tensor. (Allocated
// without throwing: a sanitizer's allocator aborts where the plain one throws bad_alloc.)
std::unique_ptr<double[]> partial_sums(std::int64_t chunks, const Node& reduced) {
    std::int64_t count = 0;
    double* sums = nullptr;
    if (!__builtin_mul_overflow(chunks, reduced.shape().numel(), &count))
        sums = new (std::nothrow) double[static_cast<std::size_t>(count)]();
    if (sums == nullptr)
        throw UserError(fmt::format("cannot allocate the partial sums of a {} of shape {} ({} chunks)",
                                    op_name(reduced.op()), reduced.shape(), chunks));
    return std::unique_ptr<double[]>(sums);
}

}  // namespace

JitProgram::JitProgram(Plan plan) : graph_nodes_(plan.outputs.front().graph().nodes_owner()), plan_(std::move(plan)) {
    Engine& engine = Engine::instance();
    // Kernels already in the engine's memory cache are taken here, on this thread; the others
    // compile side by side (the engine is thread-safe) when there are several. An exception
    // cannot leave an OpenMP region, so the first one is carried out and rethrown.
    kernels_.assign(plan_.kernels.size(), {});
    for (FusedKernel& k : plan_.kernels) k.spec.streaming_stores = k.spec.streaming_stores || wants_streaming_stores(k.spec);
    std::vector<std::size_t> missing;
    for (std::size_t k = 0; k < plan_.kernels.size(); ++k)
        if (!(kernels_[k] = engine.find(plan_.kernels[k].spec)).fn) missing.push_back(k);
    std::exception_ptr error;
    const auto count = static_cast<std::int64_t>(missing.size());
#pragma omp parallel for schedule(dynamic, 1) if (count > 1)
    for (std::int64_t m = 0; m < count; ++m) {
        const std::size_t k = missing[static_cast<std::size_t>(m)];
        try {
            kernels_[k] = engine.compile(plan_.kernels[k].spec);
        } catch (...) {
#pragma omp critical(nnjit_compile_error)
            if (!error) error = std::current_exception();
        }
    }
    if (count > 1) release_threads();  // as run_chunks: no thread left spinning
    if (error) std::rethrow_exception(error);
    const Graph& g = plan_.outputs.front().graph();
    position_.assign(static_cast<std::size_t>(g.size()), -1);
    for (std::size_t i = 0; i < plan_.order.size(); ++i) position_[static_cast<std::size_t>(plan_.order[i]->id())] = static_cast<int>(i);
}

std::vector<Tensor> JitProgram::run(const Bindings& bindings) const { return execute(bindings, {}); }

void JitProgram::run_into(const Bindings& bindings, std::span<Tensor> outputs) const {
    if (outputs.size() != plan_.outputs.size())
        throw UserError(fmt::format("run_into: {} output tensors given, the program has {}", outputs.size(),
                                    plan_.outputs.size()));
    for (std::size_t k = 0; k < outputs.size(); ++k) {
        const Node& n = *plan_.outputs[k].node();
        if (outputs[k].dtype() != n.dtype() || outputs[k].shape() != n.shape() || !outputs[k].is_contiguous())
            throw UserError(fmt::format("run_into: output {} must be a contiguous {} {}, got {} {}", k, n.dtype(),
                                        n.shape(), outputs[k].dtype(), outputs[k].shape()));
    }
    auto results = execute(bindings, outputs);
    for (std::size_t k = 0; k < outputs.size(); ++k)
        if (!results[k].shares_storage_with(outputs[k]))
            std::memcpy(outputs[k].raw_data(), results[k].raw_data(),
                        static_cast<std::size_t>(outputs[k].numel()) * dtype_size(outputs[k].dtype()));
}

std::vector<Tensor> JitProgram::execute(const Bindings& bindings, std::span<Tensor> caller_outputs) const {
    const auto& order = plan_.order;
    auto at = [&](const Node* n) { return static_cast<std::size_t>(position_[static_cast<std::size_t>(n->id())]); };
    std::vector<std::optional<Tensor>> values(order.size());

    std::vector<int> caller_index(order.size(), -1);
    for (std::size_t k = 0; k < caller_outputs.size(); ++k)
        if (caller_index[at(plan_.outputs[k].node())] < 0) caller_index[at(plan_.outputs[k].node())] = static_cast<int>(k);
    auto output_tensor = [&](const Node* n) {
        const int k = caller_index[at(n)];
        return k >= 0 ? caller_outputs[static_cast<std::size_t>(k)] : Tensor::empty(n->dtype(), n->shape());
    };

    // Placeholders come from the bindings (made contiguous: kernels read them by pointer);
    // views and constants are made when a step needs them as tensors. A step that computes an
    // output writes into the caller's tensor (a product is not copied there afterwards).
    auto tensor_of = [&](auto& self, const Node* n) -> const Tensor& {
        auto& slot = values[at(n)];
        if (slot) return *slot;
        if (n->op() == Op::Input || n->op() == Op::Parameter) {
            const Tensor& t = bound_tensor(*n, bindings);
            slot = t.is_contiguous() ? t : t.contiguous();
        } else {
            std::vector<Tensor> ins;
            for (const Node* in : n->inputs()) ins.push_back(self(self, in));
            slot = evaluate_node(*n, ins, [&](DType, const Shape&) { return output_tensor(n); });
        }
        return *slot;
    };
    // Check every binding up front, as the interpreter does, before any work is done.
    for (const Node* n : order)
        if (n->op() == Op::Input || n->op() == Op::Parameter) tensor_of(tensor_of, n);

    std::vector<void*> args;
    for (const PlanStep& step : plan_.steps) {
        if (step.kernel < 0) {
            tensor_of(tensor_of, step.node);
            continue;
        }
        const FusedKernel& fk = plan_.kernels[static_cast<std::size_t>(step.kernel)];
        const KernelSpec& spec = fk.spec;
        const Chunks chunks = chunks_of(spec);
        std::vector<void*> base;
        for (const Node* src : fk.operand_sources) {
            const Tensor& t = tensor_of(tensor_of, src);
            if (!t.is_contiguous()) throw InternalError(fmt::format("JIT: operand %{} is not contiguous", src->id()));
            base.push_back(const_cast<void*>(t.raw_data()));
        }
        for (const Node* s : fk.stored) {
            values[at(s)] = output_tensor(s);
            base.push_back(values[at(s)]->raw_data());
        }
        std::vector<std::unique_ptr<double[]>> partial;
        for (const Node* r : fk.reduced) partial.push_back(partial_sums(chunks.count, *r));

        if (fk.domain.numel() > 0) {
            const std::size_t width = base.size() + partial.size();
            args.assign(static_cast<std::size_t>(chunks.count) * width, nullptr);
            for (std::int64_t c = 0; c < chunks.count; ++c) {
                void** a = args.data() + static_cast<std::size_t>(c) * width;
                std::copy(base.begin(), base.end(), a);
                for (std::size_t r = 0; r < partial.size(); ++r)
                    a[base.size() + r] = partial[r].get() + c * fk.reduced[r]->shape().numel();
            }
            const KernelFn fn = kernels_[static_cast<std::size_t>(step.kernel)].fn;
            const std::int64_t rows = spec.rows(), len = spec.row_length(), count = chunks.count;
            run_chunks(count, rows * len, [&](std::int64_t c) {
                void* const* a = args.data() + static_cast<std::size_t>(c) * width;
                const std::int64_t lo = c * chunks.per_chunk;
                if (chunks.by_rows) fn(a, lo, std::min(rows, lo + chunks.per_chunk), 0, len);
                else fn(a, 0, 1, lo, std::min(len, lo + chunks.per_chunk));
            });
        }
        for (std::size_t r = 0; r < fk.reduced.size(); ++r) {
            const Node* n = fk.reduced[r];
            const std::int64_t size = n->shape().numel();
            // As the interpreter scales a mean: count of outputs over count of inputs.
            const double scale = n->op() == Op::Mean ? static_cast<double>(size) / static_cast<double>(fk.domain.numel()) : 1.0;
            Tensor out = output_tensor(n);
            if (n->dtype() == DType::f64) finish_sum<double>(partial[r].get(), chunks.count, size, scale, out);
            else finish_sum<float>(partial[r].get(), chunks.count, size, scale, out);
            values[at(n)] = std::move(out);
        }
    }

    std::vector<Tensor> out;
    std::vector<bool> handed_out(order.size(), false);
    for (const Value& v : plan_.outputs) {
        const Node* n = v.node();
        const Tensor& t = tensor_of(tensor_of, n);
        // Outputs are fresh and contiguous: never a view of a caller's tensor or a literal,
        // never the same storage twice.
        const bool copy = is_view_op(n->op()) || !t.is_contiguous() || handed_out[at(n)];
        handed_out[at(n)] = true;
        out.push_back(copy ? t.clone() : t);
    }
    return out;
}

}  // namespace nnjit::jit
