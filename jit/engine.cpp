// Engine: the LLJIT wrapper, the optimisation pipeline, and the two kernel caches.
//
// Each compile: codegen into a fresh LLVMContext -> a short new-pass-manager pipeline with the host
// TargetMachine (so X86's cost model is used) -> object code from that same TargetMachine ->
// the object goes to the disk cache and into its own JITDylib -> lookup. Producing the object
// ourselves (rather than through LLJIT's compile layer) is what lets the disk cache store and
// reload it. LLVM reports failures as llvm::Error; they become messages here and never
// propagate through LLVM frames as exceptions.
//
// Latency (bench/jit_compile_bench.cpp): object code is ~85% of a compile, so the code generator
// runs at CodeGenOptLevel::Less and the IR pipeline is two cheap passes. A process that only
// loads kernels from the disk cache never creates a TargetMachine for the host: the engine
// makes the first one when a kernel has to be compiled.
#include "engine.hpp"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <list>
#include <mutex>
#include <optional>
#include <thread>
#include <unistd.h>
#include <unordered_map>
#include <variant>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>

#include <llvm/Config/llvm-config.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/IR/Module.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Transforms/Scalar/EarlyCSE.h>
#include <llvm/Transforms/Scalar/SimplifyCFG.h>
#include <llvm/Transforms/Utils/Cloning.h>
#include <llvm/Transforms/Utils/Mem2Reg.h>

#include <fmt/format.h>

#include "fp_flags.hpp"
#include "nnjit/error.hpp"

namespace nnjit::jit {

// Defined in codegen.cpp and normalize_codegen.cpp: changes whenever codegen, the rules or
// vmath are rebuilt, so that objects on disk from an older build are never reused.
const char* codegen_build_stamp();
const char* normalize_codegen_build_stamp();

namespace {

std::string message(llvm::Error error) { return llvm::toString(std::move(error)); }

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
}

bool has_feature(const std::string& features, std::string_view name) {
    return features.find(fmt::format("+{},", name)) != std::string::npos ||
           features.ends_with(fmt::format("+{}", name));
}

std::string default_cache_dir() {
    std::string dir = env("NNJIT_CACHE_DIR");
    if (dir == "off") return {};
    if (!dir.empty()) return dir;
    if (std::string xdg = env("XDG_CACHE_HOME"); !xdg.empty()) return fmt::format("{}/nnjit", xdg);
    if (std::string home = env("HOME"); !home.empty()) return fmt::format("{}/.cache/nnjit", home);
    return {};
}

// On-disk entry: magic, key (checked on load: a hash collision is not a hit), object size,
// object checksum, object.
constexpr std::string_view kMagic = "NNJITOBJ1\n";

void put_u64(std::string& s, std::uint64_t v) { s.append(reinterpret_cast<const char*>(&v), sizeof v); }
bool get_u64(std::string_view& s, std::uint64_t& v) {
    if (s.size() < sizeof v) return false;
    std::memcpy(&v, s.data(), sizeof v);
    s.remove_prefix(sizeof v);
    return true;
}

// The code of one kernel, in a JITDylib of its own: unloaded when the last plan using it and
// the engine's cache have let go.
class LoadedCode {
public:
    LoadedCode(llvm::orc::ExecutionSession& session, llvm::orc::JITDylib& dylib, std::atomic<std::uint64_t>& unloaded)
        : session_(session), dylib_(dylib), unloaded_(unloaded) {}
    LoadedCode(const LoadedCode&) = delete;
    LoadedCode& operator=(const LoadedCode&) = delete;
    ~LoadedCode() {
        // Frees the code and the JITDylib. A failure here can only leak this kernel's memory,
        // and a destructor has no one to tell.
        llvm::consumeError(session_.removeJITDylib(dylib_));
        ++unloaded_;
    }

private:
    llvm::orc::ExecutionSession& session_;
    llvm::orc::JITDylib& dylib_;
    std::atomic<std::uint64_t>& unloaded_;
};

}  // namespace

