package main

import (
	"github.com/rogpeppe/go-internal/testscript"

	"rescue/docs/schema"
)

// cmdSchema validates the last command's stdout against the JSON Schema
// its "schema" field names (docs/schema): `schema stdout`.
func cmdSchema(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || args[0] != "stdout" {
		ts.Fatalf("usage: schema stdout")
	}
	err := schema.Validate([]byte(ts.ReadFile("stdout")))
	if (err == nil) == neg {
		ts.Fatalf("schema: %v", err)
	}
}
