# prunus: one Makefile.
#   make                 CPU build (CUDA too when nvcc is on PATH)
#   make CUDA=0|1        force CUDA off / on (on fails clearly without nvcc)
#   make CUDNN=1         add the cuDNN reference backend (needs CUDA)
#   make MPI=0|1         force data-parallel training over MPI off / on (default: on when mpicxx is found)
#   make SAN=1           AddressSanitizer + UndefinedBehaviorSanitizer (own build dir)
#   make fuzz            libFuzzer targets (clang, ASan+UBSan) for every parser of untrusted bytes,
#                        each run FUZZ_SECONDS (default 60) from the tests' seed corpus (build-fuzz)
#   make test            build and run the doctest suite
#   make dist-test       the data-parallel tests, under mpirun with DIST_RANKS (2) ranks when MPI=1
#   make bench           CPU kernel and model benchmarks against PyTorch and OpenBLAS
#   make interop-check   PyTorch -> prunus -> ONNX checked against PyTorch and onnxruntime (skips without them)
#   make demo            the main job on Fashion-MNIST
#   make deps            install the Debian packages the build and tests need
#   BUILD=dir            build directory (default build, build-san with SAN=1)

CXX      ?= g++
NVCC_BIN := $(shell command -v nvcc 2>/dev/null)
SAN      ?= 0
FUZZ     ?= 0
CUDNN    ?= 0
ifeq ($(origin CUDA), undefined)
  CUDA := $(if $(NVCC_BIN),1,0)
endif
ifeq ($(FUZZ),1)
  BUILD ?= build-fuzz
  CUDA  := 0
else ifeq ($(SAN),1)
  BUILD ?= build-san
else
  BUILD ?= build
endif

CXXFLAGS := -std=c++17 -Wall -Wextra -Wno-unused-parameter -Iinclude -MMD -MP -fopenmp -march=native
LDFLAGS  := -fopenmp
LDLIBS   := -lz -lpthread
ifeq ($(FUZZ),1)
  # The library gets coverage instrumentation; the fuzz targets link libFuzzer's main.
  CXXFLAGS += -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  LDFLAGS  += -fsanitize=address,undefined
else ifeq ($(SAN),1)
  CXXFLAGS += -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  LDFLAGS  += -fsanitize=address,undefined
else
  CXXFLAGS += -O3 -g1 -DNDEBUG
endif

LIB_SRC  := $(shell find src -name '*.cpp' -not -path 'src/cli/*' | sort)
CLI_SRC  := $(shell find src/cli -name '*.cpp' | sort)
TEST_SRC := $(shell find tests -maxdepth 1 -name '*.cpp' | sort)

