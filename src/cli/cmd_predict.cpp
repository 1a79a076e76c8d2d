// prunus predict --checkpoint FILE [--top K] IMAGE...
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "commands.h"
#include "prunus/autograd.h"
#include "prunus/data/augment.h"
#include "prunus/data/dataset.h"
#include "prunus/data/image_folder.h"
#include "prunus/io/checkpoint.h"
#include "prunus/app/cli_args.h"
#include "prunus/train/data_setup.h"
#include "prunus/train/run_checkpoint.h"
#include "prunus/train/run_setup.h"

namespace prunus {
namespace cli {

static const app::CommandSpec& predict_spec() {
  static const app::CommandSpec spec{
      "predict",
      "Classifies image files (PNG, JPEG, BMP, ... via stb_image) with the model of a checkpoint: each image is\n"
      "converted to the model's channels (luminance or RGB), its shorter side resized to the model's input\n"
      "size (bilinear) and centre-cropped, normalized as the checkpoint's dataset normalizes training images,\n"
      "and its top classes printed with their softmax probabilities. A file that cannot be decoded is\n"
      "reported and the others are still classified; the exit status is then 1.",
      "prunus predict --checkpoint FILE [--top K] [--threads N] IMAGE...",
      {{"checkpoint", "FILE", "any prunus checkpoint holding a model (dense, pruned or compact)"},
       {"top", "K", "classes printed per image (default 5)"},
       {"threads", "N", "CPU threads (default: the stored config's train.threads)"}},
      "Class names: CIFAR-10, MNIST and Fashion-MNIST names for those datasets, else 'class N'.\n",
      /*positional=*/true};
  return spec;
}

int cmd_predict(const Args& words) {
  const auto& spec = predict_spec();
  const app::ParsedArgs args = app::parse_command_line(spec, words);
  if (args.help) {
    std::fputs(app::command_help(spec).c_str(), stdout);
    return 0;
  }
  app::require_option(spec, args, "checkpoint");
  const std::vector<std::string>& files = args.all("");
  if (files.empty()) throw app::UsageError("predict: give one or more image files after the options");
  const int top = static_cast<int>(app::int_option(spec, args, "top", 5, 1, 100000));

  const io::Checkpoint checkpoint = io::read_checkpoint(args.get("checkpoint"));
  io::Config config = train::checkpoint_config(checkpoint);
  if (args.has("threads")) config.set("train.threads", args.get("threads"), "--threads");
  const train::RunSettings settings = train::RunSettings::from_config(config);
  train::configure_threads(settings.train);
  auto model = train::load_model(checkpoint);
  const Shape input = train::checkpoint_input_shape(checkpoint);
  const int channels = int(input[0]), size = int(input[1]);
  PRUNUS_CHECK(input[1] == input[2], checkpoint.source, ": predict needs a square input, the model takes ",
               shape_str(input));
  const std::string dataset = train::dataset_name(settings.data.dataset);
  const data::Augmentation normalization = train::normalization_for(dataset, channels);

  std::vector<std::string> good;
  std::vector<float> batch;
  int failed = 0;
  for (const std::string& file : files) {
    try {
      const data::DecodedImage image = data::decode_image(file, channels);
      const std::vector<uint8_t> chw =
          data::resize_and_center_crop(image.pixels.data(), image.width, image.height, channels, size);
      batch.resize(batch.size() + chw.size());
      data::augment_image(chw.data(), channels, size, size, normalization, data::AugmentChoice{},
                          batch.data() + batch.size() - chw.size());
      good.push_back(file);
    } catch (const Error& e) {
      std::fprintf(stderr, "predict: cannot classify %s\n", e.what());
      ++failed;
    }
  }
  if (good.empty()) return 1;
  model->train(false);
  Tensor logits;
  {
    NoGradGuard no_grad;
    logits = (*model)(Tensor::from_vector({int64_t(good.size()), channels, size, size}, batch));
  }
  const int classes = int(logits.size(1));
  std::vector<std::string> names = data::known_class_names(dataset);
  if (int(names.size()) != classes) {
    names.clear();
    for (int k = 0; k < classes; ++k) names.push_back("class " + std::to_string(k));
  }
  for (size_t i = 0; i < good.size(); ++i) {
    const float* row = logits.f32() + i * classes;
    const float peak = *std::max_element(row, row + classes);
    std::vector<double> p(classes);
    double total = 0;
    for (int k = 0; k < classes; ++k) total += p[k] = std::exp(double(row[k] - peak));
    std::vector<int> order(classes);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return p[a] > p[b]; });
    std::printf("%s:", good[i].c_str());
    for (int k = 0; k < std::min(top, classes); ++k)
      std::printf("  %s %.1f%%", names[order[k]].c_str(), 100 * p[order[k]] / total);
    std::printf("\n");
  }
  return failed ? 1 : 0;
}

}  // namespace cli
}  // namespace prunus
