package objects

import (
	"encoding/hex"
	"fmt"

	"github.com/zeebo/blake3"
)

// IDSize is the length of an ID in bytes.
const IDSize = 32

// ShortIDLen is the number of hex digits in the short form of an ID.
const ShortIDLen = 12

// ID is the content address of an object: the BLAKE3-256 digest of its
// canonical encoding. It is a comparable value and can be a map key.
// The zero ID names no object; it stands for "absent" (an empty map, a
// missing parent, a deleted document).
type ID [IDSize]byte

// Hash returns the ID of an encoded object.
func Hash(data []byte) ID {
	return ID(blake3.Sum256(data))
}

// ParseID parses the 64-digit hex form of an ID.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 2*IDSize {
		return id, fmt.Errorf("%w: %q is not a 64-digit hex ID", ErrInvalidID, s)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return ID{}, fmt.Errorf("%w: %q is not a 64-digit hex ID", ErrInvalidID, s)
	}
	return id, nil
}

// MustParseID is ParseID for constants in tests; it panics on bad input.
func MustParseID(s string) ID {
	id, err := ParseID(s)
	if err != nil {
		panic(err)
	}
	return id
}

// String returns the full lower-case hex form.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Short returns the first ShortIDLen hex digits, for display.
func (id ID) Short() string { return id.String()[:ShortIDLen] }

// IsZero reports whether id is the zero ID.
func (id ID) IsZero() bool { return id == ID{} }

// MarshalText implements encoding.TextMarshaler (JSON shows the hex form).
func (id ID) MarshalText() ([]byte, error) {
	return []byte(id.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *ID) UnmarshalText(b []byte) error {
	parsed, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = parsed
	return nil
}

// Compare orders IDs bytewise: -1, 0 or +1.
func (id ID) Compare(other ID) int {
	for i := range id {
		switch {
		case id[i] < other[i]:
			return -1
		case id[i] > other[i]:
			return 1
		}
	}
	return 0
}
