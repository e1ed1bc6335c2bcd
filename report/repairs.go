package report

import (
	"io"

	"rescue/repair"
)

// The documents of `rescue undo --json` and `rescue history --json`.
const (
	UndoSchema    = "rescue.undo/v1"
	HistorySchema = "rescue.history/v1"
)

// UndoReport is what `rescue undo --json` prints: the repair undone and
// what became of each path.
type UndoReport struct {
	Schema string `json:"schema"`
	*repair.UndoResult
}

// WriteUndo writes the outcome of an undo as a rescue.undo/v1 document.
func WriteUndo(w io.Writer, res *repair.UndoResult) error {
	if res == nil {
		res = &repair.UndoResult{}
	}
	if res.Paths == nil {
		res.Paths = []repair.PathOutcome{}
	}
	return writeJSON(w, UndoReport{Schema: UndoSchema, UndoResult: res})
}

// HistoryReport is what `rescue history --json` prints: the journals of
// the repairs applied to the target, newest first (each its own
// rescue.journal/v1 document).
type HistoryReport struct {
	Schema  string            `json:"schema"`
	Repairs []*repair.Journal `json:"repairs"`
}

// WriteHistory writes the journals as a rescue.history/v1 document.
func WriteHistory(w io.Writer, js []*repair.Journal) error {
	if js == nil {
		js = []*repair.Journal{}
	}
	return writeJSON(w, HistoryReport{Schema: HistorySchema, Repairs: js})
}
