package patches

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	kubeadmapi "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm"
	kubeadmv1 "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/v1"
	kubeadmv1beta4 "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/v1beta4"
	sigsyaml "sigs.k8s.io/yaml"
)

// validateClusterConfiguration checks the edited ClusterConfiguration the way kubeadm reads it.
//
// v1beta4 and v1 are decoded with kubeadm's own types (scheme, defaulting, conversion to the internal
// type) and validated with kubeadm's rules (kubeadm_rules.go, held to kubeadm's validation package by
// tests). Unknown or duplicate fields are only a warning in kubeadm (a strict-decoding error is fatal
// only in `kubeadm config validate`), so a strict error fails here only if the edit introduced it.
//
// kubeadm 1.37 no longer has the v1beta2/v1beta3 types, so those are checked structurally: the
// document must decode the way kubeadm's YAML library (sigs.k8s.io/yaml, YAML 1.1) reads it, without
// duplicate keys, and controllerManager.extraArgs must be a map of strings.
func validateClusterConfiguration(apiVersion, before, after string) error {
	if !kubeadmAPIVersions[apiVersion] {
		return validateLegacy(before, after)
	}
	if err := decodeStrict([]byte(after)); err != nil && decodeStrict([]byte(before)) == nil {
		return fmt.Errorf("kubeadm would reject the edited document: %s", oneLine(err.Error()))
	}
	errs, err := validateKubeadm([]byte(after))
	if err != nil {
		return fmt.Errorf("kubeadm cannot decode the edited document: %s", oneLine(err.Error()))
	}
	if len(errs) > 0 {
		msg := oneLine(errs.ToAggregate().Error())
		if beforeErrs, err := validateKubeadm([]byte(before)); err != nil || len(beforeErrs) > 0 {
			msg += " (the file fails kubeadm's validation before the edit too)"
		}
		return fmt.Errorf("kubeadm would reject the edited document: %s", msg)
	}
	return nil
}

// kubeadmScheme is the scheme kubeadm's apis/kubeadm/scheme package registers, built the same way
// but on first use: that package builds it at process start-up, which every mirrorctl run would pay
// for, kubeadm config or not. TestKubeadmSchemeIsKubeadms compares the two.
var kubeadmScheme = sync.OnceValues(func() (*runtime.Scheme, serializer.CodecFactory) {
	s := runtime.NewScheme()
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	for _, add := range []func(*runtime.Scheme) error{kubeadmapi.AddToScheme, kubeadmv1beta4.AddToScheme, kubeadmv1.AddToScheme} {
		if err := add(s); err != nil {
			panic(err) // kubeadm's own registration; it cannot fail
		}
	}
	if err := s.SetVersionPriority(kubeadmv1beta4.SchemeGroupVersion, kubeadmv1.SchemeGroupVersion); err != nil {
		panic(err)
	}
	return s, serializer.NewCodecFactory(s)
})

func decodeStrict(doc []byte) error {
	scheme, _ := kubeadmScheme()
	s := kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme,
		kjson.SerializerOptions{Yaml: true, Strict: true})
	_, _, err := s.Decode(doc, nil, nil)
	return err
}

// validateKubeadm decodes like kubeadm (defaulting and conversion to the internal type) and runs
// ValidateClusterConfiguration's checks (kubeadm_rules.go).
func validateKubeadm(doc []byte) (field.ErrorList, error) {
	c := &kubeadmapi.ClusterConfiguration{}
	_, codecs := kubeadmScheme()
	if err := runtime.DecodeInto(codecs.UniversalDecoder(), doc, c); err != nil {
		return nil, err
	}
	return checkClusterConfiguration(c), nil
}

func validateLegacy(before, after string) error {
	if err := decodeLegacy(after); err != nil {
		msg := "kubeadm would reject the edited document: " + err.Error()
		if decodeLegacy(before) != nil {
			msg += " (the file fails this check before the edit too)"
		}
		return errors.New(msg)
	}
	return nil
}

func decodeLegacy(doc string) error {
	j, err := sigsyaml.YAMLToJSONStrict([]byte(doc))
	if err != nil {
		return errors.New(oneLine(err.Error()))
	}
	var c struct {
		ControllerManager *struct {
			ExtraArgs map[string]string `json:"extraArgs"`
		} `json:"controllerManager"`
	}
	if err := json.Unmarshal(j, &c); err != nil {
		return errors.New(oneLine(err.Error()))
	}
	return nil
}
