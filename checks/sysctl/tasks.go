package sysctl

import (
	"fmt"

	"rescue/checks"
)

// A Linux boot to a login prompt holds a few thousand open files and a few
// hundred tasks (systemd, journald, udev workers, getty, sshd): these are
// the floors below which a boot or a login fails, and the ceilings below
// which a busy machine runs short. Each finding shows the kernel's own
// default for the instance's RAM when --memory is given.
const (
	fileMaxError    = 4096
	fileMaxWarning  = 65536
	threadsError    = 512
	threadsWarning  = 4096
	nrOpenWarning   = 1024
	defaultFileMax  = "RAM / 10 KiB"
	defaultThreads  = "RAM / 128 KiB"
	kernelNrOpenDef = 1 << 20
)

// fileMax judges fs.file-max, the number of open files the whole system
// may have. Past it, open fails with ENFILE ("Too many open files in
// system") for every process without CAP_SYS_ADMIN: sshd's unprivileged
// child, user sessions, most services.
func (c *checker) fileMax() {
	c.judge("fs.file-max", func(val string) verdict {
		n, ok := parseInt(val)
		if !ok || n <= 0 || n >= fileMaxWarning {
			return verdict{}
		}
		v := verdict{
			bad: true, severity: checks.Warning, why: "too few open files for the whole system",
			message: fmt.Sprintf("fs.file-max = %d allows only %d open files in the whole system%s", n, n, c.kernelDefault(defaultFileMax, c.mem/(10*kib))),
			impact:  "once that many files are open, open() fails with \"Too many open files in system\" for every process but root's: services and logins fail under load",
		}
		if n < fileMaxError {
			v.severity = checks.Error
			v.impact = fmt.Sprintf("a boot alone opens a few thousand files (more than %d): sshd's unprivileged process and user sessions fail with \"Too many open files in system\", so nobody but root on the console can log in", n)
		}
		return v
	})
}

// threadsMax judges kernel.threads-max: fork and clone fail for everyone,
// root included, once that many tasks exist.
func (c *checker) threadsMax() {
	c.judge("kernel.threads-max", func(val string) verdict {
		n, ok := parseInt(val)
		if !ok || n <= 0 || n >= threadsWarning {
			return verdict{}
		}
		v := verdict{
			bad: true, severity: checks.Warning, why: "too few tasks for the whole system",
			message: fmt.Sprintf("kernel.threads-max = %d allows only %d processes and threads in all%s", n, n, c.kernelDefault(defaultThreads, c.mem/(128*kib))),
			impact:  "fork and thread creation fail with \"Resource temporarily unavailable\" once that many tasks exist: threaded services fail under load",
		}
		if n < threadsError {
			v.severity = checks.Error
			v.impact = "a boot alone runs a few hundred tasks: fork fails (\"Resource temporarily unavailable\") for services, sshd and login"
		}
		return v
	})
}

// nrOpen judges fs.nr_open, the most open files one process may be
// allowed. systemd clamps the services' limits to it (they still start),
// but pam_limits refuses a session whose nofile is above it (the limits
// check judges those lines against this value).
func (c *checker) nrOpen() {
	c.judge("fs.nr_open", func(val string) verdict {
		n, ok := parseInt(val)
		if !ok || n <= 0 || n >= nrOpenWarning {
			return verdict{}
		}
		return verdict{
			bad: true, severity: checks.Warning, why: "too few open files per process",
			message: fmt.Sprintf("fs.nr_open = %d: no process may be allowed more than %d open files (the kernel default is %d)", n, n, kernelNrOpenDef),
			impact:  "every service's open-file limit is cut to that: servers with many connections fail with \"Too many open files\", and a nofile limit above it in limits.conf makes pam_limits refuse the login",
		}
	})
}

// kernelDefault names what the kernel would pick for the instance's RAM.
func (c *checker) kernelDefault(formula string, n int64) string {
	if c.mem == 0 {
		return fmt.Sprintf(" (the kernel's default is %s; give --memory for the figure)", formula)
	}
	return fmt.Sprintf(" (the kernel's default for %s of RAM is %s = %d)", size(c.mem), formula, n)
}
