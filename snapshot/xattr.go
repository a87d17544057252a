package snapshot

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Extended attributes carry what mode bits cannot: the POSIX ACL (system.posix_acl_access, whose mask
// is what the group bits show), the SELinux label (security.selinux), file capabilities, IMA
// signatures, and user.* and trusted.* data. A rename puts a new inode in place, so every one of them
// must be copied to the temp file before it is renamed over the target, or a group denied by the ACL
// can read the kcm manifest afterwards and a user granted by it cannot.

// xattrNamespaces are the ones Linux has; a meta.json naming another was not written by mirrorctl.
var xattrNamespaces = []string{"user.", "trusted.", "security.", "system."}

// maxXattrValue is the largest value Linux stores (XATTR_SIZE_MAX).
const maxXattrValue = 64 << 10

// readXattrs returns every extended attribute of host (not following a final symlink): a non-nil map,
// empty when the file has none or its file system has none. trusted.* is listed only to root.
func readXattrs(host string) (map[string][]byte, error) {
	names, err := listXattrs(func(buf []byte) (int, error) { return unix.Llistxattr(host, buf) })
	if err != nil {
		return nil, fmt.Errorf("list extended attributes: %w", err)
	}
	out := make(map[string][]byte, len(names))
	for _, n := range names {
		v, err := getXattr(func(buf []byte) (int, error) { return unix.Lgetxattr(host, n, buf) })
		if errors.Is(err, unix.ENODATA) {
			continue // removed since it was listed
		}
		if err != nil {
			return nil, fmt.Errorf("read extended attribute %s: %w", n, err)
		}
		out[n] = v
	}
	return out, nil
}

// listXattrs calls list with a growing buffer until the names fit, and splits them. A file system
// without extended attributes has none.
func listXattrs(list func([]byte) (int, error)) ([]string, error) {
	for range 8 {
		n, err := list(nil)
		if errors.Is(err, unix.ENOTSUP) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, nil
		}
		buf := make([]byte, n)
		n, err = list(buf)
		if errors.Is(err, unix.ERANGE) {
			continue // grew in between
		}
		if err != nil {
			return nil, err
		}
		var names []string
		for _, b := range bytes.Split(buf[:n], []byte{0}) {
			if len(b) > 0 {
				names = append(names, string(b))
			}
		}
		return names, nil
	}
	return nil, unix.ERANGE
}

func getXattr(get func([]byte) (int, error)) ([]byte, error) {
	for range 8 {
		n, err := get(nil)
		if err != nil {
			return nil, err
		}
		buf := make([]byte, n)
		n, err = get(buf)
		if errors.Is(err, unix.ERANGE) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
	return nil, unix.ERANGE
}

// xattrFault, when set (only by tests), makes setting an attribute fail as a file system that refuses
// it would: root can set every namespace on the file systems tests run on.
var xattrFault func(name string) error

// setXattrs makes the open file fd carry exactly want: each attribute set, and any the creation gave
// it that want lacks (an ACL inherited from the folder's default ACL) removed. It runs after chown and
// chmod: chown drops security.capability, and a chmod after the ACL would rewrite the ACL's mask.
// The error names the attribute the file system refused.
func setXattrs(fd int, want map[string][]byte) error {
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		err := unix.Fsetxattr(fd, n, want[n], 0)
		if err == nil && xattrFault != nil {
			err = xattrFault(n)
		}
		if err != nil {
			return fmt.Errorf("the file system refuses extended attribute %s on the new file (%w); the file would lose it", n, err)
		}
	}
	have, err := listXattrs(func(buf []byte) (int, error) { return unix.Flistxattr(fd, buf) })
	if err != nil {
		return fmt.Errorf("list extended attributes of the new file: %w", err)
	}
	for _, n := range have {
		if _, ok := want[n]; ok {
			continue
		}
		if err := unix.Fremovexattr(fd, n); err != nil && !errors.Is(err, unix.ENODATA) {
			return fmt.Errorf("the new file got extended attribute %s, which the original does not have, and removing it failed (%w)", n, err)
		}
	}
	return nil
}

// validXattrs refuses attributes no file system could have given a file (meta.json is ours, but is
// checked like every other input a rollback writes from).
func validXattrs(x map[string][]byte) error {
	for n, v := range x {
		ns := false
		for _, p := range xattrNamespaces {
			ns = ns || strings.HasPrefix(n, p) && len(n) > len(p)
		}
		if !ns || len(n) > 255 || strings.IndexByte(n, 0) >= 0 {
			return fmt.Errorf("extended attribute name %q is not one Linux has", n)
		}
		if len(v) > maxXattrValue {
			return fmt.Errorf("extended attribute %s: %d bytes, more than Linux stores", n, len(v))
		}
	}
	return nil
}
