// Package truststore loads the trust stores that TLS clients use to decide
// whether to accept a server's certificate chain, and answers the questions
// the diagnosis asks about them: is this certificate in the store, which
// certificates have this subject or subject key identifier.
//
// [Load] reads PEM bundles, single DER certificates, directories of PEM or DER
// files, Java KeyStores (JKS) and PKCS#12 key and trust stores (as written by
// keytool -storetype PKCS12, OpenSSL or Windows). The format is detected from
// the content, never from the file name. JCEKS key stores and PKCS#7 bundles
// are reported as unsupported. The files of a directory that hold no
// certificate are passed over and listed in [Store.Skipped];
// [Store.Warnings] names them in one line per directory. [Mozilla] returns the Mozilla root program
// certificates built into the binary (golang.org/x/crypto/x509roots).
//
// [WriteJKS], [WritePKCS12] and [WritePEM] write trust stores. They let
// tests build the same files that users hand to tlstriage, and let the tool
// export the certificates it has seen.
//
// Errors returned by [Load] are of type [*Error]; they name the file and can be
// tested with [errors.Is] against [ErrWrongPassword], [ErrNoCertificates],
// [ErrUnsupported], [ErrCorrupt], [io/fs.ErrNotExist] and
// [io/fs.ErrPermission]. When the integrity check of a JKS or PKCS#12 store
// fails, the error tells a wrong password from a damaged file by checking
// the rest of the store: its structure, its certificates' signatures, and
// whether the password decrypts its encrypted parts.
//
// The package never prints, logs or reads the environment.
package truststore
