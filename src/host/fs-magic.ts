/**
 * Filesystem magic numbers (statfs f_type) for the filesystems a Docker data-root or a backup
 * directory plausibly lives on; from linux/magic.h and statfs(2).
 */
export const FS_MAGIC: Readonly<Record<string, number>> = {
  ext4: 0xef53, // ext2, ext3 and ext4 share it
  xfs: 0x58465342,
  btrfs: 0x9123683e,
  tmpfs: 0x01021994,
  overlay: 0x794c7630,
  aufs: 0x61756673,
  zfs: 0x2fc12fc1,
  nfs: 0x6969,
  cifs: 0xff534d42,
  smb2: 0xfe534d42,
  ecryptfs: 0xf15f,
  f2fs: 0xf2f52010,
  reiserfs: 0x52654973,
  fuse: 0x65735546,
  squashfs: 0x73717368,
  ramfs: 0x858458f6,
  vfat: 0x4d44,
  gpfs: 0x47504653,
  ceph: 0x00c36400,
};

/** The name of a filesystem magic number, or its hex form when unknown. */
export function fsTypeName(magic: number): string {
  for (const [name, value] of Object.entries(FS_MAGIC)) if (value === magic) return name;
  return `0x${magic.toString(16)}`;
}
