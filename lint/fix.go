package lint

import (
	"errors"
	"fmt"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/distros"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/yamledit"
)

// FixTargets lists the files Fix may change: the static pod manifests in the folder it edits. A
// saved lint-fix plan may touch nothing else.
func FixTargets(root nodefs.Root, o Options) ([]string, error) {
	pods, _, err := readPodDir(o.reads(root), nodefs.Clean(fixDir(o)), false)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range pods {
		out = append(out, p.path)
	}
	return out, nil
}

func fixDir(o Options) string {
	if o.ManifestsDir == "" {
		return distros.KubeadmManifestsDir
	}
	return o.ManifestsDir
}

// Fix plans the repairs lint can make: removing the EndpointSliceMirroring entry from every
// --feature-gates flag in the static pod folder (the whole flag when it was the only gate). Like an
// adapter's Plan it writes nothing; it returns one FileChange per manifest it would change, spliced
// into the original bytes so the file differs only on those lines.
func Fix(root nodefs.Root, o Options) ([]change.FileChange, error) {
	reads := o.reads(root)
	pods, _, err := readPodDir(reads, nodefs.Clean(fixDir(o)), true)
	if err != nil {
		return nil, err
	}
	var out []change.FileChange
	for _, p := range pods {
		items := gateItems(p)
		if len(items) == 0 {
			continue
		}
		before, err := reads.File(p.path, false)
		if err != nil {
			return nil, err
		}
		after, err := removeGates(p.data, items)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.path, err)
		}
		// The edit must mean what it says: the result parses as a Pod and has no such gate left.
		doc, err := parsePod(after)
		if err != nil {
			return nil, fmt.Errorf("%s: internal error: fixed manifest does not parse: %w", p.path, err)
		}
		if left := gateItems(&podFile{path: p.path, doc: doc}); len(left) > 0 {
			return nil, fmt.Errorf("%s: internal error: %s left after the fix", p.path, left[0].item)
		}
		out = append(out, change.FileChange{Path: p.path, Kind: distros.KindStaticPod, Before: before, After: after})
	}
	return out, nil
}

func removeGates(data []byte, items []flagItem) ([]byte, error) {
	f := yamledit.Over(data)
	var edits []yamledit.Splice
	for _, it := range items {
		if it.seq.Style&yaml.FlowStyle != 0 {
			return nil, fmt.Errorf("line %d: %s is in a flow-style list ([a, b]); remove the %s gate by hand", it.line, it.item, featureGate)
		}
		entries, bad, _ := gateEntries(it.text)
		var kept []string
		for i, e := range entries {
			if !bad[i] {
				kept = append(kept, e)
			}
		}
		if len(kept) == 0 || strings.TrimSpace(strings.Join(kept, "")) == "" {
			for _, n := range []*yaml.Node{it.flag, it.value} {
				if n == nil {
					continue
				}
				e, err := f.DeleteItem(n)
				if errors.Is(err, yamledit.ErrNotAlone) {
					return nil, fmt.Errorf("line %d: %q does not stand alone on its line; remove the %s gate by hand", n.Line, n.Value, featureGate)
				}
				if err != nil {
					return nil, notRewritten(n)
				}
				edits = append(edits, e)
			}
			continue
		}
		value := strings.Join(kept, ",")
		target, text := it.value, value
		if it.value == nil {
			target, text = it.flag, "--feature-gates="+value
		}
		e, err := f.SetScalar(target, text, false)
		if err != nil {
			return nil, notRewritten(target)
		}
		edits = append(edits, e)
	}
	return yamledit.Apply(data, edits)
}

// notRewritten refuses a value whose text is not one whole token on its line, so an edit never lands
// beside its target.
func notRewritten(n *yaml.Node) error {
	return fmt.Errorf("line %d: %q spans several lines or uses a YAML form mirrorctl does not rewrite; fix it by hand", n.Line, n.Value)
}
