// The operator-facing hints of a failed rte_eal_init (dataplane/dpdk/dpdk_eal.h).

#include "dataplane/dpdk/dpdk_eal.h"

#include <cerrno>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace strobe::dataplane {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// DPDK reports "Cannot get hugepage information" as EACCES, even to root.
TEST(EalErrorHintTest, NoHugepagesIsSaidAsSuchNotAsPermission) {
  const std::string hint = EalErrorHint(EACCES, /*no_huge=*/false, /*free_hugepages=*/0);
  EXPECT_THAT(hint, HasSubstr("no free hugepages"));
  EXPECT_THAT(hint, HasSubstr("--no-huge"));
  EXPECT_THAT(hint, Not(HasSubstr("permission")));
  EXPECT_THAT(EalErrorHint(ENOMEM, false, 0), HasSubstr("no free hugepages"));
}

TEST(EalErrorHintTest, PermissionWhenHugepagesExistOrAreNotUsed) {
  EXPECT_THAT(EalErrorHint(EACCES, false, 512), HasSubstr("permission denied"));
  EXPECT_THAT(EalErrorHint(EACCES, /*no_huge=*/true, -1), HasSubstr("permission denied"));
  EXPECT_THAT(EalErrorHint(ENOMEM, false, 8), HasSubstr("not enough memory"));
}

TEST(EalErrorHintTest, OtherErrorsNameTheirCause) {
  EXPECT_THAT(EalErrorHint(EFAULT, true, -1), HasSubstr("--file-prefix"));
  EXPECT_THAT(EalErrorHint(EPROTO, true, -1), HasSubstr("--no-pci"));
  EXPECT_THAT(EalErrorHint(EINVAL, true, -1), HasSubstr("eal_args"));
}

}  // namespace
}  // namespace strobe::dataplane
