package engine

import (
	"fmt"
	"strings"
	"time"

	"github.com/mirrorctl/mirrorctl/planfile"
)

// PlanInfo is the "plan" key show-plan and apply-plan add to the JSON result of a dry-run or a run.
type PlanInfo struct {
	File             string            `json:"file"`
	SHA256           string            `json:"sha256"`
	Operation        string            `json:"operation"`
	Created          time.Time         `json:"created"`
	MirrorctlVersion string            `json:"mirrorctl_version"`
	Node             planfile.Identity `json:"node"`
}

// PlanResult is the same JSON object `disable` prints, plus which plan it came from.
type PlanResult struct {
	*Result
	Plan PlanInfo `json:"plan"`
}

// NewPlanResult is r, the result of the plan f read from path (its sha256 sum).
func NewPlanResult(r *Result, path, sum string, f *planfile.File) PlanResult {
	return PlanResult{Result: r, Plan: PlanInfo{File: path, SHA256: sum, Operation: f.Operation, Created: f.Created,
		MirrorctlVersion: f.MirrorctlVersion, Node: f.Node}}
}

// DescribePlan says what a plan is: which file, which digest, what it does and where it was made.
func DescribePlan(path, sum string, f *planfile.File) string {
	node := f.Node.Hostname
	if node == "" {
		node = "(no hostname)"
	}
	if f.Node.MachineID != "" {
		node += " machine-id " + f.Node.MachineID
	}
	return fmt.Sprintf("%s sha256 %s: %s on %s node %s, made %s by mirrorctl %s", path, sum, f.Operation, f.Distro, node, f.Created.Format(time.RFC3339), f.MirrorctlVersion)
}

// ExpectSHA256 refuses the plan file path (its sha256 sum) unless it is the one want names (a
// change ticket's digest); an empty want accepts any.
func ExpectSHA256(path, sum, want string) error {
	if want = strings.ToLower(strings.TrimSpace(want)); want != "" && want != sum {
		return fmt.Errorf("%s: sha256 %s, not %s as --expect-sha256 requires; nothing written", path, sum, want)
	}
	return nil
}
