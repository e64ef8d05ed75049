#include "state/journal.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

namespace tw {
namespace {

class ApplyJournalTest : public ::testing::Test
{
protected:
  void SetUp() override
  {
    m_dir = std::filesystem::temp_directory_path() / ("tw-journal-" + std::to_string(::getpid()));
    std::filesystem::remove_all(m_dir);
  }
  void TearDown() override { std::filesystem::remove_all(m_dir); }

  static Journal sample()
  {
    Journal j;
    j.id = "2026-11-24T21:00:00Z-42";
    j.tool_version = "0.1.0";
    j.command = "tw-advisor apply --yes";
    j.created_at = "2026-11-24T21:00:00Z";
    j.updated_at = j.created_at;
    j.state = JournalState::runtime_applied;
    j.root = "/tmp/root";
    j.proc_sys = "/proc/sys";
    j.netns_inode = 4026531840;
    j.plan_source = "/tmp/plan.json";
    j.plan_sha256 = "ab";
    j.canary = JournalCanary{ "0123", 12.5, 77 };
    j.watch_seconds = 90;
    j.changes = { { "net.ipv4.tcp_tw_reuse", "2", "1" },
                  { "net.ipv4.ip_local_port_range", "32768 60999", "10240 65535" } };
    JournalFile f;
    f.dir = "/etc/sysctl.d";
    f.name = "90-tw-advisor.conf";
    f.temp_name = ".90-tw-advisor.conf.tw-advisor-tmp";
    f.before = FileContent{ std::string("old\0bytes\xff\n", 11), 0640 };
    f.after = FileContent{ "net.ipv4.tcp_tw_reuse = 1\n", 0644 };
    j.files = { f };
    j.history = { { "prepared", "2026-11-24T21:00:00Z", "x" } };
    return j;
  }

  std::filesystem::path m_dir;
};

TEST(Base64, RoundTripsEveryLengthAndByte)
{
  std::string all;
  for (int i = 0; i < 256; ++i) {
    all += static_cast<char>(i);
  }
  for (std::size_t n = 0; n < 10; ++n) {
    const auto s = all.substr(250 - n, n);
    EXPECT_EQ(base64_decode(base64_encode(s)), s) << n;
  }
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_decode(base64_encode(all)), all);
  EXPECT_FALSE(base64_decode("Zm9").has_value());
  EXPECT_FALSE(base64_decode("Zm9*").has_value());
}

TEST_F(ApplyJournalTest, RoundTripsThroughDiskExactly)
{
  const Dir dir = open_state_dir(m_dir);
  const Journal j = sample();
  save_journal(dir, j);
  const auto back = load_journal(dir);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(journal_to_json(*back), journal_to_json(j));
  ASSERT_EQ(back->files.size(), 1u);
  ASSERT_TRUE(back->files[0].before.has_value());
  EXPECT_EQ(back->files[0].before->bytes, std::string("old\0bytes\xff\n", 11));
  EXPECT_EQ(back->files[0].before->mode, 0640u);
  EXPECT_EQ(back->state, JournalState::runtime_applied);
  EXPECT_EQ(back->canary->bucket, 77u);
  // No temp file is left next to it, and it is private.
  EXPECT_FALSE(std::filesystem::exists(m_dir / "journal.json.tmp"));
  struct stat st
  {};
  ASSERT_EQ(::stat((m_dir / "journal.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(ApplyJournalTest, NoJournalIsNullopt)
{
  const Dir dir = open_state_dir(m_dir);
  EXPECT_FALSE(load_journal(dir).has_value());
}

TEST_F(ApplyJournalTest, RefusesOtherFormatVersions)
{
  auto json = journal_to_json(sample());
  json["format_version"] = 2;
  try {
    journal_from_json(json, "j.json");
    FAIL() << "accepted format_version 2";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("format_version 2"), std::string::npos) << e.what();
  }
  json.erase("format_version");
  EXPECT_THROW(journal_from_json(json, "j.json"), Error);
}

TEST_F(ApplyJournalTest, RefusesDamagedDocuments)
{
  auto json = journal_to_json(sample());
  json["state"] = "halfway";
  EXPECT_THROW(journal_from_json(json, "j.json"), Error);
  json = journal_to_json(sample());
  json.erase("changes");
  EXPECT_THROW(journal_from_json(json, "j.json"), Error);
  json = journal_to_json(sample());
  json["files"][0]["after"]["sha256"] = "00";
  EXPECT_THROW(journal_from_json(json, "j.json"), Error);
}

TEST_F(ApplyJournalTest, RefusesADuplicatedMember)
{
  const Dir dir = open_state_dir(m_dir);
  save_journal(dir, sample());
  auto text = journal_to_json(sample()).dump(2);
  // A second "state" member: which one rollback would trust cannot be told, so neither is.
  text.insert(text.find('{') + 1, "\n  \"state\": \"rolled-back\",");
  write_file_atomically(dir, k_journal_name, "journal.json.tmp", text, 0600);
  try {
    load_journal(dir);
    FAIL() << "a journal with a duplicated member was read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("member /state appears twice"), std::string::npos) << e.what();
  }
}

TEST_F(ApplyJournalTest, SalvageReadsCompleteEntriesOfACutJournal)
{
  const auto text = journal_to_json(sample()).dump(2);
  const auto whole = salvage_journal(text);
  EXPECT_FALSE(whole.truncated);
  ASSERT_EQ(whole.changes.size(), sample().changes.size());
  EXPECT_EQ(whole.changes[0].old_value, sample().changes[0].old_value);
  ASSERT_EQ(whole.files.size(), 1u);
  const auto cut = salvage_journal(text.substr(0, text.find("\"files\"") + 20));
  EXPECT_TRUE(cut.truncated);
  EXPECT_EQ(cut.changes.size(), sample().changes.size());
  EXPECT_TRUE(cut.files.empty()); // cut inside the first file entry: nothing guessed
  EXPECT_TRUE(salvage_journal("").changes.empty());
  EXPECT_TRUE(salvage_journal("{\"changes\": [{\"key\": \"a\", \"new\": \"1\", \"ol").changes.empty());
}

TEST_F(ApplyJournalTest, AdvanceRecordsHistory)
{
  const Dir dir = open_state_dir(m_dir);
  Journal j = sample();
  advance_journal(dir, j, JournalState::done, "applied");
  const auto back = load_journal(dir);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->state, JournalState::done);
  EXPECT_EQ(back->history.back().state, "done");
  EXPECT_EQ(back->history.back().note, "applied");
  EXPECT_TRUE(is_final(JournalState::done));
  EXPECT_TRUE(is_final(JournalState::rolled_back));
  EXPECT_FALSE(is_final(JournalState::persisting));
  for (const auto s : { JournalState::prepared,
                        JournalState::runtime_applied,
                        JournalState::watching,
                        JournalState::persisting,
                        JournalState::done,
                        JournalState::rolling_back,
                        JournalState::rolled_back }) {
    EXPECT_EQ(journal_state_from(to_string(s)), s);
  }
}

} // namespace
} // namespace tw
