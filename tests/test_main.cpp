// doctest's main, plus a closing line "tests: N passed, M failed, K skipped"
// that CI systems which do not know doctest's own summary can read. Runs with
// PRUNUS_POISON_UNINITIALIZED=1 unless the environment says otherwise (tensor.h).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>

namespace {
unsigned g_passed = 0, g_failed = 0;
struct ClosingLine : doctest::IReporter {
  explicit ClosingLine(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats& stats) override {
    g_passed = stats.numTestCasesPassingFilters - stats.numTestCasesFailed;
    g_failed = stats.numTestCasesFailed;
  }
  void test_case_start(const doctest::TestCaseData&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};
}  // namespace
DOCTEST_REGISTER_LISTENER("closing_line", 1, ClosingLine);

int main(int argc, char** argv) {
  // Tensor::empty memory reads as NaN here, so a kernel that reads what it never wrote fails a test.
  setenv("PRUNUS_POISON_UNINITIALIZED", "1", 0);
  doctest::Context context;
  context.applyCommandLine(argc, argv);
  const int status = context.run();
  if (!context.shouldExit()) std::printf("tests: %u passed, %u failed\n", g_passed, g_failed);
  return status;
}
