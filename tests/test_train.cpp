// The training library: the epoch loop learns, a NaN loss stops it clearly,
// an interrupted and resumed run ends bit-identical to an uninterrupted one,
// and the pieces around it (metrics CSV, JSON, progress lines, schedules,
// data selection, run checkpoints) behave.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>

#include "prunus/train/config_schema.h"
#include "prunus/autograd.h"
#include "prunus/io/checkpoint.h"
#include "prunus/models/summary.h"
#include "prunus/models/zoo.h"
#include "prunus/nn/layers.h"
#include "prunus/ops.h"
#include "prunus/rng.h"
#include "prunus/app/comparison.h"
#include "prunus/train/data_setup.h"
#include "prunus/io/json_writer.h"
#include "prunus/train/metrics.h"
#include "prunus/app/pipeline_records.h"
#include "prunus/app/prune_pipeline.h"
#include "prunus/prune/baselines.h"
#include "prunus/train/progress.h"
#include "prunus/train/run_checkpoint.h"
#include "prunus/train/run_setup.h"
#include "prunus/train/trainer.h"
#include "prunus/app/training_run.h"
#include "train_fixtures.h"

using namespace prunus;
using namespace train_fixtures;
namespace fs = std::filesystem;

namespace {

// A small conv net for odd-sized inputs (the zoo's models want their sizes).
class TinyNet : public nn::Module {
 public:
  explicit TinyNet(int classes) {
    nn::InitSeedScope seed(5);
    register_module("conv", std::make_shared<nn::Conv2d>(1, 5, 3, 1, 1));
    register_module("bn", std::make_shared<nn::BatchNorm2d>(5));
    register_module("pool", std::make_shared<nn::AvgPool2d>(3, 3));
    register_module("fc", std::make_shared<nn::Linear>(5 * 3 * 3, classes));
  }
  // x: [N, 1, 9, 9] (or 7x7 / 8x8: the pool gives 2x2 and the linear fails).
  Tensor forward(const Tensor& x) override {
    return child("fc")(ops::flatten(child("pool")(ops::relu(child("bn")(child("conv")(x))))));
  }
  std::string type_name() const override { return "TinyNet"; }
};

}  // namespace

