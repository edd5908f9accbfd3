package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// jsonError adds the line and column to a JSON decoding error, so that a
// hand-edited file can be fixed. The offsets encoding/json reports are
// just past the offending byte (syntax) or value (type).
func jsonError(data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("%s: %w", position(data, syn.Offset-1), err)
	case errors.As(err, &typ):
		return fmt.Errorf("%s: %w", position(data, typ.Offset-1), err)
	}
	return err
}

// position describes byte offset off of data as "line L, column C",
// counting both from 1 and columns in bytes.
func position(data []byte, off int64) string {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := len(before) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("line %d, column %d", line, col)
}
