// Checkpoint: one file holding named strings (architecture description,
// config text, JSON metadata...), named tensors and named raw byte blobs
// (RNG state...). Written atomically, read back with every length checked.
//
// File layout (all integers little-endian):
//   "PRUNUSCK"                         8 bytes magic
//   u32 format version                 kCheckpointVersion
//   u64 total file size in bytes       so truncation is reported as such
//   u64 entry count
//   entries, sorted by kind then name:
//     u8 kind (1 string, 2 tensor, 3 blob), u32 name length, name bytes, then
//     string/blob: u64 length, bytes
//     tensor:      u8 dtype (0 f32, 1 f64), u32 ndim, ndim x i64 dims,
//                  u64 data length (= numel * dtype size), raw little-endian data
//   u32 CRC-32 (zlib's crc32) of every byte before it
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "prunus/tensor.h"

namespace prunus::io {

constexpr uint32_t kCheckpointVersion = 1;

struct Checkpoint {
  std::map<std::string, std::string> strings;
  std::map<std::string, Tensor> tensors;  // CPU, contiguous, no autograd history
  std::map<std::string, std::vector<uint8_t>> blobs;
  std::string source;  // the file it was read from ("" if built in memory), for messages

  // put_* replace an entry of the same kind and name. put_tensor stores a CPU
  // copy, so later changes to `value` do not reach the checkpoint.
  void put_string(const std::string& name, const std::string& value);
  void put_tensor(const std::string& name, const Tensor& value);
  void put_blob(const std::string& name, const std::vector<uint8_t>& bytes);
  void put_blob(const std::string& name, const void* data, size_t size);

  bool has_string(const std::string& name) const { return strings.count(name) != 0; }
  bool has_tensor(const std::string& name) const { return tensors.count(name) != 0; }
  bool has_blob(const std::string& name) const { return blobs.count(name) != 0; }

  // Error if missing, naming the entry and the file.
  const std::string& string(const std::string& name) const;
  const Tensor& tensor(const std::string& name) const;
  const std::vector<uint8_t>& blob(const std::string& name) const;

  // One line per entry: kind, name, and shape/dtype or size. For `prunus info`.
  std::string summary() const;
};

// Writes path + ".tmp", flushes and fsyncs it, renames it over `path` and
// fsyncs the directory: a reader sees the old file or the new one, never a
// partial one. On failure the temp file is removed and `path` is untouched.
void write_checkpoint(const std::string& path, const Checkpoint& checkpoint);

// Refuses, with one Error naming the file: a missing file, wrong magic, a newer
// format version, a truncated file, a checksum mismatch, or any inconsistent
// length. Nothing is allocated from a length that was not checked against the
// file's size.
Checkpoint read_checkpoint(const std::string& path);
// The same checks on the bytes of a checkpoint file already in memory;
// `source` names them in messages (and becomes Checkpoint::source).
Checkpoint parse_checkpoint(const std::vector<uint8_t>& bytes, const std::string& source);

// The whole of a regular file; `what` names it in errors ("checkpoint 'x.bin'").
std::vector<uint8_t> read_file_bytes(const std::string& path, const std::string& what);

// The same atomic write for any file (reports, the effective config, JSON logs).
void write_file_atomic(const std::string& path, const std::string& contents);

// Deletes the "<file>.tmp" files an atomic write leaves in `dir` when its
// process was killed mid-write (SIGKILL, power loss): never a valid file.
// Returns how many. For a run's own out.dir, when the run (re)starts.
int remove_stale_temporaries(const std::string& dir);

// Off on the ranks other than 0 of a data-parallel run (dist::start): every
// atomic write above, and remove_stale_temporaries, does nothing there, since
// rank 0 writes the same files.
void set_writes_enabled(bool enabled);
bool writes_enabled();
// Called on every process before and after each atomic write (dist::start
// sets a barrier), so that no rank reads a file, or checks for one, while
// rank 0 writes it. Empty: none.
void set_write_fence(std::function<void()> fence);

}  // namespace prunus::io
