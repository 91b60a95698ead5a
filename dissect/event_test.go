package dissect

import (
	"testing"
	"time"
)

// TestEventTime: an event's time comes back as the instant it was given,
// in UTC, to the nanosecond, over the range of pcap and pcapng times and
// beyond; an event without one has the zero Time, and the Unix epoch (a
// capture's zero timestamps) is not taken for it.
func TestEventTime(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.FixedZone("CET", 3600)
	}
	for _, tm := range []time.Time{
		time.Unix(0, 0).UTC(),
		time.Unix(0, 1).UTC(),
		time.Unix(-1, 999_999_999).UTC(),
		time.Unix(1772445600, 778_000).UTC(),
		time.Unix(1<<32-1, 999_999_999).UTC(),
		time.Unix(1772445600, 123_456_789),
		time.Date(2026, 3, 2, 11, 0, 0, 5, paris),
		time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
	} {
		got := Event{Kind: EvFIN}.At(tm).Time()
		if !got.Equal(tm) || got.Location() != time.UTC || got.IsZero() {
			t.Errorf("At(%v).Time() = %v", tm, got)
		}
	}
	if got := (Event{}).Time(); got != (time.Time{}) {
		t.Errorf("Event{}.Time() = %v, want the zero Time", got)
	}
	if got := (Event{}).At(time.Unix(5, 0)).At(time.Time{}).Time(); got != (time.Time{}) {
		t.Errorf("At(zero).Time() = %v, want the zero Time", got)
	}
}

// TestTCPFlagsString: the flags are named as the timeline and the JSON
// have always named them; bits beyond the five are not named.
func TestTCPFlagsString(t *testing.T) {
	for _, tc := range []struct {
		f    TCPFlags
		want string
	}{
		{0, ""},
		{FlagSYN, "SYN"},
		{FlagSYN | FlagACK, "SYN,ACK"},
		{FlagFIN | FlagACK, "FIN,ACK"},
		{FlagFIN | FlagPSH | FlagACK, "FIN,PSH,ACK"},
		{FlagRST, "RST"},
		{FlagRST | FlagACK, "RST,ACK"},
		{FlagSYN | FlagFIN | FlagRST | FlagPSH | FlagACK, "SYN,FIN,RST,PSH,ACK"},
		{0x20 | 0x40 | 0x80 | FlagACK, "ACK"}, // URG, ECE, CWR
	} {
		if got := tc.f.String(); got != tc.want {
			t.Errorf("TCPFlags(%#x).String() = %q, want %q", uint8(tc.f), got, tc.want)
		}
	}
}
