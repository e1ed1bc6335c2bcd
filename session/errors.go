package session

import (
	"errors"
	"fmt"
)

// UsageError is a mistake on the command line: a bad flag, a flag that
// does not fit the target. The command exits 16 for it.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef makes a UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{fmt.Errorf(format, args...)}
}

// hintError carries what the operator can do about an error; the command
// prints it after the error ("rescue: hint: …").
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Hint() string  { return e.hint }
func (e *hintError) Unwrap() error { return e.err }

// WithHint attaches a hint to err (nil stays nil).
func WithHint(err error, hint string) error {
	if err == nil {
		return nil
	}
	return &hintError{err: err, hint: hint}
}

// ErrUnmount marks the error of unmounting a disk target when it is
// closed: the command's own result is out by then, and the exit code must
// still say that something went wrong (an ESP change not written back).
var ErrUnmount = errors.New("unmounting the target")
