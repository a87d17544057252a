package planfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

// Plan files are host paths, relative to the current directory, never resolved under --root: a plan
// is for the reviewer and the operator, who run mirrorctl from the host that mounts the node image.
// On the node itself (--root /) the two are the same.

// MaxSize bounds what Read reads: a plan holds a few config files, each at most nodefs.MaxFileSize,
// twice (old and new bytes).
const MaxSize = 4*nodefs.MaxFileSize + 1<<20

// Saved is a plan written by Save.
type Saved struct {
	SHA256 string
	// Secrets name, per changed file, the kind of credential its complete contents in the plan hold
	// (a bootstrap token, a certificate key, …): the plan must be kept as private as that file.
	Secrets []Secret
}

// Secret is a changed file of a plan that holds a credential.
type Secret struct{ Path, Kind string }

// Save writes plan p, computed from inputs in, to path (a host path, see above) with mode 0600 and returns its sha256, which a
// change ticket cites and `apply-plan --expect-sha256` checks. Folders whose files a kubelet runs
// (refusedDirs, node paths, checked on the host and under root) and the plan's own targets are
// refused.
//
// The plan is written to a new temp file in the folder and renamed over path, everything relative to
// the folder opened once: a link planted at path (a world-writable /tmp) is replaced, never followed,
// so root's plan never lands in the file the link names.
func Save(root nodefs.Root, p *change.Plan, op string, in Inputs, path, toolVersion string, refusedDirs []string) (*Saved, error) {
	dir, base, err := planDir(root, path, refusedDirs)
	if err != nil {
		return nil, err
	}
	if err := notATarget(root, p, filepath.Join(dir, base), path); err != nil {
		return nil, err
	}
	f, err := Build(p, op, ReadIdentity(root), toolVersion, time.Now())
	if err != nil {
		return nil, err
	}
	f.Inputs = in.Recorded()
	data, err := Marshal(f)
	if err != nil {
		return nil, err
	}
	if err := writeIn(dir, base, data); err != nil {
		return nil, fmt.Errorf("--save-plan %s: %w", path, err)
	}
	s := &Saved{SHA256: Sum(data)}
	for _, t := range f.Files {
		if m := credentialRE().FindStringSubmatch(t.After); t.Changed && m != nil {
			s.Secrets = append(s.Secrets, Secret{Path: t.Path, Kind: m[1]})
		}
	}
	return s, nil
}

// planDir checks where a plan is to be saved and returns its folder (links resolved: the operator
// named it) and file name.
func planDir(root nodefs.Root, path string, refusedDirs []string) (string, string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", "", fmt.Errorf("--save-plan %s: %w", path, err)
	}
	if fi, err := os.Lstat(abs); err == nil && fi.IsDir() {
		return "", "", fmt.Errorf("--save-plan %s: is a directory", path)
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		return "", "", fmt.Errorf("--save-plan %s: folder %s: %w", path, filepath.Dir(abs), unwrapPath(err))
	}
	for _, d := range refusedDirs {
		for _, base := range []string{"/", root.Dir} {
			refused := filepath.Join(base, d)
			if real, err := filepath.EvalSymlinks(refused); err == nil {
				refused = real
			}
			if dir == refused {
				return "", "", fmt.Errorf("--save-plan %s: is in %s, whose files the kubelet runs as static pods; save the plan elsewhere", path, refused)
			}
		}
	}
	return dir, filepath.Base(abs), nil
}

// notATarget refuses a plan path that names one of the plan's own files (under --root), which
// saving would overwrite with the plan.
func notATarget(root nodefs.Root, p *change.Plan, host, path string) error {
	fi, err := os.Stat(host)
	for _, c := range p.Files {
		th, rerr := root.Resolve(c.Path)
		if rerr != nil {
			continue
		}
		same := th == host
		if tfi, terr := os.Stat(th); !same && err == nil && terr == nil {
			same = os.SameFile(fi, tfi)
		}
		if same {
			return fmt.Errorf("--save-plan %s: is %s, a file the plan changes", path, c.Path)
		}
	}
	return nil
}

// writeIn writes data as base in folder dir: a new dot temp file (O_EXCL, O_NOFOLLOW), fsynced, renamed
// over base, the folder fsynced; all relative to one descriptor of dir.
func writeIn(dir, base string, data []byte) (err error) {
	dfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("folder %s: %w", dir, err)
	}
	defer unix.Close(dfd)
	var tmp string
	var fd int
	for i := 0; ; i++ {
		tmp = fmt.Sprintf(".%s.%d.%d.tmp", base, os.Getpid(), i)
		fd, err = unix.Openat(dfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if !errors.Is(err, unix.EEXIST) || i > 100 {
			break
		}
	}
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), filepath.Join(dir, tmp))
	defer func() {
		if err != nil {
			_ = unix.Unlinkat(dfd, tmp, 0)
		}
	}()
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err = unix.Renameat(dfd, tmp, dfd, base); err != nil {
		return err
	}
	return unix.Fsync(dfd)
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// credentialRE finds the secrets a kubeadm config or a kubeconfig-like file may hold (bootstrap
// tokens, the certificate key that decrypts the uploaded control-plane certificates, client keys).
var credentialRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?m)^[ \t-]*(token|certificateKey|client-key-data|client-certificate-data|password):[ \t]*\S`)
})

var versionRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?m)^mirrorctl_version: "?([^"\n]*)"?\n`) })

// Read reads and checks a plan file (a host path) and returns it with the sha256 of its bytes.
// toolVersion is this mirrorctl's: a plan made by another version that does not parse says so.
func Read(path, toolVersion string) (*File, string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	if !fi.Mode().IsRegular() {
		return nil, "", fmt.Errorf("%s: not a regular file", path)
	}
	if fi.Size() > MaxSize {
		return nil, "", fmt.Errorf("%s: %d bytes, larger than any plan mirrorctl writes", path, fi.Size())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	f, err := Parse(data)
	if err != nil {
		if m := versionRE().FindSubmatch(data); m != nil && string(m[1]) != toolVersion && errors.Is(err, ErrMalformed) {
			// A later mirrorctl may render diffs or the file differently; say so rather than let
			// "malformed" suggest tampering.
			return nil, "", fmt.Errorf("%s: %w (the plan was made by mirrorctl %s, this is %s)", path, err, m[1], toolVersion)
		}
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	return f, Sum(data), nil
}
