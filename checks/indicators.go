package checks

import "time"

// Indicators are what an intrusion finding hands on to an incident
// responder: where the entry persists, why it is suspicious, and the files,
// URLs, hosts and keys it involves, with hashes and times. A runbook reads
// them from `rescue scan --json` (the "indicators" field of a finding); the
// text report lists them grouped by place.
type Indicators struct {
	// Place is where the entry persists: "cron", "at", "systemd",
	// "sysv-init", "rc.local", "ld.so.preload", "environment",
	// "shell-startup", "authorized_keys", "accounts", "sudoers", "hosts",
	// "kernel-modules", "udev", "package-files", "world-writable".
	Place string `json:"place"`
	// Marks say what makes the entry suspicious, one per reason.
	Marks []Mark `json:"marks,omitempty"`
	// Files are the files involved: the entry's own file, the programs
	// and libraries it runs, what the fix would quarantine.
	Files []IndicatorFile `json:"files,omitempty"`
	// URLs and Hosts are the addresses the entry names (download URLs,
	// mining pools, redirected host names, IP addresses).
	URLs  []string `json:"urls,omitempty"`
	Hosts []string `json:"hosts,omitempty"`
	// Wallets are cryptocurrency wallet addresses the entry names.
	Wallets []string `json:"wallets,omitempty"`
	// Keys are SSH public key fingerprints (SHA256:…) with their comment.
	Keys []string `json:"keys,omitempty"`
}

// Mark is one reason an entry is suspicious.
type Mark struct {
	// Code is a stable slug: "writable-dir", "hidden-dir",
	// "download-to-shell", "base64-to-shell", "miner", "unowned",
	// "replaced", "immutable", "preload", "reverse-shell", …
	Code string `json:"code"`
	// Why says it in words, naming the evidence.
	Why string `json:"why"`
}

// IndicatorFile is one file an intrusion finding involves, as it is on the
// disk at the scan.
type IndicatorFile struct {
	Path string `json:"path"`
	// Role says what the file is to the entry: "entry" (the file that
	// holds it), "program", "library", "script", "config", "key-file".
	Role string `json:"role"`
	// Missing is set when the entry names a file that is not there.
	Missing bool   `json:"missing,omitempty"`
	Type    string `json:"type,omitempty"` // "file", "symlink", "dir", "other"
	Size    int64  `json:"size,omitempty"`
	SHA256  string `json:"sha256,omitempty"`
	Mode    string `json:"mode,omitempty"` // octal permission bits
	UID     int    `json:"uid"`
	GID     int    `json:"gid"`
	// MTime is the content's modification time; CTime the inode's change
	// time, which touch cannot set back.
	MTime time.Time `json:"mtime,omitzero"`
	CTime time.Time `json:"ctime,omitzero"`
	// Flags are the inode flags that matter: "immutable", "append-only".
	Flags []string `json:"flags,omitempty"`
	// Package is the package that owns the path, and Verified whether
	// its content still matches the package database. Unowned says the
	// package database knows the path as no package's (without a
	// database, neither is set).
	Package  string `json:"package,omitempty"`
	Verified *bool  `json:"verified,omitempty"`
	Unowned  bool   `json:"unowned,omitempty"`
	// Target is a symlink's target.
	Target string `json:"target,omitempty"`
}
