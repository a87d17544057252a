package patches

import (
	"bytes"

	"github.com/mirrorctl/mirrorctl/controllers"
)

// AddedControllersKey names, in a snapshot's record of a file (FileMeta.Added), the controllers
// entry a disable created in a kubeadm config that had none: the entry is mirrorctl's, not the
// operator's, and an enable may take it back (RemoveAdded).
const AddedControllersKey = "controllerManager.extraArgs.controllers"

// RemoveAdded is enable for a config whose controllers entry mirrorctl itself added: before is the
// file as it was before the disable that added it (the snapshot's copy). When the lines that disable
// inserted (and the line it cleared, such as `extraArgs: {}`) are still in the file as it wrote them,
// exactly once, RemoveAdded puts back what was there instead and returns the result and its state:
// kubeadm's default again, with no entry, and every other byte of the file as it is now (edits made
// since the disable stay). ok is false, and nothing is taken back, when the entry is not exactly what
// the disable wrote (the operator changed it, or its value), when the file would still set controllers
// (another entry), or when the result does not read back; the caller then edits the entry as usual.
func (k *KubeadmConfig) RemoveAdded(before []byte) (out []byte, after *KubeadmState, ok bool) {
	b, err := ParseKubeadmConfig(before)
	if err != nil || b.state.Set || !k.state.Set || k.state.Mirroring {
		return nil, nil, false
	}
	// The name the disable used is not recorded; each gives different lines, and only the one it
	// used can match.
	for _, name := range []string{controllers.NameCanonical, controllers.NameAlias} {
		added, _, changed, err := b.Edit(controllers.Disable, name)
		if err != nil || !changed {
			continue
		}
		if out, ok := reverseHunk(before, added, k.data); ok {
			st, err := ReadKubeadmConfig(out)
			if err != nil || st.Set || !st.Mirroring {
				continue
			}
			return out, st, true
		}
	}
	return nil, nil, false
}

// reverseHunk undoes in cur the one contiguous block of lines that turned before into after: the
// block after has in place of before's must appear in cur exactly once, preceded by the line before
// it (when there is one); it is replaced by before's lines.
func reverseHunk(before, after, cur []byte) ([]byte, bool) {
	bl, al, cl := lines(before), lines(after), lines(cur)
	p := 0
	for p < len(bl) && p < len(al) && bytes.Equal(bl[p], al[p]) {
		p++
	}
	s := 0
	for s < len(bl)-p && s < len(al)-p && bytes.Equal(bl[len(bl)-1-s], al[len(al)-1-s]) {
		s++
	}
	removed, inserted := bl[p:len(bl)-s], al[p:len(al)-s]
	if len(inserted) == 0 {
		return nil, false
	}
	var ctx [][]byte
	if p > 0 {
		ctx = [][]byte{bl[p-1]}
	}
	needle := append(append([][]byte{}, ctx...), inserted...)
	at := -1
	for i := 0; i+len(needle) <= len(cl); i++ {
		match := true
		for j := range needle {
			if !bytes.Equal(cl[i+j], needle[j]) {
				match = false
				break
			}
		}
		if match {
			if at >= 0 {
				return nil, false // twice: which one is ours cannot be told
			}
			at = i + len(ctx)
		}
	}
	if at < 0 {
		return nil, false
	}
	var out []byte
	for _, l := range cl[:at] {
		out = append(out, l...)
	}
	for _, l := range removed {
		out = append(out, l...)
	}
	for _, l := range cl[at+len(inserted):] {
		out = append(out, l...)
	}
	return out, true
}

// lines splits b after each "\n", keeping the line ends (CRLF included) and a last line without one.
func lines(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			out = append(out, b)
			break
		}
		out = append(out, b[:i+1])
		b = b[i+1:]
	}
	return out
}
