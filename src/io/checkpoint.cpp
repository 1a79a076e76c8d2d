// Checkpoint container: byte layout in include/prunus/io/checkpoint.h.
// Integers and tensor data are encoded little-endian byte by byte so files
// move between machines; every length read back is checked against the bytes
// that remain before anything is allocated from it.
#include "prunus/io/checkpoint.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <sstream>

namespace prunus::io {
namespace {

constexpr char kMagic[8] = {'P', 'R', 'U', 'N', 'U', 'S', 'C', 'K'};
constexpr size_t kHeaderBytes = 8 + 4 + 8 + 8;  // magic, version, total size, entry count
constexpr size_t kTrailerBytes = 4;             // CRC-32
constexpr uint32_t kMaxDims = 32;
enum EntryKind : uint8_t { kString = 1, kTensor = 2, kBlob = 3 };

bool host_is_little_endian() {
  const uint16_t probe = 1;
  uint8_t first = 0;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

uint32_t crc32_update(uint32_t crc, const uint8_t* data, size_t size) {
  while (size > 0) {  // zlib takes a uInt length: feed large buffers in pieces
    const uInt piece = static_cast<uInt>(size < (1u << 30) ? size : (1u << 30));
    crc = static_cast<uint32_t>(::crc32(crc, data, piece));
    data += piece;
    size -= piece;
  }
  return crc;
}

std::string describe_file(const std::string& path) {
  return path.empty() ? "checkpoint (in memory)" : "checkpoint '" + path + "'";
}

// ------------------------------------------------------------ writing

// Appends bytes to an open file, keeping the running CRC and byte count.
class Sink {
 public:
  Sink(std::FILE* file, const std::string& path) : file_(file), path_(path) {}
  void bytes(const void* data, size_t size) {
    if (size == 0) return;
    PRUNUS_CHECK(std::fwrite(data, 1, size, file_) == size, "cannot write '", path_, "': ",
                 std::strerror(errno));
    crc_ = crc32_update(crc_, static_cast<const uint8_t*>(data), size);
    written_ += size;
  }
  template <typename T>
  void integer(T value) {  // little-endian
    uint8_t out[sizeof(T)];
    for (size_t i = 0; i < sizeof(T); ++i) out[i] = static_cast<uint8_t>(static_cast<uint64_t>(value) >> (8 * i));
    bytes(out, sizeof(T));
  }
  // Elements of `element_size` bytes, byte-swapped on a big-endian host.
  void elements(const void* data, size_t count, size_t element_size) {
    if (host_is_little_endian()) return bytes(data, count * element_size);
    const uint8_t* in = static_cast<const uint8_t*>(data);
    std::vector<uint8_t> swapped(element_size);
    for (size_t e = 0; e < count; ++e) {
      for (size_t b = 0; b < element_size; ++b) swapped[b] = in[e * element_size + element_size - 1 - b];
      bytes(swapped.data(), element_size);
    }
  }
  uint32_t crc() const { return crc_; }
  uint64_t written() const { return written_; }

 private:
  std::FILE* file_;
  const std::string& path_;
  uint32_t crc_ = static_cast<uint32_t>(::crc32(0, nullptr, 0));
  uint64_t written_ = 0;
};

std::string directory_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Runs `produce` on path + ".tmp", makes it durable, renames it over path and
// syncs the directory so the rename itself survives a crash.
static bool& writes_flag() {
  static bool enabled = true;
  return enabled;
}

std::function<void()>& write_fence() {
  static std::function<void()> fence;
  return fence;
}

void write_file_now(const std::string& path, const std::function<void(Sink&)>& produce);

// Every process of a data-parallel run passes the fence before (all have
// finished looking at the old state) and after (the file exists for all)
// the one write that rank 0 makes.
void write_atomically(const std::string& path, const std::function<void(Sink&)>& produce) {
  if (write_fence()) write_fence()();
  if (writes_flag()) write_file_now(path, produce);  // elsewhere: another rank writes the same bytes
  if (write_fence()) write_fence()();
}

void write_file_now(const std::string& path, const std::function<void(Sink&)>& produce) {
  const std::string temp = path + ".tmp";
  std::FILE* file = std::fopen(temp.c_str(), "wb");
  PRUNUS_CHECK(file, "cannot write '", path, "': cannot create '", temp, "': ", std::strerror(errno));
  try {
    Sink sink(file, temp);
    produce(sink);
    PRUNUS_CHECK(std::fflush(file) == 0, "cannot write '", temp, "': ", std::strerror(errno));
    PRUNUS_CHECK(::fsync(::fileno(file)) == 0, "cannot sync '", temp, "': ", std::strerror(errno));
  } catch (...) {
    std::fclose(file);
    std::remove(temp.c_str());
    throw;
  }
  if (std::fclose(file) != 0) {
    const int error = errno;
    std::remove(temp.c_str());
    PRUNUS_FAIL("cannot write '", temp, "': ", std::strerror(error));
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    std::remove(temp.c_str());
    PRUNUS_FAIL("cannot rename '", temp, "' to '", path, "': ", std::strerror(error));
  }
  const int directory = ::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY);
  if (directory >= 0) {  // some file systems cannot sync directories: the data is already safe
    const int status = ::fsync(directory);
    const int error = errno;
    ::close(directory);
    PRUNUS_CHECK(status == 0 || error == EINVAL || error == ENOTSUP, "cannot sync directory of '", path,
                 "': ", std::strerror(error));
  }
}

uint64_t entry_header_bytes(const std::string& name) { return 1 + 4 + name.size(); }

uint64_t serialized_size(const Checkpoint& c, const std::string& path) {
  uint64_t total = kHeaderBytes + kTrailerBytes;
  for (const auto& [name, value] : c.strings) total += entry_header_bytes(name) + 8 + value.size();
  for (const auto& [name, t] : c.tensors) {
    PRUNUS_CHECK(t.defined(), "cannot write checkpoint '", path, "': tensor entry '", name, "' is undefined");
    total += entry_header_bytes(name) + 1 + 4 + 8 * t.shape().size() + 8 + t.numel() * dtype_size(t.dtype());
  }
  for (const auto& [name, bytes] : c.blobs) total += entry_header_bytes(name) + 8 + bytes.size();
  return total;
}

void write_entry_header(Sink& sink, EntryKind kind, const std::string& name) {
  PRUNUS_CHECK(name.size() <= UINT32_MAX, "checkpoint entry name is too long (", name.size(), " bytes)");
  sink.integer<uint8_t>(kind);
  sink.integer<uint32_t>(static_cast<uint32_t>(name.size()));
  sink.bytes(name.data(), name.size());
}

// ------------------------------------------------------------ reading

// Reads from the in-memory file; any read past `end` is a corrupt length.
class Cursor {
 public:
  Cursor(const std::vector<uint8_t>& data, size_t end, const std::string& what)
      : data_(data), end_(end), what_(what) {}
  size_t remaining() const { return end_ - position_; }
  size_t position() const { return position_; }
  void need(uint64_t size, const char* field) const {
    PRUNUS_CHECK(size <= remaining(), what_, " is corrupted: ", field, " at byte ", position_, " needs ", size,
                 " bytes but only ", remaining(), " remain");
  }
  template <typename T>
  T integer(const char* field) {
    need(sizeof(T), field);
    uint64_t value = 0;
    for (size_t i = 0; i < sizeof(T); ++i) value |= static_cast<uint64_t>(data_[position_ + i]) << (8 * i);
    position_ += sizeof(T);
    return static_cast<T>(value);
  }
  std::string text(uint64_t size, const char* field) {
    need(size, field);
    std::string out(reinterpret_cast<const char*>(data_.data() + position_), size);
    position_ += size;
    return out;
  }
  const uint8_t* take(uint64_t size, const char* field) {
    need(size, field);
    const uint8_t* out = data_.data() + position_;
    position_ += size;
    return out;
  }

