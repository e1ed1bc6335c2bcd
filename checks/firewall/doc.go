// Package firewall checks the firewall rules a machine loads at boot for
// what locks SSH out.
package firewall

const doc = `firewall rules loaded at boot that drop SSH, and sshd on a port other than 22

A firewall configured and saved on a running machine only bites at the
next boot: the rules restored then drop every SSH connection, and only the
console is left. For each TCP port sshd listens on (Port and ListenAddress
in sshd_config, 22 by default), the check judges a new connection from an
unknown address:

  - iptables rules restored at boot: /etc/sysconfig/iptables
    (iptables.service, RHEL family) and /etc/iptables/rules.v4
    (netfilter-persistent, Debian). The filter table's INPUT chain is
    followed rule by rule, into user chains; a rule that only applies to
    some sources or interfaces, or jumps to a chain rescue does not read,
    leaves the answer open, and nothing is reported. Reported when a rule
    certainly drops or rejects the port, or no rule accepts it and the
    policy is DROP. The finding names the rule (line) or the policy. Fix:
    an ACCEPT rule for the port just before that rule (or at the end of
    INPUT).
  - nftables (nftables.service): the file its ExecStart loads with
    "nft -f" (/etc/nftables.conf on Debian, /etc/sysconfig/nftables.conf
    on the RHEL family), includes followed (16 deep, 256 files), defines
    expanded, the block form and the add/insert rule command form read.
    Every base chain on the input hook of an ip or inet table sees the
    connection, so one that certainly drops it decides: a rule that
    certainly drops or rejects the port, or no accepting rule and policy
    drop. Rules limited to sources, interfaces, rates or named sets leave
    the answer open, as do jumps to chains not found and a ruleset nft
    would refuse whole (unbalanced braces, a missing include). The
    finding names the rule (file and line) or the chain's policy. Fix:
    "tcp dport PORT accept" just before the dropping rule (as an "add
    rule" command before an "add rule" one), or at the start of the
    chain whose policy drops; where the chain is written on one line, an
    "insert rule" command at the end of the main file.
  - firewalld (firewalld.service): the default zone (DefaultZone in
    firewalld.conf, public when unset; /etc/firewalld/zones overrides
    /usr/lib/firewalld/zones) must open the port through a service (the
    ssh service's definition is read), a port, or an ACCEPT target. Not
    judged when interfaces or sources are bound to zones or the zone has
    rich rules. Fix: add the ssh service (or the port) to the zone's file
    in /etc/firewalld/zones, made from the shipped one when missing; for
    the drop or block zone as default, alternatively DefaultZone=public.
  - ufw, when ENABLED=yes: the user rules (/etc/ufw/user.rules, what
    "ufw allow" writes) must accept the port, or DEFAULT_INPUT_POLICY must
    be ACCEPT. Fix: the rule "ufw allow PORT/tcp" writes.

Every fix is an ordinary edit, journaled and undone like any other.

sshd listening on a port other than 22 is a warning: the cloud's security
group usually allows only 22. It is a choice, so it is not changed.

Before (/etc/sysconfig/iptables):

  :INPUT DROP [0:0]
  -A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
  COMMIT

After:

  :INPUT DROP [0:0]
  -A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
  -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
  COMMIT
`