struct Engine::Impl {
    std::unique_ptr<llvm::orc::LLJIT> jit;
    std::optional<llvm::orc::JITTargetMachineBuilder> jtmb;  // makes the pooled TargetMachines, on demand
    std::string cpu, features, triple, target;
    unsigned bits = 128;
    bool dump_llvm = false, dump_asm = false;
    mutable std::mutex mutex;
    // TargetMachines are not thread-safe: a compile takes one from here or makes one.
    mutable std::mutex tm_mutex;
    mutable std::vector<std::unique_ptr<llvm::TargetMachine>> idle_tms;
    std::atomic<std::uint64_t> unloaded{0};  // counted by LoadedCode, which runs unlocked
    // The in-memory cache, keyed on KernelSpec::key() alone (the target is the same for every
    // kernel of an engine; it is part of the on-disk key, which outlives the process): the most
    // recently used kernels first, at most kCachedKernels. Declared after `jit` and `unloaded`,
    // so it is destroyed (its code unloaded) first.
    std::list<std::pair<std::string, CompiledKernel>> recent;
    std::unordered_map<std::string, decltype(recent)::iterator> cache;
    std::string dir;
    EngineStats stats;
    std::uint64_t dylibs = 0;

    const CompiledKernel* find_cached(const std::string& key) {
        auto it = cache.find(key);
        if (it == cache.end()) return nullptr;
        recent.splice(recent.begin(), recent, it->second);
        return &it->second->second;
    }

    const CompiledKernel& add_cached(const std::string& key, CompiledKernel kernel) {
        recent.emplace_front(key, std::move(kernel));
        cache[key] = recent.begin();
        if (recent.size() > kCachedKernels) {
            cache.erase(recent.back().first);
            recent.pop_back();  // unloads it unless a plan still uses it
        }
        return recent.front().second;
    }

    struct Built {
        std::string object, ir, assembly;
        double codegen_us = 0, optimise_us = 0, emit_us = 0;
    };

    std::unique_ptr<llvm::TargetMachine> target_machine() const {
        llvm::orc::JITTargetMachineBuilder builder = *jtmb;  // createTargetMachine() is not const
        auto tm = builder.createTargetMachine();
        if (!tm) throw InternalError(fmt::format("JIT: no target machine for the host: {}", message(tm.takeError())));
        return std::move(*tm);
    }

    std::unique_ptr<llvm::TargetMachine> take_target_machine() const {
        {
            std::lock_guard lock(tm_mutex);
            if (!idle_tms.empty()) {
                auto tm = std::move(idle_tms.back());
                idle_tms.pop_back();
                return tm;
            }
        }
        return target_machine();
    }
    void give_back(std::unique_ptr<llvm::TargetMachine> tm) const {
        std::lock_guard lock(tm_mutex);
        idle_tms.push_back(std::move(tm));
    }

    static void optimise(llvm::TargetMachine* tm, llvm::Module& module) {
        llvm::LoopAnalysisManager lam;
        llvm::FunctionAnalysisManager fam;
        llvm::CGSCCAnalysisManager cgam;
        llvm::ModuleAnalysisManager mam;
        llvm::PassBuilder pb(tm);
        pb.registerModuleAnalyses(mam);
        pb.registerCGSCCAnalyses(cgam);
        pb.registerFunctionAnalyses(fam);
        pb.registerLoopAnalyses(lam);
        pb.crossRegisterProxies(lam, fam, cgam, mam);
        // Not the O2 pipeline: the IR is already one explicitly vectorised loop, so there is
        // nothing to inline, vectorise or unroll; 15 ms for O2 against 1.8 ms for EarlyCSE,
        // InstCombine and SimplifyCFG, with sigmoid_fwd at the same speed. InstCombine went
        // too: it was 11% of a compile's instructions, and the code generator's own DAG
        // combiner makes the same min/max/blend code of the rules' selects (the chain kernel's
        // loop: 43 instructions against 42; chain_fwd_bwd and sigmoid_fwd at equal speed).
        // PromotePass (mem2reg) makes registers of the running values codegen keeps in
        // allocas: without it the diagnostics' per-block sum of the column counts was a store
        // and reload per 16 counts, one chain through memory (ReLU's probed 128x1024 kernel:
        // +6.2% -> +5.1% over the plain one, Zen 5).
        llvm::FunctionPassManager fpm;
        fpm.addPass(llvm::PromotePass());
        fpm.addPass(llvm::EarlyCSEPass(true));
        fpm.addPass(llvm::SimplifyCFGPass());
        llvm::ModulePassManager mpm;
        mpm.addPass(llvm::createModuleToFunctionPassAdaptor(std::move(fpm)));
        mpm.run(module, mam);
    }

