// What every fuzz target shares: the input as a file, for the loaders that
// read paths (CIFAR-10, IDX). libFuzzer calls LLVMFuzzerTestOneInput once per
// input; a target returns 0 whether or not the parser accepted it: an Error
// is the expected answer to bad bytes, a crash or sanitizer report is a finding.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace fuzz {

// Writes the bytes to a file of this process (in /dev/shm when it exists)
// and returns its path; the next call overwrites it.
inline std::string as_file(const uint8_t* data, size_t size, const std::string& name) {
  const char* dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  const std::string path = std::string(dir) + "/prunus_fuzz_" + std::to_string(getpid()) + "_" + name;
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (!file) std::abort();
  if (size && std::fwrite(data, 1, size, file) != size) std::abort();
  std::fclose(file);
  return path;
}

}  // namespace fuzz
