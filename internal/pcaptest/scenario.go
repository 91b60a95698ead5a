package pcaptest

// Scenario is one TLS connection: what the endpoints do and how it is framed.
type Scenario struct {
	TLS   TLSOptions
	Frame FrameOptions
}

// Conversation records the scenario's conversation.
func (s Scenario) Conversation() (*Conversation, error) { return Record(s.TLS) }

// Packets records the conversation and frames it.
func (s Scenario) Packets() ([]Packet, error) {
	c, err := Record(s.TLS)
	if err != nil {
		return nil, err
	}
	return Frame(c, s.Frame)
}

// Close sequences seen from real stacks, for TLSOptions.Close.
var (
	// ClosePlaybook: the client sends FIN,ACK then RST,ACK right away.
	ClosePlaybook = []Event{{Dir: ClientToServer, Kind: FIN}, {Dir: ClientToServer, Kind: RST, Delay: 52_000}}
	// CloseJava: after the client's alert the server closes, then the client (Java 17 on Linux).
	CloseJava = []Event{{Dir: ServerToClient, Kind: FIN, Delay: 700_000}, {Dir: ClientToServer, Kind: FIN, Delay: 7_900_000}}
	// CloseClientFirst: the client closes first, the server answers at once (after close_notify).
	CloseClientFirst = []Event{{Dir: ClientToServer, Kind: FIN, Delay: 240_000}, {Dir: ServerToClient, Kind: FIN, Delay: 98_000}}
	// CloseServerFirst: the server closes first (after its alert), then the client.
	CloseServerFirst = []Event{{Dir: ServerToClient, Kind: FIN, Delay: 150_000}, {Dir: ClientToServer, Kind: FIN, Delay: 4_000_000}}
	// CloseCurl: the server closes after the client's alert; the client resets.
	CloseCurl = []Event{{Dir: ServerToClient, Kind: FIN, Delay: 5_600_000}, {Dir: ClientToServer, Kind: RST, Delay: 2_000_000}}
)