    static std::string emit(llvm::TargetMachine& tm, llvm::Module& module, llvm::CodeGenFileType type) {
        llvm::SmallVector<char, 0> buffer;
        llvm::raw_svector_ostream os(buffer);
        llvm::legacy::PassManager pm;
        if (tm.addPassesToEmitFile(pm, os, nullptr, type))
            throw InternalError("the host TargetMachine cannot emit this file type");
        pm.run(module);
        return std::string(buffer.data(), buffer.size());
    }

    // Runs without the engine's lock: nothing here is shared with other compiles.
    Built build(const KernelSpec& spec, const std::string& name, bool want_ir, bool want_asm) const {
        struct Lease {
            const Impl& d;
            std::unique_ptr<llvm::TargetMachine> tm;
            ~Lease() { d.give_back(std::move(tm)); }
        } lease{*this, take_target_machine()};
        llvm::TargetMachine* tm = lease.tm.get();
        using clock = std::chrono::steady_clock;
        auto us = [](clock::time_point a, clock::time_point b) { return std::chrono::duration<double, std::micro>(b - a).count(); };
        const auto t0 = clock::now();
        llvm::LLVMContext context;  // one per compile: nothing shared between threads
        auto module = generate_kernel(context, spec, name, bits);
        module->setDataLayout(tm->createDataLayout());
        module->setTargetTriple(triple);
        for (llvm::Function& f : *module) {
            if (f.isDeclaration()) continue;
            f.addFnAttr("target-cpu", cpu);
            f.addFnAttr("target-features", features);
        }
        const auto t1 = clock::now();
        optimise(tm, *module);
        const auto t2 = clock::now();
        Built out;
        if (want_ir) {
            llvm::raw_string_ostream os(out.ir);
            module->print(os, nullptr);
        }
        if (want_asm) {
            auto copy = llvm::CloneModule(*module);
            out.assembly = emit(*tm, *copy, llvm::CodeGenFileType::AssemblyFile);
        }
        const auto t3 = clock::now();
        out.object = emit(*tm, *module, llvm::CodeGenFileType::ObjectFile);
        out.codegen_us = us(t0, t1);
        out.optimise_us = us(t1, t2);
        out.emit_us = us(t3, clock::now());
        return out;
    }

    // Loads an object into a JITDylib of its own (a broken object cannot poison the others,
    // and removing it frees exactly this kernel) and returns it, or an error message.
    std::variant<CompiledKernel, std::string> load(const std::string& name, const std::string& object) {
        const auto start = std::chrono::steady_clock::now();
        struct Timer {
            std::chrono::steady_clock::time_point start;
            double& total;
            ~Timer() { total += std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count(); }
        } timer{start, stats.load_us};
        auto jd = jit->createJITDylib(fmt::format("nnjit{}", dylibs++));
        if (!jd) return message(jd.takeError());
        llvm::orc::ExecutionSession& session = jit->getExecutionSession();
        auto failed = [&](llvm::Error error) {
            llvm::consumeError(session.removeJITDylib(*jd));
            return message(std::move(error));
        };
        if (auto err = jit->addObjectFile(*jd, llvm::MemoryBuffer::getMemBufferCopy(object, name)))
            return failed(std::move(err));
        auto addr = jit->lookup(*jd, name);
        if (!addr) return failed(addr.takeError());
        ++stats.loaded;
        return CompiledKernel{addr->toPtr<KernelFn>(), std::make_shared<const LoadedCode>(session, *jd, unloaded)};
    }

    std::string path_of(const std::string& name) const { return fmt::format("{}/{}.o", dir, name); }

