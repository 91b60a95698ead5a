package capture_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"testing"
	"testing/iotest"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tlstriage/tlstriage/capture"
	"github.com/tlstriage/tlstriage/internal/pcaptest"
)

// order is a byte order that can append.
type order interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// ngBlock encodes one pcapng block in byte order o: type, total length,
// body padded to 32 bits, total length.
func ngBlock(o order, typ uint32, body []byte) []byte {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	b := o.AppendUint32(nil, typ)
	b = o.AppendUint32(b, uint32(12+len(body)))
	b = append(b, body...)
	return o.AppendUint32(b, uint32(12+len(body)))
}

func shb(o order) []byte {
	body := o.AppendUint32(nil, 0x1A2B3C4D)
	body = o.AppendUint16(body, 1)
	body = o.AppendUint16(body, 0)
	body = o.AppendUint64(body, ^uint64(0))
	return ngBlock(o, 0x0A0D0D0A, body)
}

func idb(o order) []byte {
	body := o.AppendUint16(nil, uint16(layers.LinkTypeEthernet))
	body = o.AppendUint16(body, 0)
	body = o.AppendUint32(body, 65535)
	return ngBlock(o, 1, body)
}

func dsb(o order, typ uint32, data []byte) []byte {
	body := o.AppendUint32(nil, typ)
	body = o.AppendUint32(body, uint32(len(data)))
	return ngBlock(o, 0x0A, append(body, data...))
}

func epb(o order, data []byte) []byte {
	body := o.AppendUint32(nil, 0)
	body = o.AppendUint32(body, 0)
	body = o.AppendUint32(body, 1000)
	body = o.AppendUint32(body, uint32(len(data)))
	body = o.AppendUint32(body, uint32(len(data)))
	return ngBlock(o, 6, append(body, data...))
}

// readAllSecrets reads every frame of a capture and returns the secrets
// in the order the reader met them, and the frames.
func readAllSecrets(t *testing.T, r io.Reader) ([]capture.Secret, int) {
	t.Helper()
	f, err := capture.NewReader("test.pcapng", r)
	if err != nil {
		t.Fatal(err)
	}
	secrets := f.Secrets()
	n := 0
	for {
		_, _, err := f.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("frame %d: %v", n+1, err)
		}
		n++
		secrets = append(secrets, f.Secrets()...)
	}
	return append(secrets, f.Secrets()...), n
}

// TestSecrets reads the Decryption Secrets Blocks of pcapng files: before
// the first interface, between packets (where pcapgo skips them), in both
// byte orders, gzip-compressed, read one byte at a time.
func TestSecrets(t *testing.T) {
	keys1 := []byte("CLIENT_RANDOM 0011 2233\n")
	keys2 := []byte("SERVER_HANDSHAKE_TRAFFIC_SECRET aa bb\n")
	frame := bytes.Repeat([]byte{0x42}, 61)
	for _, o := range []order{binary.LittleEndian, binary.BigEndian} {
		var file []byte
		file = append(file, shb(o)...)
		file = append(file, dsb(o, capture.SecretsTLSKeyLog, keys1)...)
		file = append(file, idb(o)...)
		file = append(file, epb(o, frame)...)
		file = append(file, dsb(o, 0x5353484b, []byte("ssh"))...) // an SSH key log, kept with its type
		file = append(file, dsb(o, capture.SecretsTLSKeyLog, keys2)...)
		file = append(file, epb(o, frame)...)
		want := []capture.Secret{{Type: capture.SecretsTLSKeyLog, Data: keys1}, {Type: 0x5353484b, Data: []byte("ssh")}, {Type: capture.SecretsTLSKeyLog, Data: keys2}}
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(file)
		zw.Close()
		for name, r := range map[string]io.Reader{
			"whole":    bytes.NewReader(file),
			"one byte": iotest.OneByteReader(bytes.NewReader(file)),
			"gzip":     bytes.NewReader(gz.Bytes()),
		} {
			got, n := readAllSecrets(t, r)
			if n != 2 || !reflect.DeepEqual(got, want) {
				t.Errorf("%v %s: %d frames, secrets %+v, want 2 and %+v", o, name, n, got, want)
			}
		}
	}
}

// TestSecretsGenerated reads the secrets block pcaptest writes after the
// interface blocks, as editcap --inject-secrets does, from a real capture.
func TestSecretsGenerated(t *testing.T) {
	conv, err := pcaptest.Record(pcaptest.TLSOptions{MaxVersion: 0x0304, KeyLog: true})
	if err != nil {
		t.Fatal(err)
	}
	pkts, err := pcaptest.Frame(conv, pcaptest.FrameOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := pcaptest.WritePcapngSecrets(&buf, []pcaptest.Interface{{Name: "eth0", LinkType: layers.LinkTypeEthernet, Packets: pkts}}, conv.KeyLog); err != nil {
		t.Fatal(err)
	}
	got, n := readAllSecrets(t, &buf)
	if n != len(pkts) || len(got) != 1 || got[0].Type != capture.SecretsTLSKeyLog || !bytes.Equal(got[0].Data, conv.KeyLog) {
		t.Errorf("%d frames of %d, secrets %+v, want the key log %q", n, len(pkts), got, conv.KeyLog)
	}
	if !bytes.Contains(conv.KeyLog, []byte("SERVER_HANDSHAKE_TRAFFIC_SECRET ")) {
		t.Errorf("key log %q lacks the server handshake secret", conv.KeyLog)
	}
}

// TestSecretsMalformed: a secrets length beyond its block, a block length
// that is not a multiple of 4 and a truncated block are skipped, and the
// pcapng reader reports what it reports without the scanner.
func TestSecretsMalformed(t *testing.T) {
	var o order = binary.LittleEndian
	frame := bytes.Repeat([]byte{0x42}, 20)
	bad := dsb(o, capture.SecretsTLSKeyLog, []byte("abcd"))
	binary.LittleEndian.PutUint32(bad[12:], 1000) // secrets length past the block
	file := append(append(append(shb(o), idb(o)...), bad...), epb(o, frame)...)
	got, n := readAllSecrets(t, bytes.NewReader(file))
	if n != 1 || len(got) != 0 {
		t.Errorf("%d frames, secrets %+v, want 1 frame and none", n, got)
	}
	// A pcap file has no secrets.
	var pcap bytes.Buffer
	if err := pcaptest.WritePcap(&pcap, layers.LinkTypeEthernet, []pcaptest.Packet{{Data: frame, CI: gopacket.CaptureInfo{CaptureLength: len(frame), Length: len(frame)}}}); err != nil {
		t.Fatal(err)
	}
	f, err := capture.NewReader("x.pcap", &pcap)
	if err != nil {
		t.Fatal(err)
	}
	if s := f.Secrets(); s != nil {
		t.Errorf("pcap secrets %+v", s)
	}
}