 private:
  const std::vector<uint8_t>& data_;
  size_t end_;
  const std::string& what_;
  size_t position_ = 0;
};

// A little-endian integer at `offset`; the caller checked the bounds.
template <typename T>
T read_le(const std::vector<uint8_t>& data, size_t offset) {
  uint64_t value = 0;
  for (size_t i = 0; i < sizeof(T); ++i) value |= static_cast<uint64_t>(data[offset + i]) << (8 * i);
  return static_cast<T>(value);
}


Tensor read_tensor(Cursor& in, const std::string& name, const std::string& what) {
  const uint8_t dtype_code = in.integer<uint8_t>("tensor dtype");
  PRUNUS_CHECK(dtype_code <= 1, what, " is corrupted: tensor '", name, "' has unknown dtype code ",
               int(dtype_code));
  const DType dtype = static_cast<DType>(dtype_code);
  const uint32_t ndim = in.integer<uint32_t>("tensor rank");
  PRUNUS_CHECK(ndim <= kMaxDims, what, " is corrupted: tensor '", name, "' claims ", ndim, " dimensions");
  Shape shape(ndim);
  bool has_zero = false;
  for (uint32_t d = 0; d < ndim; ++d) {
    shape[d] = in.integer<int64_t>("tensor dimension");
    PRUNUS_CHECK(shape[d] >= 0, what, " is corrupted: tensor '", name, "' has dimension ", shape[d]);
    has_zero = has_zero || shape[d] == 0;
  }
  // numel * element size must fit in what is left of the file; multiply with
  // that bound so no product can overflow.
  const uint64_t element = dtype_size(dtype);
  const uint64_t max_elements = in.remaining() / element;
  uint64_t numel = has_zero ? 0 : 1;
  for (uint32_t d = 0; d < ndim && numel > 0; ++d) {
    const uint64_t dim = static_cast<uint64_t>(shape[d]);
    PRUNUS_CHECK(numel <= max_elements / dim, what, " is corrupted: tensor '", name, "' of shape ",
                 shape_str(shape), " is larger than the rest of the file");
    numel *= dim;
  }
  const uint64_t data_bytes = in.integer<uint64_t>("tensor data length");
  PRUNUS_CHECK(data_bytes == numel * element, what, " is corrupted: tensor '", name, "' of shape ",
               shape_str(shape), " stores ", data_bytes, " bytes, expected ", numel * element);
  const uint8_t* source = in.take(data_bytes, "tensor data");
  Tensor t = Tensor::empty(shape, dtype);
  uint8_t* target = static_cast<uint8_t*>(t.raw_data());
  if (host_is_little_endian()) {
    if (data_bytes) std::memcpy(target, source, data_bytes);
  } else {
    for (uint64_t e = 0; e < numel; ++e)
      for (uint64_t b = 0; b < element; ++b) target[e * element + b] = source[e * element + element - 1 - b];
  }
  t.set_name(name);
  return t;
}

template <typename Map>
std::string names_of(const Map& entries) {
  std::string out;
  size_t shown = 0;
  for (const auto& entry : entries) {
    if (shown == 8) return out + ", ... and " + std::to_string(entries.size() - shown) + " more";
    out += (shown++ ? ", " : "") + entry.first;
  }
  return out.empty() ? "none" : out;
}

}  // namespace

std::vector<uint8_t> read_file_bytes(const std::string& path, const std::string& what) {
  struct stat info {};
  PRUNUS_CHECK(::stat(path.c_str(), &info) == 0, "cannot open ", what, ": ", std::strerror(errno));
  PRUNUS_CHECK(S_ISREG(info.st_mode), what, " is not a regular file");
  std::FILE* file = std::fopen(path.c_str(), "rb");
  PRUNUS_CHECK(file, "cannot open ", what, ": ", std::strerror(errno));
  std::vector<uint8_t> data(static_cast<size_t>(info.st_size));
  const size_t got = data.empty() ? 0 : std::fread(data.data(), 1, data.size(), file);
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  PRUNUS_CHECK(!failed, "cannot read ", what);
  data.resize(got);
  return data;
}

// ------------------------------------------------------------ Checkpoint

void Checkpoint::put_string(const std::string& name, const std::string& value) { strings[name] = value; }

void Checkpoint::put_tensor(const std::string& name, const Tensor& value) {
  PRUNUS_CHECK(value.defined(), "checkpoint put_tensor('", name, "'): the tensor is undefined");
  tensors[name] = value.device() == Device::CPU ? value.clone().detach() : value.to(Device::CPU);
}

void Checkpoint::put_blob(const std::string& name, const std::vector<uint8_t>& bytes) { blobs[name] = bytes; }

void Checkpoint::put_blob(const std::string& name, const void* data, size_t size) {
  const uint8_t* begin = static_cast<const uint8_t*>(data);
  blobs[name] = std::vector<uint8_t>(begin, begin + size);
}

const std::string& Checkpoint::string(const std::string& name) const {
  auto it = strings.find(name);
  PRUNUS_CHECK(it != strings.end(), describe_file(source), " has no string entry '", name,
               "' (strings present: ", names_of(strings), ")");
  return it->second;
}

const Tensor& Checkpoint::tensor(const std::string& name) const {
  auto it = tensors.find(name);
  PRUNUS_CHECK(it != tensors.end(), describe_file(source), " has no tensor entry '", name,
               "' (tensors present: ", names_of(tensors), ")");
  return it->second;
}

const std::vector<uint8_t>& Checkpoint::blob(const std::string& name) const {
  auto it = blobs.find(name);
  PRUNUS_CHECK(it != blobs.end(), describe_file(source), " has no blob entry '", name,
               "' (blobs present: ", names_of(blobs), ")");
  return it->second;
}

std::string Checkpoint::summary() const {
  std::ostringstream out;
  for (const auto& [name, value] : strings) out << "string  " << name << "  (" << value.size() << " bytes)\n";
  for (const auto& [name, t] : tensors)
    out << "tensor  " << name << "  " << dtype_name(t.dtype()) << " " << shape_str(t.shape()) << "\n";
  for (const auto& [name, bytes] : blobs) out << "blob    " << name << "  (" << bytes.size() << " bytes)\n";
  return out.str();
}

// ------------------------------------------------------------ files

void write_checkpoint(const std::string& path, const Checkpoint& c) {
  const uint64_t total = serialized_size(c, path);
  write_atomically(path, [&](Sink& sink) {
    sink.bytes(kMagic, sizeof kMagic);
    sink.integer<uint32_t>(kCheckpointVersion);
    sink.integer<uint64_t>(total);
    sink.integer<uint64_t>(c.strings.size() + c.tensors.size() + c.blobs.size());
    for (const auto& [name, value] : c.strings) {
      write_entry_header(sink, kString, name);
      sink.integer<uint64_t>(value.size());
      sink.bytes(value.data(), value.size());
    }
    for (const auto& [name, t] : c.tensors) {
      const Tensor host = t.device() == Device::CPU ? t : t.to(Device::CPU);
      write_entry_header(sink, kTensor, name);
      sink.integer<uint8_t>(static_cast<uint8_t>(host.dtype()));
      sink.integer<uint32_t>(static_cast<uint32_t>(host.shape().size()));
      for (int64_t d : host.shape()) sink.integer<int64_t>(d);
      const uint64_t element = dtype_size(host.dtype());
      sink.integer<uint64_t>(host.numel() * element);
      sink.elements(host.raw_data(), static_cast<size_t>(host.numel()), element);
    }
    for (const auto& [name, bytes] : c.blobs) {
      write_entry_header(sink, kBlob, name);
      sink.integer<uint64_t>(bytes.size());
      sink.bytes(bytes.data(), bytes.size());
    }
    PRUNUS_CHECK(sink.written() + kTrailerBytes == total, "checkpoint '", path, "': wrote ",
                 sink.written() + kTrailerBytes, " bytes, planned ", total, " (internal error)");
    sink.integer<uint32_t>(sink.crc());
  });
}

Checkpoint read_checkpoint(const std::string& path) {
  return parse_checkpoint(read_file_bytes(path, describe_file(path)), path);
}

Checkpoint parse_checkpoint(const std::vector<uint8_t>& data, const std::string& path) {
  const std::string what = describe_file(path);
  const size_t size = data.size();
  const size_t magic_bytes = size < sizeof kMagic ? size : sizeof kMagic;
  PRUNUS_CHECK(magic_bytes == 0 || std::memcmp(data.data(), kMagic, magic_bytes) == 0, what,
               " is not a prunus checkpoint (its first bytes are not \"PRUNUSCK\")");
  PRUNUS_CHECK(size >= kHeaderBytes + kTrailerBytes, what, " is truncated: expected at least ",
               kHeaderBytes + kTrailerBytes, " bytes, found ", size);
  const uint32_t version = read_le<uint32_t>(data, 8);
  PRUNUS_CHECK(version != 0, what, " is corrupted: format version 0 does not exist");
  PRUNUS_CHECK(version <= kCheckpointVersion, what, " has format version ", version,
               ", newer than this build of prunus reads (", kCheckpointVersion, "): update prunus");
  const uint64_t expected = read_le<uint64_t>(data, 12);
  PRUNUS_CHECK(size >= expected, what, " is truncated: expected ", expected, " bytes, found ", size);
  PRUNUS_CHECK(size == expected, what, " is corrupted: expected ", expected, " bytes, found ", size,
               " (extra bytes at the end)");
  const size_t body = size - kTrailerBytes;
  const uint32_t stored = read_le<uint32_t>(data, body);
  const uint32_t computed = crc32_update(static_cast<uint32_t>(::crc32(0, nullptr, 0)), data.data(), body);
  PRUNUS_CHECK(stored == computed, what, " is corrupted: checksum mismatch (stored ", stored, ", computed ",
               computed, ")");

  Checkpoint c;
  c.source = path;
  Cursor in(data, body, what);
  in.take(kHeaderBytes - 8, "header");  // magic, version and size, checked above
  const uint64_t count = in.integer<uint64_t>("entry count");
  for (uint64_t e = 0; e < count; ++e) {
    const uint8_t kind = in.integer<uint8_t>("entry kind");
    const uint32_t name_size = in.integer<uint32_t>("entry name length");
    const std::string name = in.text(name_size, "entry name");
    bool fresh = false;
    if (kind == kString) {
      fresh = c.strings.emplace(name, in.text(in.integer<uint64_t>("string length"), "string")).second;
    } else if (kind == kTensor) {
      fresh = c.tensors.emplace(name, read_tensor(in, name, what)).second;
    } else if (kind == kBlob) {
      const uint64_t length = in.integer<uint64_t>("blob length");
      const uint8_t* bytes = in.take(length, "blob");
      fresh = c.blobs.emplace(name, std::vector<uint8_t>(bytes, bytes + length)).second;
    } else {
      PRUNUS_FAIL(what, " is corrupted: entry ", e, " has unknown kind ", int(kind));
    }
    PRUNUS_CHECK(fresh, what, " is corrupted: entry '", name, "' appears twice");
  }
  PRUNUS_CHECK(in.remaining() == 0, what, " is corrupted: ", in.remaining(),
               " unexpected bytes after the last entry");
  return c;
}

void write_file_atomic(const std::string& path, const std::string& contents) {
  write_atomically(path, [&](Sink& sink) { sink.bytes(contents.data(), contents.size()); });
}

void set_writes_enabled(bool enabled) { writes_flag() = enabled; }
void set_write_fence(std::function<void()> fence) { write_fence() = std::move(fence); }
bool writes_enabled() { return writes_flag(); }

int remove_stale_temporaries(const std::string& dir) {
  int removed = 0;
  if (!writes_enabled()) return removed;  // the writing rank's own .tmp files may be in flight
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file(error) && name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0)
      removed += std::filesystem::remove(entry.path(), error) ? 1 : 0;
  }
  return removed;
}

}  // namespace prunus::io
