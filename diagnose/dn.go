package diagnose

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
)

type pkixName struct{ s string }

func (n *pkixName) parse(der []byte) error {
	var seq pkix.RDNSequence
	rest, err := asn1.Unmarshal(der, &seq)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return errors.New("diagnose: trailing bytes after name")
	}
	var name pkix.Name
	name.FillFromRDNSequence(&seq)
	n.s = name.String()
	return nil
}
