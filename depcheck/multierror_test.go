package depcheck

import (
	"errors"
	"io/fs"
	"os"
	"testing"

	"github.com/hashicorp/go-multierror"
	"github.com/stretchr/testify/require"
)

// What go-multierror gives, errors.Join (Go 1.20) gives too: one error
// that errors.Is and errors.As see through to each of its parts. rescue
// aggregates with errors.Join and needs no module for it.
func TestMultierrorIsErrorsJoin(t *testing.T) {
	perm := &fs.PathError{Op: "open", Path: "/etc/shadow", Err: fs.ErrPermission}
	for name, err := range map[string]error{
		"go-multierror": multierror.Append(nil, os.ErrNotExist, perm),
		"errors.Join":   errors.Join(os.ErrNotExist, perm),
	} {
		require.ErrorIs(t, err, os.ErrNotExist, name)
		require.ErrorIs(t, err, fs.ErrPermission, name)
		var pe *fs.PathError
		require.ErrorAs(t, err, &pe, name)
		require.Equal(t, "/etc/shadow", pe.Path, name)
	}
}
