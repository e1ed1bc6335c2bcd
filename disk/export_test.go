package disk

// Hooks for the external tests: where the device-mapper control node and
// the LVM command are.
var (
	DMControl   = &dmControl
	LVMTool     = &lvmTool
	ReplayMount = &replayMount
)