    bool read_disk(const std::string& name, const std::string& key, std::string& object) const {
        if (dir.empty()) return false;
        // Plain POSIX reads: an entry is a few KB, and this is on the path of a new process's
        // first kernel, where reading it through an ifstream and a stringstream took ~100 us.
        const int fd = ::open(path_of(name).c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return false;
        struct stat info {};
        std::string data;
        if (::fstat(fd, &info) == 0 && info.st_size > 0) {
            data.resize(static_cast<std::size_t>(info.st_size));
            std::size_t got = 0;
            while (got < data.size()) {
                const ssize_t n = ::read(fd, data.data() + got, data.size() - got);
                if (n <= 0) break;
                got += static_cast<std::size_t>(n);
            }
            data.resize(got);
        }
        ::close(fd);
        std::string_view s = data;
        if (!s.starts_with(kMagic)) return false;
        s.remove_prefix(kMagic.size());
        std::uint64_t key_size = 0, object_size = 0, checksum = 0;
        if (!get_u64(s, key_size) || s.size() < key_size || s.substr(0, key_size) != key) return false;
        s.remove_prefix(key_size);
        if (!get_u64(s, object_size) || !get_u64(s, checksum) || s.size() != object_size) return false;
        if (stable_hash(s) != checksum) return false;
        object = std::string(s);
        return true;
    }

    void write_disk(const std::string& name, const std::string& key, const std::string& object) const {
        if (dir.empty()) return;
        std::error_code ec;
        std::filesystem::create_directories(dir, ec);
        if (ec) return;  // an unusable cache directory only costs speed
        std::string data(kMagic);
        put_u64(data, key.size());
        data += key;
        put_u64(data, object.size());
        put_u64(data, stable_hash(object));
        data += object;
        // Written aside and renamed: a reader never sees half an entry.
        const std::string tmp = fmt::format("{}.{}.{}.tmp", path_of(name), ::getpid(),
                                            std::hash<std::thread::id>{}(std::this_thread::get_id()));
        {
            std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
            out.write(data.data(), static_cast<std::streamsize>(data.size()));
            if (!out) {
                std::filesystem::remove(tmp, ec);
                return;
            }
        }
        std::filesystem::rename(tmp, path_of(name), ec);
        if (ec) std::filesystem::remove(tmp, ec);
    }
};

Engine::Engine() : impl_(new Impl) {
    Impl& d = *impl_;
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
    auto jtmb = llvm::orc::JITTargetMachineBuilder::detectHost();
    if (!jtmb) throw InternalError(fmt::format("JIT: cannot describe the host: {}", message(jtmb.takeError())));
    // Less, not Aggressive: 5% fewer instructions per compile; the loop is already vectorised
    // and scheduled by the out-of-order core, and the kernels ran at the same speed.
    jtmb->setCodeGenOptLevel(llvm::CodeGenOptLevel::Less);
    d.cpu = jtmb->getCPU();
    d.features = jtmb->getFeatures().getString();
    d.triple = jtmb->getTargetTriple().str();
    d.jtmb = *jtmb;
    // Fails here, once, if LLVM has no code generator for the host (a TargetMachine is made
    // only when a kernel is compiled).
    std::string no_target;
    if (!llvm::TargetRegistry::lookupTarget(d.triple, no_target))
        throw InternalError(fmt::format("JIT: no code generator for the host {}: {}", d.triple, no_target));
    // LLJIT only links objects here. Left to itself it would build three TargetMachines for
    // the host (its data layout, its IR compile layer, ...) and an IR platform runtime: ~0.5 ms
    // of a new process's first kernel, which the disk cache otherwise loads in ~1 ms. The data
    // layout depends on the triple alone, so a TargetMachine without CPU features gives it
    // cheaply; the IR layer (unused) gets a compiler that would make its TargetMachine on use.
    auto layout = llvm::orc::JITTargetMachineBuilder(jtmb->getTargetTriple()).getDefaultDataLayoutForTarget();
    if (!layout) throw InternalError(fmt::format("JIT: no data layout for the host: {}", message(layout.takeError())));
    auto jit = llvm::orc::LLJITBuilder()
                   .setJITTargetMachineBuilder(std::move(*jtmb))
                   .setDataLayout(std::move(*layout))
                   .setCompileFunctionCreator([](llvm::orc::JITTargetMachineBuilder builder)
                                                  -> llvm::Expected<std::unique_ptr<llvm::orc::IRCompileLayer::IRCompiler>> {
                       return std::make_unique<llvm::orc::ConcurrentIRCompiler>(std::move(builder));
                   })
                   .setPlatformSetUp(llvm::orc::setUpInactivePlatform)
                   .create();
    if (!jit) throw InternalError(fmt::format("JIT: cannot create LLJIT: {}", message(jit.takeError())));
    d.jit = std::move(*jit);

    const unsigned host_bits = has_feature(d.features, "avx512f") ? 512 : has_feature(d.features, "avx2") ? 256 : 128;
    d.bits = host_bits;
    if (std::string forced = env("NNJIT_VECTOR_BITS"); !forced.empty()) {
        const unsigned want = static_cast<unsigned>(std::atoi(forced.c_str()));
        if (want != 128 && want != 256 && want != 512)
            throw UserError(fmt::format("NNJIT_VECTOR_BITS must be 128, 256 or 512, not '{}'", forced));
        d.bits = std::min(want, host_bits);
    }
    d.target = fmt::format("{} {} {}-bit {} LLVM {} codegen {} {} fp flags {}", d.triple, d.cpu, d.bits,
                           d.features, LLVM_VERSION_STRING, codegen_build_stamp(), normalize_codegen_build_stamp(),
                           fp_flags_work());
    d.dir = default_cache_dir();
    const std::string dump = fmt::format(",{},", env("NNJIT_DUMP"));
    d.dump_llvm = dump.find(",llvm,") != std::string::npos;
    d.dump_asm = dump.find(",asm,") != std::string::npos;
}

Engine::~Engine() { delete impl_; }

Engine& Engine::instance() {
    // Thread-safe initialisation. Never destroyed: plans destroyed during exit (held by
    // static objects) still unload their code through it.
    static Engine& engine = *new Engine;
    return engine;
}

CompiledKernel Engine::find(const KernelSpec& spec) {
    Impl& d = *impl_;
    const std::string key = spec.key();
    std::lock_guard lock(d.mutex);
    const CompiledKernel* cached = d.find_cached(key);
    if (cached == nullptr) return {};
    ++d.stats.memory_hits;
    return *cached;
}

CompiledKernel Engine::compile(const KernelSpec& spec) {
    Impl& d = *impl_;
    const std::string key = spec.key();
    std::string disk_key, name;
    {
        std::lock_guard lock(d.mutex);
        if (const CompiledKernel* cached = d.find_cached(key)) {
            ++d.stats.memory_hits;
            return *cached;
        }
        disk_key = fmt::format("{} @ {}", key, d.target);
        name = fmt::format("nnjit_kernel_{:016x}", stable_hash(disk_key));
        std::string object;
        if (d.read_disk(name, disk_key, object)) {
            auto loaded = d.load(name, object);
            if (auto* kernel = std::get_if<CompiledKernel>(&loaded)) {
                ++d.stats.disk_hits;
                return d.add_cached(key, std::move(*kernel));
            }
            // A bad entry is rebuilt below and overwritten.
        }
    }
    // LLVM's work runs unlocked, so that threads compiling different kernels overlap.
    Impl::Built built = d.build(spec, name, d.dump_llvm, d.dump_asm);
    std::lock_guard lock(d.mutex);
    if (const CompiledKernel* cached = d.find_cached(key)) return *cached;  // another thread won
    d.stats.codegen_us += built.codegen_us;
    d.stats.optimise_us += built.optimise_us;
    d.stats.emit_us += built.emit_us;
    if (d.dump_llvm) fmt::print(stderr, "; ---- kernel {} ----\n{}", spec.key(), built.ir);
    if (d.dump_asm) fmt::print(stderr, "# ---- kernel {} ----\n{}", spec.key(), built.assembly);
    d.write_disk(name, disk_key, built.object);
    auto loaded = d.load(name, built.object);
    if (auto* error = std::get_if<std::string>(&loaded))
        throw InternalError(fmt::format("JIT: cannot load kernel {}: {}", name, *error));
    ++d.stats.compiled;
    return d.add_cached(key, std::move(std::get<CompiledKernel>(loaded)));
}

KernelListing Engine::inspect(const KernelSpec& spec) {
    const Impl& d = *impl_;
    Impl::Built built = d.build(spec, fmt::format("nnjit_kernel_{:016x}", stable_hash(fmt::format("{} @ {}", spec.key(), d.target))),
                                true, true);
    return {std::move(built.ir), std::move(built.assembly)};
}

unsigned Engine::vector_bits() const { return impl_->bits; }
std::string Engine::target() const { return impl_->target; }

std::string Engine::cpu() const { return impl_->cpu; }

EngineStats Engine::stats() const {
    std::lock_guard lock(impl_->mutex);
    EngineStats s = impl_->stats;
    s.unloaded = impl_->unloaded;
    s.loaded -= s.unloaded;
    return s;
}

void Engine::set_cache_dir(std::string dir) {
    std::lock_guard lock(impl_->mutex);
    impl_->dir = std::move(dir);
}

std::string Engine::cache_dir() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->dir;
}

void Engine::clear_memory_cache() {
    std::lock_guard lock(impl_->mutex);
    impl_->cache.clear();
    impl_->recent.clear();
}

}  // namespace nnjit::jit
