#include "prunus/data/image_folder.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>

#include "prunus/error.h"

namespace prunus {
namespace data {

namespace fs = std::filesystem;

namespace {

// Source coordinate, neighbours and weight for one output row or column.
struct Tap {
  int low, high;
  float weight_high;
};

// Output index i of a `scaled`-long axis, shifted by `offset`, mapped back to
// a `source`-long axis with pixel centres aligned: s = (i + 0.5) * source / scaled - 0.5.
std::vector<Tap> bilinear_taps(int source, int scaled, int offset, int count) {
  std::vector<Tap> taps(count);
  const double ratio = double(source) / double(scaled);
  for (int i = 0; i < count; ++i) {
    double s = (i + offset + 0.5) * ratio - 0.5;
    s = std::min(std::max(s, 0.0), double(source - 1));
    const int low = int(std::floor(s));
    taps[i] = {low, std::min(low + 1, source - 1), float(s - low)};
  }
  return taps;
}

bool is_hidden(const fs::path& path) {
  const std::string name = path.filename().string();
  return !name.empty() && name[0] == '.';
}

// Sorted non-hidden entries of `dir` that are directories (want_dirs) or regular files.
std::vector<fs::path> sorted_entries(const fs::path& dir, bool want_dirs) {
  std::error_code error;
  fs::directory_iterator it(dir, error), end;
  PRUNUS_CHECK(!error, "image folder '", dir.string(), "' cannot be listed: ", error.message());
  std::vector<fs::path> out;
  for (; it != end; it.increment(error)) {
    PRUNUS_CHECK(!error, "image folder '", dir.string(), "' cannot be listed: ", error.message());
    if (is_hidden(it->path())) continue;
    std::error_code kind_error;
    const bool match = want_dirs ? fs::is_directory(it->path(), kind_error)
                                 : fs::is_regular_file(it->path(), kind_error);
    if (match) out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string list_some(const std::vector<std::string>& items, size_t limit) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < limit; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > limit) out += ", ... (" + std::to_string(items.size() - limit) + " more)";
  return out;
}

}  // namespace

std::vector<uint8_t> resize_and_center_crop(const uint8_t* in, int width, int height, int channels,
                                            int size) {
  PRUNUS_CHECK(width > 0 && height > 0 && channels > 0 && size > 0, "resize_and_center_crop: image ",
               width, "x", height, "x", channels, " to ", size, ": all sizes must be positive");
  // Scale so that the shorter side becomes `size`; the longer keeps the aspect ratio.
  const bool wide = width >= height;
  const int shorter = wide ? height : width, longer = wide ? width : height;
  const int scaled_longer = std::max(size, int(std::lround(double(longer) * size / shorter)));
  const int scaled_width = wide ? scaled_longer : size, scaled_height = wide ? size : scaled_longer;
  const std::vector<Tap> rows =
      bilinear_taps(height, scaled_height, (scaled_height - size) / 2, size);
  const std::vector<Tap> cols = bilinear_taps(width, scaled_width, (scaled_width - size) / 2, size);

  std::vector<uint8_t> out(size_t(channels) * size * size);
  for (int y = 0; y < size; ++y) {
    const Tap& r = rows[y];
    const uint8_t* top = in + size_t(r.low) * width * channels;
    const uint8_t* bottom = in + size_t(r.high) * width * channels;
    for (int x = 0; x < size; ++x) {
      const Tap& c = cols[x];
      for (int ch = 0; ch < channels; ++ch) {
        const float tl = top[c.low * channels + ch], tr = top[c.high * channels + ch];
        const float bl = bottom[c.low * channels + ch], br = bottom[c.high * channels + ch];
        const float upper = tl + (tr - tl) * c.weight_high;
        const float lower = bl + (br - bl) * c.weight_high;
        const float value = upper + (lower - upper) * r.weight_high;
        out[(size_t(ch) * size + y) * size + x] =
            uint8_t(std::min(255.0f, std::max(0.0f, std::round(value))));
      }
    }
  }
  return out;
}

Dataset load_image_folder(const std::string& root, int image_size, std::vector<std::string>* skipped_files) {
  PRUNUS_CHECK(image_size > 0, "load_image_folder('", root, "'): image_size is ", image_size,
               ", expected a positive number of pixels");
  std::error_code error;
  PRUNUS_CHECK(fs::is_directory(root, error), "image folder '", root, "' does not exist or is not a directory");
  const std::vector<fs::path> class_dirs = sorted_entries(root, /*want_dirs=*/true);
  PRUNUS_CHECK(!class_dirs.empty(), "image folder '", root,
               "' has no class subfolders, expected root/<class name>/<image files>");

  Dataset out;
  out.name = "images:" + root;
  out.channels = 3;
  out.height = out.width = image_size;
  out.num_classes = int(class_dirs.size());
  std::vector<std::string> skipped, skipped_with_reasons;
  int64_t files_seen = 0;
  for (size_t label = 0; label < class_dirs.size(); ++label) {
    out.class_names.push_back(class_dirs[label].filename().string());
    for (const fs::path& file : sorted_entries(class_dirs[label], /*want_dirs=*/false)) {
      ++files_seen;
      DecodedImage decoded;
      try {
        decoded = decode_image(file.string(), 3);
      } catch (const Error& e) {
        skipped.push_back(file.string());
        skipped_with_reasons.push_back(e.what());
        continue;
      }
      const std::vector<uint8_t> image =
          resize_and_center_crop(decoded.pixels.data(), decoded.width, decoded.height, 3, image_size);
      out.pixels.insert(out.pixels.end(), image.begin(), image.end());
      out.labels.push_back(int(label));
    }
  }
  PRUNUS_CHECK(files_seen > 0, "image folder '", root, "' has ", class_dirs.size(),
               " class subfolders but no image files in them");
  PRUNUS_CHECK(out.size() > 0, "image folder '", root, "': none of its ", files_seen,
               " files could be decoded as JPEG, PNG or BMP: ", list_some(skipped_with_reasons, 5));
  if (!skipped.empty()) {
    if (skipped_files) {
      skipped_files->insert(skipped_files->end(), skipped.begin(), skipped.end());
    } else {
      std::cerr << "warning: image folder '" << root << "': skipped " << skipped.size() << " of "
                << files_seen << " files that could not be decoded: " << list_some(skipped_with_reasons, 10) << "\n";
    }
  }
  return out;
}

}  // namespace data
}  // namespace prunus
