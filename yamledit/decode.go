package yamledit

import (
	"bytes"
	"errors"
	"io"
	"sync"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Documents decodes the YAML documents of data, in order, stopping at the first error: it returns the
// documents read before it, and the error. The nodes are shared — one run decodes the same static
// pod file for the plan and again for lint — so callers must not change them; a decoded file is kept
// (the last few, keyed by content, with their own copy of it).
func Documents(data []byte) ([]*yaml.Node, error) {
	decoded.mu.Lock()
	for _, d := range decoded.kept {
		if d != nil && bytes.Equal(d.data, data) {
			decoded.mu.Unlock()
			return d.docs, d.err
		}
	}
	decoded.mu.Unlock()
	d := &decodedFile{data: bytes.Clone(data)}
	dec := yaml.NewDecoder(bytes.NewReader(d.data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			d.err = err
			break
		}
		d.docs = append(d.docs, &n)
	}
	decoded.mu.Lock()
	decoded.kept[decoded.next] = d
	decoded.next = (decoded.next + 1) % len(decoded.kept)
	decoded.mu.Unlock()
	return d.docs, d.err
}

type decodedFile struct {
	data []byte
	docs []*yaml.Node
	err  error
}

var decoded struct {
	mu   sync.Mutex
	kept [4]*decodedFile
	next int
}
