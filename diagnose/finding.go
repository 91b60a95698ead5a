package diagnose

// Severity is how much a finding matters. The values are a contract
// (JSON findings[].severity).
type Severity string

// Severities of findings.
const (
	SevError   Severity = "error"
	SevWarning Severity = "warning"
	SevInfo    Severity = "info"
)

// Finding is one observation with its evidence.
type Finding struct {
	Code     string   `json:"code"`
	Severity Severity `json:"severity"`
	Summary  string   `json:"summary"`
	Evidence []string `json:"evidence,omitempty"`
}
