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

// FindingCode names a finding. The values are a contract (JSON
// findings[].code).
type FindingCode string

// Finding codes.
const (
	FindingAnchor                FindingCode = "anchor_"
	FindingAnchorExpired         FindingCode = "anchor_expired"
	FindingAnchorNotYetValid     FindingCode = "anchor_not_yet_valid"
	FindingCaptureGap            FindingCode = "capture_gap"
	FindingCaptureMidstream      FindingCode = "capture_midstream"
	FindingCertificateUnparsable FindingCode = "certificate_unparsable"
	FindingChainDuplicate        FindingCode = "chain_duplicate"
	FindingChainOrder            FindingCode = "chain_order"
	FindingClientCertRequested   FindingCode = "client_cert_requested"
	FindingClosedAfterHandshake  FindingCode = "closed_after_handshake"
	FindingCnOnly                FindingCode = "cn_only"
	FindingDecrypted             FindingCode = "decrypted"
	FindingDecryptionFailed      FindingCode = "decryption_failed"
	FindingExpired               FindingCode = "expired"
	FindingExpiresSoon           FindingCode = "expires_soon"
	FindingHostnameMismatch      FindingCode = "hostname_mismatch"
	FindingIntermediateNotCa     FindingCode = "intermediate_not_ca"
	FindingKeylogIncomplete      FindingCode = "keylog_incomplete"
	FindingKeylogMismatch        FindingCode = "keylog_mismatch"
	FindingKeylogNoSecrets       FindingCode = "keylog_no_secrets"
	FindingKeylogUnsupported     FindingCode = "keylog_unsupported"
	FindingNoServerAuth          FindingCode = "no_server_auth"
	FindingNotYetValid           FindingCode = "not_yet_valid"
	FindingObsoleteProtocol      FindingCode = "obsolete_protocol"
	FindingSelfSigned            FindingCode = "self_signed"
	FindingTrusted               FindingCode = "trusted"
	FindingTruststoreLookalike   FindingCode = "truststore_lookalike"
	FindingUntrusted             FindingCode = "untrusted"
	FindingWeakKey               FindingCode = "weak_key"
	FindingWeakSignature         FindingCode = "weak_signature"
)

// Finding is one observation with its evidence.
type Finding struct {
	Code     FindingCode `json:"code"`
	Severity Severity    `json:"severity"`
	Summary  string      `json:"summary"`
	Evidence []string    `json:"evidence,omitempty"`
}

// weakFindings are the findings of a certificate a client may refuse for
// its key, signature or usage, in the order a cause names them.
var weakFindings = []FindingCode{FindingWeakKey, FindingWeakSignature, FindingNoServerAuth, FindingIntermediateNotCa}
