// Package schema holds the JSON Schema files (draft 2020-12) of rescue's
// JSON documents and checks documents against them. The files are the
// reference for consumers; the tests validate real outputs with them (the
// goldens' reports, the CLI scripts' --json output, the e2e runs).
package schema

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed *.json
var files embed.FS

// base is where the schemas' $id URLs live; the .invalid domain never
// resolves, so nothing is ever fetched.
const base = "https://rescue.invalid/schema/"

// Files maps each document's "schema" value to its schema file.
var Files = map[string]string{
	"rescue.report/v1":  "report.v1.json",
	"rescue.fix/v1":     "fix.v1.json",
	"rescue.verify/v1":  "verify.v1.json",
	"rescue.runbook/v1": "runbook.v1.json",
	// rescue checks --json is a list with no schema field: ValidateAs.
	"rescue.checks/v1": "checks.v1.json",
}

var (
	once     sync.Once
	compiled map[string]*jsonschema.Schema
	loadErr  error
)

func load() {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	ents, err := files.ReadDir(".")
	if err != nil {
		loadErr = err
		return
	}
	for _, e := range ents {
		data, err := files.ReadFile(e.Name())
		if err != nil {
			loadErr = err
			return
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			loadErr = fmt.Errorf("reading %s: %w", e.Name(), err)
			return
		}
		if err := c.AddResource(base+e.Name(), doc); err != nil {
			loadErr = fmt.Errorf("adding %s: %w", e.Name(), err)
			return
		}
	}
	compiled = map[string]*jsonschema.Schema{}
	for name, file := range Files {
		s, err := c.Compile(base + path.Clean(file))
		if err != nil {
			loadErr = fmt.Errorf("compiling %s: %w", file, err)
			return
		}
		compiled[name] = s
	}
}

// Validate checks a JSON document against the schema its "schema" field
// names.
func Validate(data []byte) error {
	var head struct {
		Schema string `json:"schema"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return fmt.Errorf("reading the document: %w", err)
	}
	return ValidateAs(head.Schema, data)
}

// ValidateAs checks a JSON document against the named schema
// ("rescue.report/v1", …).
func ValidateAs(name string, data []byte) error {
	once.Do(load)
	if loadErr != nil {
		return loadErr
	}
	s := compiled[name]
	if s == nil {
		return fmt.Errorf("no schema for %q", name)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("reading the document: %w", err)
	}
	if err := s.Validate(doc); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
