package disk

// Hooks for the disk-id tests: resolve in a given by-id directory, and the
// helper's root disks as the kernel reports them.
var (
	ResolveCloudDiskIn = resolveCloudDisk
	HelperRootDisks    = helperRootDisks
)
