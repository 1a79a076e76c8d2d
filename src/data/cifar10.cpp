#include "prunus/data/cifar10.h"

#include <fstream>

#include "prunus/error.h"

namespace prunus {
namespace data {

// Appends the records of one file to `out`.
static void append_cifar10_file(const std::string& path, Dataset& out) {
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  PRUNUS_CHECK(file.is_open(), "CIFAR-10 file '", path, "' cannot be opened (missing or unreadable)");
  const std::streamoff bytes = file.tellg();
  PRUNUS_CHECK(bytes >= 0, "CIFAR-10 file '", path, "' cannot be read (is it a directory?)");
  PRUNUS_CHECK(bytes > 0 && bytes % kCifar10RecordBytes == 0, "CIFAR-10 file '", path, "' has ",
               bytes, " bytes, expected a positive multiple of ", kCifar10RecordBytes,
               " (1 label byte + 3072 pixel bytes per record)");
  file.seekg(0);
  std::vector<uint8_t> raw(static_cast<size_t>(bytes));
  file.read(reinterpret_cast<char*>(raw.data()), bytes);
  PRUNUS_CHECK(file.gcount() == bytes, "CIFAR-10 file '", path, "': read ", file.gcount(), " of ",
               bytes, " bytes");

  const int64_t records = bytes / kCifar10RecordBytes;
  out.labels.reserve(out.labels.size() + records);
  out.pixels.reserve(out.pixels.size() + records * (kCifar10RecordBytes - 1));
  for (int64_t r = 0; r < records; ++r) {
    const uint8_t* record = raw.data() + r * kCifar10RecordBytes;
    PRUNUS_CHECK(record[0] < 10, "CIFAR-10 file '", path, "': record ", r, " has label ",
                 int(record[0]), ", expected 0-9");
    out.labels.push_back(record[0]);
    // The record's pixels are already planar R, G, B: exactly NCHW.
    out.pixels.insert(out.pixels.end(), record + 1, record + kCifar10RecordBytes);
  }
}

Dataset load_cifar10(const std::vector<std::string>& files) {
  PRUNUS_CHECK(!files.empty(), "load_cifar10: no files given");
  Dataset out;
  out.channels = 3;
  out.height = 32;
  out.width = 32;
  out.num_classes = 10;
  out.class_names = known_class_names("cifar10");
  for (size_t i = 0; i < files.size(); ++i) {
    append_cifar10_file(files[i], out);
    out.name += (i ? "+" : "cifar10:") + files[i];
  }
  return out;
}

std::vector<std::string> cifar10_batch_files(const std::string& dir, const std::vector<int>& batches) {
  std::vector<std::string> files;
  for (int b : batches) files.push_back(dir + "/data_batch_" + std::to_string(b) + ".bin");
  return files;
}

}  // namespace data
}  // namespace prunus
