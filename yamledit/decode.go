package yamledit

import (
	"bytes"
	"errors"
	"io"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Decoded is a YAML stream decoded once: its bytes, its documents in order up to the first error, and
// that error. Readers that look at the same file in different ways (a lenient linter, the editor's
// policy through Parse) share one Decoded instead of decoding the bytes again; they must not change
// the nodes or Data.
type Decoded struct {
	Data []byte
	Docs []*yaml.Node // document nodes, as the decoder returns them
	Err  error        // the first decode error; Docs holds the documents before it
}

// Decode decodes the YAML documents of data, in order, stopping at the first error.
func Decode(data []byte) *Decoded {
	d := &Decoded{Data: data}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			d.Err = err
			break
		}
		d.Docs = append(d.Docs, &n)
	}
	return d
}

// Documents decodes the YAML documents of data, in order, stopping at the first error: it returns the
// documents read before it, and the error.
func Documents(data []byte) ([]*yaml.Node, error) {
	d := Decode(data)
	return d.Docs, d.Err
}
