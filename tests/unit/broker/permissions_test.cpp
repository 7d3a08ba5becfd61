// Tests for broker/permissions.cpp: owner/group/other mode bits and root, as SysV ipcperms().
#include "broker/permissions.hpp"

#include <gtest/gtest.h>

namespace postbox::broker {
namespace {

constexpr uint32_t kOwner = 1000;
constexpr uint32_t kGroup = 50;

TEST(Permissions, ModeBitsDecideReadAndWrite) {
  struct Case {
    uint32_t mode;
    Credentials who;
    bool read;
    bool write;
  };
  const Credentials owner{1, kOwner, kGroup};
  const Credentials owner_other_gid{1, kOwner, 7};
  const Credentials group_member{2, 2000, kGroup};
  const Credentials other{3, 3000, 3000};
  const Credentials root{4, 0, 0};
  const Case cases[] = {
      {0600, owner, true, true},
      {0400, owner, true, false},
      {0200, owner, false, true},
      {0000, owner, false, false},
      {0600, owner_other_gid, true, true},
      // the owner class is chosen by uid: group/other bits do not rescue the owner
      {0066, owner, false, false},
      {0600, group_member, false, false},
      {0640, group_member, true, false},
      {0620, group_member, false, true},
      {0660, group_member, true, true},
      // a group member is judged by group bits only, not other bits
      {0606, group_member, false, false},
      {0600, other, false, false},
      {0604, other, true, false},
      {0602, other, false, true},
      {0666, other, true, true},
      {0660, other, false, false},
      {0000, root, true, true},
      {0777, other, true, true},
  };
  for (const Case& c : cases) {
    const Ownership o{kOwner, kGroup, c.mode};
    EXPECT_EQ(may_read(o, c.who), c.read) << "mode 0" << std::oct << c.mode << std::dec << " uid "
                                          << c.who.uid << " gid " << c.who.gid;
    EXPECT_EQ(may_write(o, c.who), c.write) << "mode 0" << std::oct << c.mode << std::dec << " uid "
                                            << c.who.uid << " gid " << c.who.gid;
  }
}

TEST(Permissions, OnlyOwnerOrRootMayAdmin) {
  const Ownership o{kOwner, kGroup, 0777};
  EXPECT_TRUE(may_admin(o, Credentials{1, kOwner, 9}));
  EXPECT_TRUE(may_admin(o, Credentials{1, 0, 0}));
  EXPECT_FALSE(may_admin(o, Credentials{1, 2000, kGroup}));
  EXPECT_FALSE(may_admin(o, Credentials{1, 3000, 3000}));
  const Ownership closed{kOwner, kGroup, 0000};
  EXPECT_TRUE(may_admin(closed, Credentials{1, kOwner, kGroup}));
}

}  // namespace
}  // namespace postbox::broker
