package snapshot

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/mirrorctl/mirrorctl/change"
)

// ErrHardLinked means a target has more than one hard link. An atomic write renames a new inode over
// one name: the file's other names keep the old bytes, silently split from it (the kubelet, a backup
// or a config manager may read those).
var ErrHardLinked = errors.New("has more than one hard link")

// linkCount returns host's number of hard links (1 when it cannot tell: the read that follows fails
// with the reason).
func linkCount(host string) uint64 {
	fi, err := os.Lstat(host)
	if err != nil {
		return 1
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}

// hardLinked is the one-line refusal, or with split the warning, for a target with n links.
func hardLinked(path string, n uint64, split bool) error {
	others := "the other name keeps"
	if n > 2 {
		others = fmt.Sprintf("the other %d names keep", n-1)
	}
	if split {
		return fmt.Errorf("--force: %s has %d hard links: only this name gets the new bytes, %s the old ones", path, n, others)
	}
	return fmt.Errorf("%s: %w (%d links): writing it would split this name from the file, %s the old bytes; nothing written (--force writes it all the same)", path, ErrHardLinked, n, others)
}

// CheckHardLinks looks at every target changes would rewrite (a file that exists and changes) and
// refuses one with more than one hard link: the error wraps ErrHardLinked and names the file and its
// link count. With split it returns a warning per such file instead, for the caller to print.
func CheckHardLinks(changes []change.FileChange, split bool) (warnings []string, err error) {
	for _, c := range changes {
		if !c.Changed() || c.After == nil || c.Before == nil || !c.Before.Exists {
			continue
		}
		if n := linkCount(c.Before.HostPath); n > 1 {
			if !split {
				return nil, hardLinked(c.Path, n, false)
			}
			warnings = append(warnings, hardLinked(c.Path, n, true).Error())
		}
	}
	return warnings, nil
}
