// Package selection selects connections by the fields of their JSON
// record, as tshark's -Y selects packets by their fields.
//
// A selection is an expression of the expr language
// (https://expr-lang.org/docs/language-definition), compiled once against
// the names below and run on each [report.Record]. It must yield a bool.
// Unknown names and type errors fail at [Compile], with the position of
// the mistake.
//
// Names, lower-case as in the JSON record:
//
//	verdict      string   the verdict, e.g. "ok", "client_rejected_certificate"
//	cause        string   the cause of a failure, e.g. "truststore_missing_root"; "" when none
//	failed       bool     whether the handshake failed
//	sni          string   the server name the client sent
//	server       string   the server's "ip:port" ("[ip6]:port" for IPv6)
//	server_ip    string   the server's address, without the port
//	server_port  int      the server's port
//	client       string   the client's "ip:port"
//	client_ip    string   the client's address, without the port
//	client_port  int      the client's port
//	version      string   the negotiated version, e.g. "TLS 1.2"; "" when none
//	cipher       string   the negotiated cipher suite
//	alpn         string   the negotiated application protocol
//	host         string   the name the certificate was checked against
//	file         string   the capture file the connection came from
//	ja3, ja4     string   the client's fingerprints
//	stack        string   the client's TLS stack (client_stack.name), e.g. "java"; "" when unknown
//	app          string   the client application (client_stack.app), e.g. "curl"
//	findings     []string the codes of the findings, e.g. "weak_key"
//	id           int      the connection's number in its file
//	duration_ms  float    the connection's duration in milliseconds
//
// Operators:
//
//	==  !=  <  <=  >  >=          comparison
//	&&  ||  !   (and  or  not)    logic
//	in  not in                    membership in a list: "weak_key" in findings
//	contains  startsWith  endsWith   substrings: sni endsWith ".example.test"
//	matches                       Go regular expression (RE2): ja4 matches "^t13d"
//
// and expr's built-in functions, such as len, lower and any:
// len(findings) > 0, lower(sni) == "api.example.test",
// any(findings, # startsWith "anchor_").
//
// Examples:
//
//	failed && sni == "backend.example.test"
//	cause == "truststore_missing_root"
//	"weak_key" in findings
//	stack == "java" && version == "TLS 1.2"
//	server_port == 8443 || server_ip == "10.0.0.7"
//	not failed and duration_ms > 500
//
// Strings are written in double quotes; a name compared with an unquoted
// word is an unknown-name error, which catches sni == backend.
package selection
