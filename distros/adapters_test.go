package distros

import "testing"

func TestMicroK8sGolden(t *testing.T) { kitRunGolden(t, mustGet(t, "microk8s")) }
func TestK0sGolden(t *testing.T)      { kitRunGolden(t, mustGet(t, "k0s")) }
func TestKopsGolden(t *testing.T)     { kitRunGolden(t, mustGet(t, "kops")) }
func TestTalosGolden(t *testing.T)    { kitRunGolden(t, mustGet(t, "talos")) }
func TestKindGolden(t *testing.T)     { kitRunGolden(t, mustGet(t, "kind")) }