# ---- CUDA section (owner: cuda). nvcc builds cuda/*.cu into libprunus.a in
# place of src/core/no_cuda.cpp; tests/gpu/ becomes prunus_gpu_tests and
# tests/gpu/bench_*.cu the kernel benchmark prunus_gpu_bench.
#   CUDA_ARCH=...       nvcc target (default sm_90: H100/H200 machine code + PTX)
#   CUDNN_INCLUDE=dir   where cudnn.h is, if not in the CUDA or system include dirs
#   CUDNN_LIBDIR=dir    where libcudnn is, likewise; CUDNN_LIB=-l:libcudnn.so.9 for a
#                       library without the unversioned libcudnn.so link (pip wheels)
ifeq ($(CUDA),1)
  ifeq ($(NVCC_BIN),)
    $(error CUDA=1 but nvcc is not on PATH: install the CUDA toolkit or build with CUDA=0)
  endif
  CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC_BIN))
  CUDA_ARCH ?= -arch=sm_90
  NVCCFLAGS := -std=c++17 -O3 -Iinclude -Icuda -MMD -MP $(CUDA_ARCH) -lineinfo \
               -Xcompiler -fopenmp,-Wall,-Wextra,-Wno-unused-parameter --expt-relaxed-constexpr
  CU_SRC    := $(shell find cuda -name '*.cu' | sort)
  LIB_SRC   := $(filter-out src/core/no_cuda.cpp,$(LIB_SRC))
  CXXFLAGS  += -DPRUNUS_CUDA -I$(CUDA_HOME)/include
  LDFLAGS   += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64
  LDLIBS    += -lcublas -lcudart
  ifeq ($(CUDNN),1)
    CUDNN_INCLUDE ?=
    CUDNN_LIBDIR  ?=
    CUDNN_LIB     ?= -lcudnn
    CUDNN_HEADER  := $(firstword $(wildcard $(addsuffix /cudnn.h,$(CUDNN_INCLUDE) $(CUDA_HOME)/include \
                       /usr/include /usr/local/include /usr/include/x86_64-linux-gnu)))
    ifeq ($(CUDNN_HEADER),)
      $(error CUDNN=1 but cudnn.h was not found in $(CUDA_HOME)/include or the system include dirs: install cuDNN, pass CUDNN_INCLUDE=dir, or build without CUDNN=1)
    endif
    NVCCFLAGS += -DPRUNUS_CUDNN $(if $(CUDNN_INCLUDE),-I$(CUDNN_INCLUDE))
    CXXFLAGS  += -DPRUNUS_CUDNN $(if $(CUDNN_INCLUDE),-I$(CUDNN_INCLUDE))
    comma     := ,
    LDFLAGS   += $(if $(CUDNN_LIBDIR),-L$(CUDNN_LIBDIR) -Wl$(comma)-rpath$(comma)$(CUDNN_LIBDIR))
    LDLIBS    := $(CUDNN_LIB) $(LDLIBS)
  endif
  GPU_BENCH_SRC := $(sort $(wildcard tests/gpu/bench_*.cu tests/gpu/bench_*.cpp))
  GPU_TEST_SRC  := $(filter-out $(GPU_BENCH_SRC),$(sort $(wildcard tests/gpu/*.cpp tests/gpu/*.cu)))
else
  CU_SRC :=
  ifeq ($(CUDNN),1)
    $(error CUDNN=1 needs CUDA: nvcc was not found or CUDA=0 was given)
  endif
endif

# ---- MPI section: data-parallel training across processes (src/dist/).
#   make MPI=0|1        force MPI off / on (on fails clearly without mpicxx);
#                       the default is on when mpicxx is on PATH. Without it,
#                       src/dist/no_mpi.cpp refuses a run started by mpirun.
MPICXX_BIN := $(shell command -v mpicxx 2>/dev/null)
ifeq ($(origin MPI), undefined)
  MPI := $(if $(MPICXX_BIN),1,0)
endif
ifeq ($(FUZZ),1)
  MPI := 0
endif
ifeq ($(MPI),1)
  ifeq ($(MPICXX_BIN),)
    $(error MPI=1 but mpicxx is not on PATH: install openmpi-bin and libopenmpi-dev, or build with MPI=0)
  endif
  LIB_SRC := $(filter-out src/dist/no_mpi.cpp,$(LIB_SRC))
  MPI_CXXFLAGS := $(shell $(MPICXX_BIN) --showme:compile)
  LDLIBS   += $(shell $(MPICXX_BIN) --showme:link)
else
  LIB_SRC := $(filter-out src/dist/mpi_backend.cpp,$(LIB_SRC))
endif

LIB_OBJ  := $(LIB_SRC:%.cpp=$(BUILD)/%.o) $(CU_SRC:%.cu=$(BUILD)/%.cu.o)
$(BUILD)/src/dist/mpi_backend.o: CXXFLAGS += $(MPI_CXXFLAGS)
CLI_OBJ  := $(CLI_SRC:%.cpp=$(BUILD)/%.o)
TEST_OBJ := $(TEST_SRC:%.cpp=$(BUILD)/%.o)

.PHONY: all test bench demo deps clean info gpu-test gpu-bench interop-check fuzz fuzz-targets dist-test
all: info $(BUILD)/libprunus.a $(BUILD)/prunus $(BUILD)/prunus_tests

info:
	@echo "prunus build: CXX=$(CXX) ($(shell $(CXX) -dumpfullversion 2>/dev/null)), OpenMP=on, SAN=$(SAN)," \
	      "CUDA=$(CUDA)$(if $(NVCC_BIN), (nvcc $(NVCC_BIN)), (no nvcc)), CUDNN=$(CUDNN), MPI=$(MPI), BUILD=$(BUILD)"

# Linked whole: module types register themselves from static initializers
# (PRUNUS_REGISTER_MODULE_TYPE), in object files nothing else may reference.
WHOLE_LIB := -Wl,--whole-archive $(BUILD)/libprunus.a -Wl,--no-whole-archive
$(BUILD)/libprunus.a: $(LIB_OBJ)
	@mkdir -p $(@D)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/prunus: $(CLI_OBJ) $(BUILD)/libprunus.a
	$(CXX) $(LDFLAGS) -o $@ $(CLI_OBJ) $(WHOLE_LIB) $(LDLIBS)

$(BUILD)/prunus_tests: $(TEST_OBJ) $(BUILD)/libprunus.a
	$(CXX) $(LDFLAGS) -o $@ $(TEST_OBJ) $(WHOLE_LIB) $(LDLIBS)

$(BUILD)/%.o: %.cpp
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) -c $< -o $@

$(BUILD)/%.cu.o: %.cu
	@mkdir -p $(@D)
	$(NVCC_BIN) $(NVCCFLAGS) -c $< -o $@

# TEST_ARGS passes doctest options, e.g. make test TEST_ARGS='-ts=ops'.
# Passive OpenMP waiting: spinning threads make the suite 10x slower when the
# cores are shared with other jobs (CI machines often are).
test: $(BUILD)/prunus_tests
	cd $(CURDIR) && OMP_WAIT_POLICY=$${OMP_WAIT_POLICY:-passive} ./$(BUILD)/prunus_tests $(TEST_ARGS)

# The data-parallel tests (tests/distributed/): under mpirun with 2 ranks when
# the build has MPI, else alone (the single-process path). Not in `make test`,
# which never needs MPI; .ci/run runs this target.
DIST_TEST_OBJ := $(patsubst %.cpp,$(BUILD)/%.o,$(sort $(wildcard tests/distributed/*.cpp)))
$(BUILD)/prunus_dist_tests: $(DIST_TEST_OBJ) $(BUILD)/libprunus.a
	$(CXX) $(LDFLAGS) -o $@ $(DIST_TEST_OBJ) $(WHOLE_LIB) $(LDLIBS)
DIST_RANKS ?= 2
MPIRUN     ?= mpirun --oversubscribe -np $(DIST_RANKS) -x OMP_NUM_THREADS=1 -x OMP_WAIT_POLICY=passive
dist-test: $(BUILD)/prunus_dist_tests
ifeq ($(MPI),1)
	cd $(CURDIR) && OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 $(MPIRUN) ./$(BUILD)/prunus_dist_tests $(TEST_ARGS)
else
	cd $(CURDIR) && OMP_WAIT_POLICY=passive ./$(BUILD)/prunus_dist_tests $(TEST_ARGS)
endif

ifeq ($(CUDA),1)
to_objects = $(patsubst %.cpp,$(BUILD)/%.o,$(patsubst %.cu,$(BUILD)/%.cu.o,$(1)))
GPU_TEST_OBJ  := $(call to_objects,$(GPU_TEST_SRC))
GPU_BENCH_OBJ := $(call to_objects,$(GPU_BENCH_SRC))
# The GPU tests also run the implicit-GEMM tile code on the CPU (cuda/*.cuh).
# Their in-order vs reversed-order emulations must agree bit for bit: without
# -ffp-contract=off, -O3 may fuse a*b+c into an FMA in one instantiation and
# not the other, a 1-ulp difference that says nothing about the kernels.
$(GPU_TEST_OBJ) $(GPU_BENCH_OBJ): CXXFLAGS += -Icuda -ffp-contract=off
$(BUILD)/prunus_gpu_tests: $(GPU_TEST_OBJ) $(BUILD)/libprunus.a
	$(CXX) $(LDFLAGS) -o $@ $(GPU_TEST_OBJ) $(WHOLE_LIB) $(LDLIBS)
$(BUILD)/prunus_gpu_bench: $(GPU_BENCH_OBJ) $(BUILD)/libprunus.a
	$(CXX) $(LDFLAGS) -o $@ $(GPU_BENCH_OBJ) $(WHOLE_LIB) $(LDLIBS)
gpu-test: $(BUILD)/prunus_gpu_tests
	./$(BUILD)/prunus_gpu_tests $(TEST_ARGS)
gpu-bench: $(BUILD)/prunus_gpu_bench
	./$(BUILD)/prunus_gpu_bench
all: $(if $(GPU_TEST_SRC),$(BUILD)/prunus_gpu_tests) $(if $(GPU_BENCH_SRC),$(BUILD)/prunus_gpu_bench)
-include $(GPU_TEST_OBJ:.o=.d) $(GPU_BENCH_OBJ:.o=.d)
endif

# The benchmark driver: experiments/bench/*.cpp against libprunus.a.
BENCH_OBJ := $(patsubst %.cpp,$(BUILD)/%.o,$(sort $(wildcard experiments/bench/*.cpp)))
$(BUILD)/prunus_bench: $(BENCH_OBJ) $(BUILD)/libprunus.a
	$(CXX) $(LDFLAGS) -o $@ $(BENCH_OBJ) $(WHOLE_LIB) $(LDLIBS)

bench: $(BUILD)/prunus $(BUILD)/prunus_bench
	bash experiments/bench/run_bench.sh $(BUILD)/prunus

# Fuzzing: the seed corpus comes from the test suite (its "fuzz seed corpus" case),
# the targets from tests/fuzz/fuzz_*.cpp; tests/fuzz/run.sh runs each and sums up.
FUZZ_SECONDS ?= 60
FUZZ_CXX     ?= clang++
FUZZ_SRC     := $(sort $(wildcard tests/fuzz/fuzz_*.cpp))
FUZZ_BIN     := $(patsubst tests/fuzz/%.cpp,$(BUILD)/fuzz/%,$(FUZZ_SRC))
$(BUILD)/fuzz/%: $(BUILD)/tests/fuzz/%.o $(BUILD)/libprunus.a
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -fsanitize=fuzzer -o $@ $< $(WHOLE_LIB) $(LDLIBS)
fuzz-targets: $(FUZZ_BIN)
fuzz:
	$(MAKE) CUDA=0 build/prunus_tests
	rm -rf build-fuzz/seeds && PRUNUS_FUZZ_CORPUS=build-fuzz/seeds ./build/prunus_tests -tc='fuzz seed corpus*'
	$(MAKE) FUZZ=1 CXX=$(FUZZ_CXX) fuzz-targets
	tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

interop-check: $(BUILD)/prunus
	experiments/interop/cross_check.sh

demo: $(BUILD)/prunus
	./$(BUILD)/prunus demo

deps:
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update && $$SUDO apt-get install -y g++ make doctest-dev libstb-dev zlib1g-dev dataset-fashion-mnist

clean:
	rm -rf build build-san build-fuzz

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(DIST_TEST_OBJ:.o=.d) $(BENCH_OBJ:.o=.d) $(FUZZ_SRC:tests/fuzz/%.cpp=$(BUILD)/tests/fuzz/%.d)
