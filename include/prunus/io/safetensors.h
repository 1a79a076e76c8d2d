// safetensors (https://github.com/huggingface/safetensors), read and written
// by our own code: the format PyTorch and Hugging Face users save state dicts in.
//
// File layout: u64 little-endian N, then N bytes of JSON header, then the data.
// The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin,
// end]} (offsets into the data, little-endian row-major values), plus an
// optional "__metadata__" object of string values.
//
// Reading is strict: N must lie inside the file, the header must be one JSON
// object of well-formed entries, every dtype known, every byte count equal to
// the shape's element count times the dtype size, and the tensors must tile
// the data exactly (ordered, no gaps, no overlaps, nothing after). Anything
// else is one Error naming the file and what is wrong; nothing is half-loaded.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "prunus/tensor.h"

namespace prunus::io {

struct SafeTensorsEntry {
  std::string name;
  // The dtype as the file spells it: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL.
  std::string dtype;
  // F64 -> DType::F64; F32, F16 and BF16 -> DType::F32 (exact); integers and
  // BOOL -> DType::F64 (exact up to 2^53, e.g. BN's num_batches_tracked).
  Tensor value;
};

struct SafeTensors {
  std::vector<SafeTensorsEntry> tensors;  // in the order of their data
  std::map<std::string, std::string> metadata;
  std::string source;  // the file it was read from, for messages

  const SafeTensorsEntry* find(const std::string& name) const;  // nullptr if absent
};

SafeTensors read_safetensors(const std::string& path);
// The same checks on a file's bytes already in memory; `source` names them in messages.
SafeTensors parse_safetensors(const std::vector<uint8_t>& bytes, const std::string& source);

// F32 tensors are written as F32, F64 as F64, in the order given; names must
// be unique and non-empty. The bytes depend only on the arguments, so writing
// the same tensors twice gives identical files. Atomic (write_file_atomic).
void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});
std::string encode_safetensors(const std::vector<std::pair<std::string, Tensor>>& tensors,
                               const std::map<std::string, std::string>& metadata = {});

}  // namespace prunus::io
