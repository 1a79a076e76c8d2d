#include "prunus/data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "prunus/error.h"

namespace prunus {
namespace data {

namespace {

constexpr uint32_t kIdxImagesMagic = 2051;  // 0x00000803: uint8, 3 dimensions
constexpr uint32_t kIdxLabelsMagic = 2049;  // 0x00000801: uint8, 1 dimension

// A gzip or plain file (gzread passes plain files through unchanged).
class GzFile {
 public:
  explicit GzFile(const std::string& path) : path_(path) {
    errno = 0;
    handle_ = gzopen(path.c_str(), "rb");
    PRUNUS_CHECK(handle_ != nullptr, "IDX file '", path, "' cannot be opened: ",
                 errno ? std::strerror(errno) : "zlib could not allocate its state");
  }
  ~GzFile() { gzclose(handle_); }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;

  // Reads up to `bytes` bytes; returns how many were read (fewer only at the end).
  size_t read(uint8_t* out, size_t bytes) {
    size_t done = 0;
    while (done < bytes) {
      const unsigned chunk = unsigned(std::min<size_t>(bytes - done, size_t(1) << 24));
      const int got = gzread(handle_, out + done, chunk);
      if (got < 0) {
        int code = 0;
        const char* message = gzerror(handle_, &code);
        PRUNUS_FAIL("IDX file '", path_, "' cannot be read: ",
                    code == Z_ERRNO ? std::strerror(errno) : message,
                    " (a corrupt or partial .gz file?)");
      }
      if (got == 0) break;
      done += size_t(got);
    }
    return done;
  }

 private:
  std::string path_;
  gzFile handle_ = nullptr;
};

uint32_t read_big_endian_u32(const uint8_t* bytes) {
  return (uint32_t(bytes[0]) << 24) | (uint32_t(bytes[1]) << 16) | (uint32_t(bytes[2]) << 8) |
         uint32_t(bytes[3]);
}

// Reads the header of `file`: the magic number (checked first, so a swapped
// file is named as such even when short) then `dims.size()` dimensions.
void read_header(GzFile& file, const std::string& path, uint32_t expected_magic, const char* kind,
                 std::vector<uint32_t>& dims) {
  const size_t header_bytes = 4 * (1 + dims.size());
  std::vector<uint8_t> header(header_bytes);
  size_t got = file.read(header.data(), 4);
  if (got == 4) {
    const uint32_t magic = read_big_endian_u32(header.data());
    PRUNUS_CHECK(magic == expected_magic, "IDX file '", path, "' has magic number ", magic,
                 ", expected ", expected_magic, " for an IDX ", kind, " file",
                 magic == kIdxImagesMagic || magic == kIdxLabelsMagic ? " (images and labels swapped?)"
                                                                      : "");
    got += file.read(header.data() + 4, header_bytes - 4);
  }
  PRUNUS_CHECK(got == header_bytes, "IDX file '", path, "' is truncated: ", got,
               " bytes, expected a ", header_bytes, "-byte header of an IDX ", kind, " file");
  for (size_t i = 0; i < dims.size(); ++i) dims[i] = read_big_endian_u32(header.data() + 4 * (i + 1));
}

// Reads exactly `bytes` data bytes, growing `out` as data arrives so that a
// lying header cannot make us allocate more than the file holds.
void read_payload(GzFile& file, const std::string& path, uint64_t bytes, const std::string& what,
                  std::vector<uint8_t>& out) {
  const size_t chunk = size_t(1) << 22;
  out.clear();
  while (out.size() < bytes) {
    const size_t before = out.size();
    const size_t want = size_t(std::min<uint64_t>(chunk, bytes - before));
    out.resize(before + want);
    const size_t got = file.read(out.data() + before, want);
    PRUNUS_CHECK(got == want, "IDX file '", path, "' is truncated: its header promises ", what, " (",
                 bytes, " data bytes), the file has only ", before + got);
  }
  uint8_t extra = 0;
  PRUNUS_CHECK(file.read(&extra, 1) == 0, "IDX file '", path,
               "' has more data than its header promises (", what, ", ", bytes, " data bytes)");
}

}  // namespace

Dataset load_idx(const std::string& images_path, const std::string& labels_path) {
  Dataset out;
  out.name = "idx:" + images_path;
  out.channels = 1;

  GzFile images(images_path);
  std::vector<uint32_t> image_dims(3);
  read_header(images, images_path, kIdxImagesMagic, "images", image_dims);
  const uint32_t count = image_dims[0], rows = image_dims[1], cols = image_dims[2];
  PRUNUS_CHECK(rows > 0 && cols > 0 && rows <= 65536 && cols <= 65536, "IDX file '", images_path,
               "' has images of ", rows, "x", cols, ", expected 1 to 65536 rows and columns");

  GzFile labels(labels_path);
  std::vector<uint32_t> label_dims(1);
  read_header(labels, labels_path, kIdxLabelsMagic, "labels", label_dims);
  PRUNUS_CHECK(label_dims[0] == count, "IDX files disagree: '", images_path, "' has ", count,
               " images but '", labels_path, "' has ", label_dims[0], " labels");

  out.height = int(rows);
  out.width = int(cols);
  read_payload(images, images_path, uint64_t(count) * rows * cols,
               std::to_string(count) + " images of " + std::to_string(rows) + "x" + std::to_string(cols),
               out.pixels);
  std::vector<uint8_t> raw_labels;
  read_payload(labels, labels_path, count, std::to_string(count) + " labels", raw_labels);

  out.labels.assign(raw_labels.begin(), raw_labels.end());
  const int max_label = out.labels.empty() ? 0 : *std::max_element(out.labels.begin(), out.labels.end());
  out.num_classes = max_label + 1;
  return out;
}

}  // namespace data
}  // namespace prunus
