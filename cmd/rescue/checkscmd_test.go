package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/checks/all"
	"rescue/docs/schema"
	"rescue/report"
)

// TestChecksJSON: rescue checks --json validates against docs/schema's
// checks.v1.json and lists every check with the finding kinds it declares,
// the contract runbooks and --choose rely on.
func TestChecksJSON(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"checks", "--json"}, nil, &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	require.NoError(t, schema.ValidateAs(report.ChecksSchema, out.Bytes()))
	var got []report.CheckInfo
	require.NoError(t, json.Unmarshal(out.Bytes(), &got))
	require.Len(t, got, len(all.Checks()))
	for i, c := range all.Checks() {
		assert.Equal(t, c.Name, got[i].Name)
		assert.Equal(t, c.Kinds, got[i].Kinds, c.Name)
		assert.NotEmpty(t, got[i].Kinds, c.Name)
	}
}