TEST_SUITE("train") {
  TEST_CASE("trainer: a small net learns a synthetic task (loss falls, accuracy beats chance)") {
    const train::DataSplits data = synthetic_splits(9);
    TinyNet model(3);
    optim::SGD sgd({optim::ParamGroup{"all", model.parameters(), 1.0, 0.9, false, 0.0}}, 0.1);
    data::Loader loader(data.train, 8, true, data.train_augmentation, 3);
    const auto schedule = optim::LrSchedule::constant(0.1);
    const train::EvalResult before = train::evaluate(model, data.val, 7, data.normalization);
    int steps_seen = 0, epochs_seen = 0;
    train::TrainHooks hooks;
    hooks.after_step = [&](const train::StepInfo& s) {
      CHECK(s.steps_per_epoch == 6);
      CHECK(s.step == steps_seen % 6);
      ++steps_seen;
    };
    hooks.after_epoch = [&](int epoch, const train::EpochStats& s) {
      CHECK(epoch == epochs_seen++);
      CHECK(s.images == 45);
    };
    train::EpochStats first, last;
    for (int epoch = 0; epoch < 12; ++epoch) {
      last = train::train_one_epoch(model, loader, sgd, schedule, epoch, hooks);
      if (epoch == 0) first = last;
    }
    CHECK(steps_seen == 72);
    CHECK(last.loss < 0.7 * first.loss);
    CHECK(last.steps == 6);
    CHECK(last.lr_first == doctest::Approx(0.1));
    const train::EvalResult after = train::evaluate(model, data.val, 7, data.normalization);
    CHECK(after.images == 21);
    CHECK(after.loss < before.loss);
    CHECK(after.accuracy > 0.6);
    CHECK(model.training());  // evaluate restored the mode
  }

  TEST_CASE("trainer: a NaN loss stops training with an error naming the epoch and step") {
    const train::DataSplits data = synthetic_splits(9);
    TinyNet model(3);
    optim::SGD sgd({optim::ParamGroup{"all", model.parameters(), 1.0, 0.9, false, 0.0}}, 0.1);
    data::Loader loader(data.train, 5, false, data.normalization, 3);
    const auto schedule = optim::LrSchedule::constant(0.1);
    train::train_one_epoch(model, loader, sgd, schedule, 0);
    int steps = 0;
    train::TrainHooks hooks;
    hooks.after_step = [&](const train::StepInfo&) {
      if (++steps == 2) {  // poison the classifier after the second step of epoch 2
        NoGradGuard no_grad;
        Tensor w = std::dynamic_pointer_cast<nn::Linear>(model.child_ptr("fc"))->weight;
        w.f32()[0] = std::numeric_limits<float>::quiet_NaN();
      }
    };
    try {
      train::train_one_epoch(model, loader, sgd, schedule, 1, hooks);
      FAIL("a NaN loss did not stop training");
    } catch (const Error& e) {
      const std::string message = e.what();
      CHECK(message.find("NaN") != std::string::npos);
      CHECK(message.find("epoch 2, step 3 of 9") != std::string::npos);
    }
  }

  TEST_CASE("trainer: count_correct takes the first maximum and checks shapes") {
    const Tensor logits = Tensor::from_vector({3, 4}, {0, 2, 2, 1, 5, 0, 0, 0, -1, -3, -2, -1});
    CHECK(train::count_correct(logits, {1, 0, 0}) == 3);
    CHECK(train::count_correct(logits, {2, 0, 3}) == 1);
    CHECK_THROWS_AS(train::count_correct(logits, {1, 0}), Error);
  }

  TEST_CASE("divergence: a finite loss far above ln(classes) for 20 steps stops the run; a steady one does not") {
    train::DivergenceWatch steady;
    for (int i = 0; i < 1000; ++i) steady.add(i % 50 == 0 ? 40.0 : 2.0, 10);  // rare spikes pass
    train::DivergenceWatch exploding;
    for (int i = 0; i < 19; ++i) exploding.add(1e6, 10);  // the window is not full yet
    CHECK_THROWS_WITH_AS(exploding.add(1e6, 10), doctest::Contains("training diverged"), Error);
    train::DivergenceWatch at_bound;
    for (int i = 0; i < 40; ++i) at_bound.add(9.99 * std::log(10.0), 10);  // just under the bound: allowed
    CHECK_THROWS_AS(at_bound.add(1000, 10), Error);
  }

  TEST_CASE("resume: an interrupted run resumed from its checkpoint ends bit-identical") {
    const train::DataSplits data = synthetic_splits(8);
    TempDir dir("resume");
    const std::string out = dir / "run";
    const io::Config config = tiny_run_config(out, 3);
    app::TrainRunOptions quiet;
    quiet.log = nullptr;

    const auto whole = app::run_training(config, data, quiet);
    CHECK(whole.finished);
    CHECK(whole.epochs_run == 3);
    const std::vector<char> reference = file_bytes(out + "/final.bin");
    REQUIRE(reference.size() > 1000);
    // The same command again without --resume would overwrite the finished run: refused.
    CHECK_THROWS_WITH_AS(app::run_training(config, data, quiet), doctest::Contains("already holds a run"), Error);
    fs::remove_all(out);

    app::TrainRunOptions first_part = quiet;
    first_part.max_epochs = 1;
    const auto part = app::run_training(config, data, first_part);
    CHECK_FALSE(part.finished);
    CHECK_FALSE(fs::exists(out + "/final.bin"));
    CHECK(train::checkpoint_epoch(io::read_checkpoint(out + "/checkpoint.bin")) == 1);

    app::TrainRunOptions resume = quiet;
    resume.resume = true;
    const auto rest = app::run_training(config, data, resume);
    CHECK(rest.start_epoch == 1);
    CHECK(rest.epochs_run == 2);
    CHECK(rest.val.accuracy == whole.val.accuracy);
    CHECK(file_bytes(out + "/final.bin") == reference);

    // The log lists each epoch once, in order, across the interruption.
    const auto history = train::MetricsHistory::from_csv(
        [&] { auto b = file_bytes(out + "/log.csv"); return std::string(b.begin(), b.end()); }(), "log.csv");
    REQUIRE(history.records().size() == 3);
    for (int i = 0; i < 3; ++i) CHECK(history.records()[i].epoch == i + 1);

    // Resuming with another config is refused, naming the key.
    io::Config changed = tiny_run_config(out, 3);
    changed.set("train.lr", "0.01", "test");
    try {
      app::run_training(changed, data, resume);
      FAIL("a changed config was accepted");
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find("train.lr") != std::string::npos);
    }
  }

  TEST_CASE("run checkpoint: model, optimizer and dropout Rng round-trip through a file") {
    TempDir dir("checkpoint");
    auto model = models::make_model("lenet", 3, 1, 8, 11);
    const train::DataSplits data = synthetic_splits(8);
    auto sgd = std::make_unique<optim::SGD>(
        std::vector<optim::ParamGroup>{optim::ParamGroup{"weights", model->parameters(), 1.0, 0.9, false, 0.0}},
        0.05);
    data::Loader loader(data.train, 16, true, data.train_augmentation, 1);
    train::train_one_epoch(*model, loader, *sgd, optim::LrSchedule::constant(0.05), 0);
    io::Checkpoint c;
    train::put_model(c, *model, "lenet", {1, 8, 8});
    train::put_optimizer(c, *sgd);
    train::put_run_position(c, "run", "train", 1);
    io::write_checkpoint(dir / "c.bin", c);
    const io::Checkpoint back = io::read_checkpoint(dir / "c.bin");
    auto rebuilt = train::load_model(back);
    CHECK(train::checkpoint_arch(back) == "lenet");
    CHECK(train::checkpoint_input_shape(back) == Shape{1, 8, 8});
    CHECK(train::checkpoint_epoch(back) == 1);
    CHECK(train::checkpoint_kind(back) == "run");
    // Same outputs in train mode, dropout included: the Rng state came back.
    Rng rng(3);
    const Tensor x = Tensor::randn({3, 1, 8, 8}, rng);
    NoGradGuard no_grad;
    const auto a = (*model)(x).to_vector(), b = (*rebuilt)(x).to_vector();
    CHECK(a == b);
    // A checkpoint missing a tensor is refused with the file's name.
    io::Checkpoint partial = back;
    partial.tensors.erase(partial.tensors.begin());
    CHECK_THROWS_WITH_AS(train::load_model(partial), doctest::Contains((dir / "c.bin").c_str()), Error);
  }

  TEST_CASE("metrics: CSV round trip with and without timing; malformed lines are named") {
    train::MetricsHistory h;
    train::EpochRecord r;
    r.phase = "baseline";
    r.epoch = 1;
    r.lr = 0.1;
    r.train_loss = 1.0 / 3.0;
    r.train_accuracy = 0.25;
    r.val_loss = 2.5;
    r.val_accuracy = 0.125;
    r.images_per_second = 812.5;
    r.seconds = 12.25;
    r.data_wait_seconds = 0.5;
    h.add(r);
    r.phase = "sparse";
    r.lambda0 = 5e-3;
    r.flops_reduction = 0.375;
    r.val_loss = r.val_accuracy = train::kNoValue;
    h.add(r);
    const std::string csv = h.to_csv();
    CHECK(csv.rfind("phase,epoch,lr,train_loss,train_acc,val_loss,val_acc,img_per_s,seconds,data_wait_s", 0) == 0);
    const auto back = train::MetricsHistory::from_csv(csv, "t.csv");
    REQUIRE(back.records().size() == 2);
    CHECK(back.to_csv() == csv);
    CHECK(std::isnan(back.records()[1].val_accuracy));
    CHECK(back.records()[1].lambda0 == 5e-3);
    const std::string no_timing = h.to_csv(false);
    CHECK(no_timing.find("seconds") == std::string::npos);
    CHECK(train::MetricsHistory::from_csv(no_timing, "t.csv").to_csv(false) == no_timing);
    auto truncated = back;
    truncated.truncate_phase("sparse", 0);
    CHECK(truncated.records().size() == 1);
    CHECK_THROWS_WITH_AS(train::MetricsHistory::from_csv(csv + "x,1,2\n", "t.csv"),
                         doctest::Contains("t.csv: metrics line 4"), Error);
    CHECK_THROWS_AS(train::MetricsHistory::from_csv("a,b\n", "t.csv"), Error);
  }

  TEST_CASE("json: nesting, escaping and non-finite numbers") {
    io::Json j = io::Json::object();
    j.set("name", "a \"q\"\n\\").set("n", 3).set("x", 0.5).set("bad", std::nan("")).set("ok", true);
    j.set("list", io::Json::array().push(1).push(2.5));
    j.set("empty", io::Json::object());
    const std::string text = j.dump();
    CHECK(text.find("\"name\": \"a \\\"q\\\"\\n\\\\\"") != std::string::npos);
    CHECK(text.find("\"bad\": null") != std::string::npos);
    CHECK(text.find("\"list\": [1, 2.5]") != std::string::npos);
    CHECK(text.find("\"empty\": {}") != std::string::npos);
    j.set("n", 4);
    CHECK(j.size() == 7);
    CHECK_THROWS_AS(io::Json::array().set("k", 1), Error);
  }

  TEST_CASE("json: exact numbers read back as the same double; one_line keeps a value on one line") {
    const double third = 1.0 / 3;
    io::Json j = io::Json::object();
    j.set("readable", third).set("exact", io::Json::exact(third)).set("nan", io::Json::exact(std::nan("")));
    io::Json rows = io::Json::array();
    rows.push(io::Json::object().set("a", 1).set("b", io::Json::array().push(2)).one_line());
    rows.push(io::Json::object().set("a", 3));
    j.set("rows", std::move(rows));
    const std::string text = j.dump();
    CHECK(text.find("\"readable\": 0.3333333333,") != std::string::npos);
    const size_t at = text.find("\"exact\": ");
    REQUIRE(at != std::string::npos);
    CHECK(std::strtod(text.c_str() + at + 9, nullptr) == third);
    CHECK(text.find("\"nan\": null") != std::string::npos);
    // The one_line row is one line, its sibling is not; the array's closing bracket has its own line.
    CHECK(text.find("\n    {\"a\": 1, \"b\": [2]},\n    {\n      \"a\": 3\n    }\n  ]\n}") != std::string::npos);
    CHECK_THROWS_AS(io::Json(1).one_line(), Error);
  }

  TEST_CASE("progress: lines mode prints periodic lines with rate and ETA, none at the end") {
    std::FILE* f = std::tmpfile();
    REQUIRE(f);
    train::ProgressOptions options;
    options.mode = train::ProgressMode::Lines;
    options.line_interval_seconds = 0;
    options.stream = f;
    train::ProgressReporter progress(options);
    progress.start("baseline 3/20", 4);
    for (int step = 1; step <= 4; ++step) {
      train::ProgressSnapshot s;
      s.steps_done = step;
      s.loss = 1.5;
      s.accuracy = 0.5;
      s.images = 10 * step;
      s.seconds = 0.5 * step;
      progress.update(s);
    }
    progress.finish();
    std::rewind(f);
    std::string text;
    for (int c; (c = std::fgetc(f)) != EOF;) text += static_cast<char>(c);
    std::fclose(f);
    CHECK(text.find("baseline 3/20 1/4 loss 1.5000 acc 50.0% 20 img/s ETA 0:02 wait 0.0s\n") == 0);
    CHECK(text.find("3/4") != std::string::npos);
    CHECK(text.find("4/4") == std::string::npos);
    CHECK(train::format_duration(3725) == "1:02:05");
    CHECK(train::format_duration(65) == "1:05");
  }

  TEST_CASE("run settings: every key of [model], [data], [train] and [out] read once, every choice an enum") {
    io::Config c(train::prunus_schema());
    train::RunSettings s = train::RunSettings::from_config(c);
    CHECK(s.data.path_is_default);
    CHECK(s.train.schedule == train::ScheduleKind::Multistep);
    c.load_text("[model]\narch = vgg16\nnum_classes = 12\n[data]\ndataset = fashion_mnist\npath = /d\n"
                "train_files = a, b\naugment = false\n[train]\nepochs = 7\nbatch_size = 3\nlr = 0.25\n"
                "momentum = 0.5\nweight_decay = 0\nnesterov = true\nschedule = cosine\nmilestones = 0.1\n"
                "gamma = 0.5\nwarmup_epochs = 2\nseed = 9\nthreads = 4\ndevice = cuda\nsync_batchnorm = false\n"
                "[out]\ndir = /o\ncheckpoint_every = 0\n",
                "t.conf");
    s = train::RunSettings::from_config(c);
    CHECK(s.model.arch == "vgg16");
    CHECK(s.model.num_classes == 12);
    CHECK(s.data.dataset == train::DatasetKind::FashionMnist);
    CHECK(std::string(train::dataset_name(s.data.dataset)) == "fashion_mnist");
    CHECK(s.data.path == "/d");
    CHECK_FALSE(s.data.path_is_default);
    CHECK(s.data.train_files == std::vector<std::string>{"a", "b"});
    CHECK_FALSE(s.data.augment);
    CHECK(s.train.epochs == 7);
    CHECK(s.train.batch_size == 3);
    CHECK(s.train.lr == 0.25);
    CHECK(s.train.momentum == 0.5);
    CHECK(s.train.weight_decay == 0);
    CHECK(s.train.nesterov);
    CHECK(s.train.schedule == train::ScheduleKind::Cosine);
    CHECK(s.train.milestones == std::vector<double>{0.1});
    CHECK(s.train.gamma == 0.5);
    CHECK(s.train.warmup_epochs == 2);
    CHECK(s.train.seed == 9);
    CHECK(s.train.threads == 4);
    CHECK(s.train.device == train::Device::Cuda);
    CHECK_FALSE(s.train.sync_batchnorm);
    CHECK(s.out.dir == "/o");
    CHECK(s.out.checkpoint_every == 0);
    CHECK_THROWS_WITH_AS(train::check_device(s.train), doctest::Contains("train.device = cuda"), Error);
    // A choice added to the schema without its enum fails here, not in a run.
    for (const char* key : {"data.dataset", "train.schedule", "train.device"})
      for (const std::string& choice : c.schema().find(key)->allowed_choices()) {
        CAPTURE(choice);
        c.set(key, choice, "test");
        const train::RunSettings t = train::RunSettings::from_config(c);
        if (std::string(key) == "data.dataset") CHECK(train::dataset_name(t.data.dataset) == choice);
        if (std::string(key) == "train.device") CHECK(train::device_name(t.train.device) == choice);
      }
  }

  TEST_CASE("schedule: milestone fractions become epochs; short phases merge them; bad warm-up is named") {
    io::Config c(train::prunus_schema());
    c.set("train.milestones", "0.5, 0.75", "test");
    auto s = train::make_schedule(train::TrainSettings::from_config(c), 0.1, 20, false);
    CHECK(s.milestones() == std::vector<int>{10, 15});
    s = train::make_schedule(train::TrainSettings::from_config(c), 0.1, 3, false);
    CHECK(s.milestones() == std::vector<int>{1, 2});
    s = train::make_schedule(train::TrainSettings::from_config(c), 0.1, 1, false);
    CHECK(s.milestones().empty());
    CHECK(s.lr_at(0, 0, 5) == doctest::Approx(0.1));
    c.set("train.schedule", "cosine", "test");
    c.set("train.warmup_epochs", "3", "test");
    const train::TrainSettings cosine = train::TrainSettings::from_config(c);
    CHECK(train::make_schedule(cosine, 0.1, 3, false).kind() == optim::LrScheduleKind::Cosine);
    CHECK_THROWS_WITH_AS(train::make_schedule(cosine, 0.1, 3, true), doctest::Contains("train.warmup_epochs"), Error);
    CHECK(train::phase_seed(1, "baseline") != train::phase_seed(1, "sparse"));
    CHECK(train::phase_seed(1, "baseline") != train::phase_seed(2, "baseline"));
  }

  TEST_CASE("data setup: CIFAR-10 default split, test fallback, and IDX without a val split") {
    TempDir dir("data");
    // Three records per CIFAR file, labels 0..2.
    for (const std::string name : {"data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5",
                                   "test_batch"}) {
      std::ofstream out(dir / (name + ".bin"), std::ios::binary);
      for (int r = 0; r < 3; ++r) {
        out.put(static_cast<char>(r));
        out << std::string(3072, static_cast<char>(7 * r));
      }
    }
    io::Config c(train::prunus_schema());
    c.set("data.dataset", "cifar10", "test");
    c.set("data.path", dir.path.string(), "test");
    auto s = train::load_data_splits(train::RunSettings::from_config(c));
    CHECK(s.train.size() == 12);
    CHECK(s.val.size() == 3);
    CHECK(s.test.size() == 3);
    CHECK(s.test_source == "test_batch.bin");
    CHECK(s.input_shape() == Shape{3, 32, 32});
    CHECK(s.train_augmentation.random_crop);
    CHECK(s.normalization.mean.size() == 3);
    c.set("data.train_files", "data_batch_1.bin", "test");
    s = train::load_data_splits(train::RunSettings::from_config(c));
    CHECK(s.train.size() == 3);
    CHECK(s.val.size() == 0);  // explicit train files: no implicit val split

    // IDX: t10k serves as val and test, and a note says so.
    auto write_idx = [&](const std::string& name, bool images, int count) {
      std::ofstream out(dir / name, std::ios::binary);
      auto be32 = [&](uint32_t v) {
        for (int b = 3; b >= 0; --b) out.put(static_cast<char>(v >> (8 * b)));
      };
      be32(images ? 2051 : 2049);
      be32(count);
      if (images) {
        be32(5);
        be32(5);
      }
      for (int i = 0; i < count * (images ? 25 : 1); ++i) out.put(static_cast<char>(images ? i % 200 : i % 4));
    };
    write_idx("train-images-idx3-ubyte", true, 7);
    write_idx("train-labels-idx1-ubyte", false, 7);
    write_idx("t10k-images-idx3-ubyte", true, 5);
    write_idx("t10k-labels-idx1-ubyte", false, 5);
    io::Config m(train::prunus_schema());
    m.set("data.dataset", "mnist", "test");
    m.set("data.path", dir.path.string(), "test");
    s = train::load_data_splits(train::RunSettings::from_config(m));
    CHECK(s.train.size() == 7);
    CHECK(s.val.size() == 5);
    CHECK(s.test.size() == 5);
    CHECK(s.val_is_test);
    REQUIRE(s.notes.size() == 1);
    CHECK(s.notes[0].find("t10k") != std::string::npos);
    CHECK(s.num_classes == 4);
    CHECK_FALSE(s.train_augmentation.horizontal_flip);  // digits are not mirrored

    m.set("data.path", dir / "missing", "test");
    CHECK_THROWS_WITH_AS(train::load_data_splits(train::RunSettings::from_config(m)), doctest::Contains("missing"), Error);
  }

  TEST_CASE("pipeline: every stage runs, the target is met, compact agrees; an interrupted run resumes identically") {
    const train::DataSplits data = synthetic_splits(8);
    TempDir dir("pipeline");
    app::PipelineOptions quiet;
    quiet.log = nullptr;
    quiet.timing_seconds = 0.01;

    const io::Config config_a = tiny_prune_config(dir / "a");
    const auto a = app::run_prune_pipeline(config_a, data, quiet);
    REQUIRE(a.finished);
    CHECK(a.started_at == "baseline");
    std::vector<std::string> names;
    for (const auto& s : a.stages) names.push_back(s.stage);
    // The prune stage is measured after each of its steps: gates zeroed, BN recalibrated, structures removed.
    CHECK(names == std::vector<std::string>{"baseline", "sparse", "zeroed", "recalibrated", "prune", "finetune",
                                            "compact"});
    CHECK(a.flops_reduction >= 0.4);
    CHECK(a.stages[4].macs < a.stages[0].macs);
    CHECK(a.stages[2].macs == a.stages[4].macs);
    // Removing what the zero gates silence changes nothing the model computes.
    CHECK(a.stages[4].val.loss == doctest::Approx(a.stages[3].val.loss).epsilon(1e-4));
    // After top-up and recalibration, within 10 points of the sparse model (2 of 21 val images).
    CHECK(a.stages[4].val.accuracy >= a.stages[1].val.accuracy - 0.1);
    CHECK(a.compact_output_difference < 1e-4);
    CHECK(a.compact_images_per_second > 0);
    CHECK(a.stages[6].val.accuracy == doctest::Approx(a.stages[5].val.accuracy).epsilon(0.05));
    for (const char* file : {"report.md", "report.json", "report.svg", "summary.json", "analysis.txt", "log.csv",
                             "config.conf", "compact.bin"})
      CHECK_MESSAGE(fs::exists(dir / ("a/" + std::string(file))), file);
    // The compact model loads on its own and is smaller.
    auto compact = train::load_model(io::read_checkpoint(dir / "a/compact.bin"));
    CHECK(models::count_parameters(*compact) < models::count_parameters(*train::build_model(train::RunSettings::from_config(config_a), data)));

    // Interrupted after 2 training epochs (the baseline's and the first sparse one), then resumed.
    const io::Config config_b = tiny_prune_config(dir / "b");
    app::PipelineOptions interrupted = quiet;
    interrupted.max_epochs = 2;
    const auto b1 = app::run_prune_pipeline(config_b, data, interrupted);
    CHECK_FALSE(b1.finished);
    CHECK(fs::exists(dir / "b/stage_baseline.bin"));
    CHECK_FALSE(fs::exists(dir / "b/stage_sparse.bin"));
    const auto b2 = app::run_prune_pipeline(config_b, data, quiet);
    REQUIRE(b2.finished);
    CHECK(b2.started_at == "sparse");
    CHECK(b2.flops_reduction == a.flops_reduction);
    REQUIRE(b2.stages.size() == a.stages.size());
    for (size_t i = 0; i < a.stages.size(); ++i) CHECK(b2.stages[i].val.accuracy == a.stages[i].val.accuracy);
    const io::Checkpoint fa = io::read_checkpoint(dir / "a/stage_finetune.bin");
    const io::Checkpoint fb = io::read_checkpoint(dir / "b/stage_finetune.bin");
    int compared = 0;
    for (const auto& [name, tensor] : fa.tensors) {
      REQUIRE(fb.has_tensor(name));
      CHECK_MESSAGE(tensor.to_vector() == fb.tensor(name).to_vector(), name);
      ++compared;
    }
    CHECK(compared > 10);

    // A finished pipeline runs nothing again; another config is refused, naming the key.
    const auto b3 = app::run_prune_pipeline(config_b, data, quiet);
    CHECK(b3.finished);
    CHECK(b3.started_at.empty());
    io::Config changed = tiny_prune_config(dir / "b");
    changed.set("prune.lambda0", "0.25", "test");
    CHECK_THROWS_WITH_AS(app::run_prune_pipeline(changed, data, quiet), doctest::Contains("prune.lambda0"), Error);
  }

  TEST_CASE("pipeline: l1norm skips sparse training; --analyze stops after the analysis") {
    const train::DataSplits data = synthetic_splits(8);
    TempDir dir("pipeline_l1");
    app::PipelineOptions quiet;
    quiet.log = nullptr;
    quiet.timing_seconds = 0.01;
    io::Config config = tiny_prune_config(dir / "l1");
    config.set("prune.method", "l1norm", "test");
    config.set("prune.finetune_epochs", "0", "test");
    const auto r = app::run_prune_pipeline(config, data, quiet);
    REQUIRE(r.finished);
    std::vector<std::string> names;
    for (const auto& s : r.stages) names.push_back(s.stage);
    CHECK(names == std::vector<std::string>{"baseline", "zeroed", "recalibrated", "prune", "compact"});
    CHECK(r.flops_reduction >= 0.4);
    CHECK_FALSE(fs::exists(dir / "l1/stage_sparse.bin"));

    io::Config analyze = tiny_prune_config(dir / "analyze");
    app::PipelineOptions only = quiet;
    only.analyze_only = true;
    const auto a = app::run_prune_pipeline(analyze, data, only);
    CHECK_FALSE(a.finished);
    CHECK(a.analysis.convs.size() == 2);
    CHECK(a.analysis.dimension_matching().empty());
    CHECK(fs::exists(dir / "analyze/analysis.txt"));
    CHECK_FALSE(fs::exists(dir / "analyze/stage_baseline.bin"));

    io::Config no_target = tiny_prune_config(dir / "l1_no_target");
    no_target.set("prune.method", "l1norm", "test");
    no_target.set("prune.flops_target", "0", "test");
    CHECK_THROWS_WITH_AS(app::run_prune_pipeline(no_target, data, quiet), doctest::Contains("flops_target"), Error);
  }

  TEST_CASE("compare: every row runs once, the table has them all, a second call only reads them") {
    const train::DataSplits data = synthetic_splits(8);
    TempDir dir("compare");
    io::Config config = tiny_prune_config(dir / "cmp");
    config.set("prune.baseline_epochs", "1", "test");
    config.set("compare.methods", "full, l1norm", "test");
    config.set("compare.flops_targets", "0.4", "test");
    config.set("compare.seeds", "3, 4", "test");
    const auto rows = app::comparison_rows(config);
    std::vector<std::string> names;
    for (const auto& r : rows) names.push_back(r.dir);
    CHECK(names == std::vector<std::string>{"baseline", "flops40/full/seed3", "dense/seed3", "flops40/l1norm/seed3",
                                            "flops40/scratch/seed3", "flops40/full/seed4", "dense/seed4",
                                            "flops40/l1norm/seed4", "flops40/scratch/seed4"});
    {
      io::Config only_full = config;
      only_full.set("compare.every_seed", "full, dense", "test");
      std::vector<std::string> repeated;
      for (const auto& r : app::comparison_rows(only_full)) repeated.push_back(r.dir);
      CHECK(repeated == std::vector<std::string>{"baseline", "flops40/full/seed3", "dense/seed3",
                                                 "flops40/l1norm/seed3", "flops40/scratch/seed3",
                                                 "flops40/full/seed4", "dense/seed4"});
    }
    app::ComparisonOptions quiet;
    quiet.log = nullptr;
    quiet.timing_seconds = 0.01;
    quiet.invocation = "--config tiny.conf";
    const auto first = app::run_comparison(config, data, quiet);
    CHECK(first.finished == 9);
    CHECK(first.waiting == 0);
    for (const auto& r : rows) CHECK_MESSAGE(fs::exists(dir / ("cmp/" + r.dir + "/row.txt")), r.dir);
    // Equal epochs everywhere: l1norm fine-tunes for the sparse epochs too; dense and scratch train them all.
    const auto l1 = app::read_row_record(dir / "cmp/flops40/l1norm/seed3/row.txt");
    CHECK(l1.at("command").find("prune.finetune_epochs=3") != std::string::npos);
    const auto dense = app::read_row_record(dir / "cmp/dense/seed3/row.txt");
    CHECK(dense.at("epochs") == "4");
    CHECK(dense.at("command").find("prunus train --config tiny.conf") == 0);
    const auto full = app::read_row_record(dir / "cmp/flops40/full/seed3/row.txt");
    const auto scratch = app::read_row_record(dir / "cmp/flops40/scratch/seed3/row.txt");
    CHECK(train::parse_exact_number(full.at("flops_reduction"), "f") >= 0.4);
    CHECK(scratch.at("flops_reduction") == full.at("flops_reduction"));
    CHECK(full.count("stage.zeroed.val") == 1);
    CHECK(fs::exists(dir / "cmp/flops40/full/seed3/compact.bin"));
    CHECK_FALSE(fs::exists(dir / "cmp/flops40/full/seed3/stage_sparse.bin"));  // intermediate, removed
    const std::string md = [&] {
      std::ifstream in(dir / "cmp/comparison.md");
      return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }();
    for (const char* row : {"| flops40/full |", "| dense |", "| flops40/l1norm |", "| flops40/scratch |"})
      CHECK_MESSAGE(md.find(row) != std::string::npos, row);
    CHECK(md.find("Pending") == std::string::npos);
    CHECK(fs::exists(dir / "cmp/comparison.json"));
    CHECK(fs::exists(dir / "cmp/comparison.svg"));
    // Nothing runs twice; a changed comparison list is not a changed row config.
    config.set("compare.seeds", "3", "test");
    const auto again = app::run_comparison(config, data, quiet);
    CHECK(again.finished == 5);
    // A fresh clone has the baseline's row.txt but not its final.bin: it is trained again, to the same
    // tensors (the file's embedded config differs: compare.seeds changed above).
    const io::Checkpoint before = io::read_checkpoint(dir / "cmp/baseline/final.bin");
    fs::remove(dir / "cmp/baseline/final.bin");
    fs::remove(dir / "cmp/baseline/checkpoint.bin");
    app::ComparisonOptions logged = quiet;
    logged.log = std::fopen((dir / "compare.log").c_str(), "w");
    REQUIRE(logged.log);
    CHECK(app::run_comparison(config, data, logged).finished == 5);
    std::fclose(logged.log);
    const io::Checkpoint after = io::read_checkpoint(dir / "cmp/baseline/final.bin");
    REQUIRE(after.tensors.size() == before.tensors.size());
    for (const auto& [name, tensor] : before.tensors)
      CHECK_MESSAGE(after.tensor(name).to_vector() == tensor.to_vector(), name);
    const std::vector<char> log = file_bytes(dir / "compare.log");
    CHECK_MESSAGE(std::string(log.begin(), log.end()).find("baseline trained again: val") != std::string::npos,
                  std::string(log.begin(), log.end()));
    CHECK(std::string(log.begin(), log.end()).find("(reproduced)") != std::string::npos);
    // --rows: a folder or one above it, by whole path parts; the baseline comes along for a pruned row.
    CHECK(app::row_selected("flops40/full/seed3", {"flops40/full"}));
    CHECK(app::row_selected("flops40/full/seed3", {"dense", "flops40/full/"}));
    CHECK_FALSE(app::row_selected("flops40/full_plain_l1/seed3", {"flops40/full"}));
    app::ComparisonOptions only = quiet;
    only.only_rows = {"flops40/full"};
    CHECK(app::run_comparison(config, data, only).rows == 2);
    only.only_rows = {"dense"};
    CHECK(app::run_comparison(config, data, only).rows == 1);
    only.only_rows = {"flops70"};
    CHECK_THROWS_WITH_AS(app::run_comparison(config, data, only), doctest::Contains("flops40/l1norm/seed3"), Error);
    // A truncated record is named, not misread.
    { std::ofstream(dir / "cmp/dense/seed3/row.txt") << "kind = dense\nmethod = dense\n"; }
    CHECK_THROWS_WITH_AS(app::read_row_record(dir / "cmp/dense/seed3/row.txt"), doctest::Contains("target"), Error);
  }

  TEST_CASE("pipeline records: stage results and lambda0 traces read back exactly") {
    app::StageResult s;
    s.stage = "sparse";
    s.val = {1.0 / 3.0, 0.123456789012345, 21, 0};
    s.test = {train::kNoValue, train::kNoValue, 0, 0};
    s.macs = 123456789;
    s.params = 4242;
    const auto back = app::parse_stage_results(app::stage_results_csv({s, s}), "t");
    REQUIRE(back.size() == 2);
    CHECK(back[1].val.loss == s.val.loss);
    CHECK(back[1].val.accuracy == s.val.accuracy);
    CHECK(std::isnan(back[1].test.accuracy));
    CHECK(back[1].macs == s.macs);
    prune::LambdaTraceEntry e{2, 5e-3, 0.31, 0.4, 1.0 / 7.0};
    const auto trace = app::parse_lambda_trace(app::lambda_trace_csv({e}), "t");
    REQUIRE(trace.size() == 1);
    CHECK(trace[0].next_lambda0 == e.next_lambda0);
    CHECK_THROWS_AS(app::parse_stage_results("stage,x\n", "t"), Error);
    // One spelling: the config schema's choices are the registries' names.
    for (const char* key : {"prune.method", "compare.methods"}) {
      const io::KeySpec* spec = train::prunus_schema().find(key);
      REQUIRE(spec);
      CHECK_MESSAGE(spec->allowed_choices() == prune::method_names(), key);
    }
    for (const std::string& method : prune::method_names()) CHECK_NOTHROW(prune::method_preset(method));
    CHECK_THROWS_WITH_AS(prune::method_preset("full-plain-l1"), doctest::Contains("full_plain_l1"), Error);
    const io::KeySpec* granularities = train::prunus_schema().find("prune.granularities");
    REQUIRE(granularities);
    std::vector<std::string> registered;
    for (const prune::Granularity* g : prune::granularities()) registered.push_back(g->name());
    CHECK(granularities->allowed_choices() == registered);
    const io::KeySpec* arch = train::prunus_schema().find("model.arch");
    REQUIRE(arch);
    CHECK(arch->allowed_choices() == models::list_models());
    // A method registered at run time can be chosen in a config at once.
    {
      io::Config c(train::prunus_schema());
      CHECK_THROWS_WITH_AS(c.set("prune.method", "runtime_method_of_test", "test"),
                           doctest::Contains("full_plain_l1"), Error);
    }
    struct RuntimeMethod : prune::PruningMethod {
      std::string name() const override { return "runtime_method_of_test"; }
      prune::MethodPreset preset() const override { return prune::method_preset("full"); }
    };
    prune::register_method(std::make_shared<RuntimeMethod>());
    io::Config c(train::prunus_schema());
    CHECK_NOTHROW(c.set("prune.method", "runtime_method_of_test", "test"));
    CHECK_NOTHROW(c.set("compare.methods", "full, runtime_method_of_test", "test"));
    CHECK(prune::method_preset("runtime_method_of_test").method->name() == "runtime_method_of_test");
    prune::unregister_method("runtime_method_of_test");
    CHECK_THROWS_WITH_AS(prune::unregister_method("full"), doctest::Contains("built-in"), Error);
    CHECK_THROWS_AS(c.set("prune.method", "runtime_method_of_test", "test"), Error);
  }
}
