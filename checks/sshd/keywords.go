package sshd

import (
	"strconv"
	"strings"
)

// The keyword table follows OpenSSH's servconf.c (keywords[], 10.x): where
// a keyword may appear, how sshd handles it, and what its argument is.
// since is the OpenSSH release that added a keyword (major*100+minor), for
// the keywords added after the releases still in the field (OpenSSH 5.3 on
// CentOS 6, 7.4 on CentOS 7); an older sshd stops at them with "Bad
// configuration option". Distribution patches add the GSSAPI key exchange
// and Debian keywords, which are accepted wherever they appear.

type scope int

const (
	global  scope = 1 << iota // allowed in the main section
	inMatch                   // allowed inside a Match block
	all     = global | inMatch
)

type handling int

const (
	normal handling = iota
	deprecated
	unsupported
	ignored
)

type argKind int

const (
	argAny     argKind = iota // one or more arguments, not checked
	argFlag                   // yes or no
	argChoice                 // one of choices
	argTime                   // a time (convtime)
	argInt                    // an integer
	argPort                   // a port number
	argSingle                 // exactly one argument
	argRest                   // the rest of the line
	argMatch                  // Match criteria
	argInclude                // Include globs
)

type keyword struct {
	name     string // as documented
	scope    scope
	handling handling
	arg      argKind
	choices  []string
	since    int
}

var keywords = map[string]keyword{}

func kw(name string, s scope, a argKind, opts ...func(*keyword)) {
	k := keyword{name: name, scope: s, arg: a}
	for _, o := range opts {
		o(&k)
	}
	keywords[strings.ToLower(name)] = k
}

func since(v int) func(*keyword) { return func(k *keyword) { k.since = v } }

func choices(c ...string) func(*keyword) { return func(k *keyword) { k.choices = c } }

func handled(h handling) func(*keyword) { return func(k *keyword) { k.handling = h } }

func init() {
	dep := handled(deprecated)
	uns := handled(unsupported)

	kw("UsePAM", global, argFlag)
	kw("PAMServiceName", all, argSingle)
	kw("PAMAuthenticationViaKbdInt", global, argAny, dep)
	kw("Port", global, argPort)
	kw("HostKey", global, argSingle)
	kw("HostDSAKey", global, argSingle)
	kw("HostKeyAgent", global, argSingle)
	kw("PidFile", global, argSingle)
	kw("ModuliFile", global, argSingle)
	kw("ServerKeyBits", global, argAny, dep)
	kw("LoginGraceTime", global, argTime)
	kw("KeyRegenerationInterval", global, argAny, dep)
	kw("PermitRootLogin", all, argChoice, choices("yes", "no", "without-password", "prohibit-password", "forced-commands-only"))
	kw("SyslogFacility", global, argSingle)
	kw("LogLevel", all, argSingle)
	kw("LogVerbose", all, argAny, since(805))
	kw("RhostsAuthentication", global, argAny, dep)
	kw("RhostsRSAAuthentication", all, argAny, dep)
	kw("HostbasedAuthentication", all, argFlag)
	kw("HostbasedUsesNameFromPacketOnly", all, argFlag)
	kw("HostbasedAcceptedAlgorithms", all, argSingle, since(805))
	kw("HostbasedAcceptedKeyTypes", all, argSingle)
	kw("HostKeyAlgorithms", global, argSingle)
	kw("RSAAuthentication", all, argAny, dep)
	kw("PubkeyAuthentication", all, argFlag)
	kw("PubkeyAcceptedAlgorithms", all, argSingle, since(805))
	kw("PubkeyAcceptedKeyTypes", all, argSingle)
	kw("PubkeyAuthOptions", all, argAny, since(802))
	kw("DSAAuthentication", global, argFlag)
	kw("KerberosAuthentication", all, argFlag)
	kw("KerberosOrLocalPasswd", global, argFlag)
	kw("KerberosTicketCleanup", global, argFlag)
	kw("KerberosGetAFSToken", global, argFlag)
	kw("KerberosTgtPassing", global, argAny, uns)
	kw("AFSTokenPassing", global, argAny, uns)
	kw("GSSAPIAuthentication", all, argFlag)
	kw("GSSAPICleanupCredentials", global, argFlag)
	kw("GSSAPIDelegateCredentials", global, argFlag)
	kw("GSSAPIStrictAcceptorCheck", global, argFlag)
	kw("PasswordAuthentication", all, argFlag)
	kw("KbdInteractiveAuthentication", all, argFlag)
	kw("ChallengeResponseAuthentication", all, argFlag)
	kw("SkeyAuthentication", all, argFlag)
	kw("CheckMail", global, argAny, dep)
	kw("ListenAddress", global, argAny)
	kw("AddressFamily", global, argChoice, choices("inet", "inet6", "any"))
	kw("PrintMotd", global, argFlag)
	kw("PrintLastLog", global, argFlag)
	kw("IgnoreRhosts", all, argChoice, choices("yes", "no", "shosts-only"))
	kw("IgnoreUserKnownHosts", global, argFlag)
	kw("X11Forwarding", all, argFlag)
	kw("X11DisplayOffset", all, argInt)
	kw("X11UseLocalhost", all, argFlag)
	kw("XAuthLocation", global, argSingle)
	kw("StrictModes", global, argFlag)
	kw("PermitEmptyPasswords", all, argFlag)
	kw("PermitUserEnvironment", global, argSingle)
	kw("UseLogin", global, argAny, dep)
	kw("Compression", global, argChoice, choices("yes", "delayed", "no"))
	kw("RekeyLimit", all, argAny)
	kw("TCPKeepAlive", global, argFlag)
	kw("KeepAlive", global, argFlag)
	kw("AllowTcpForwarding", all, argChoice, choices("yes", "all", "no", "remote", "local"))
	kw("AllowAgentForwarding", all, argFlag)
	kw("AllowUsers", all, argAny)
	kw("DenyUsers", all, argAny)
	kw("AllowGroups", all, argAny)
	kw("DenyGroups", all, argAny)
	kw("Ciphers", global, argSingle)
	kw("MACs", global, argSingle)
	kw("Protocol", global, argAny, handled(ignored))
	kw("GatewayPorts", all, argChoice, choices("clientspecified", "yes", "no"))
	kw("Subsystem", all, argAny)
	kw("MaxStartups", global, argSingle)
	kw("PerSourceMaxStartups", global, argSingle, since(805))
	kw("PerSourceNetBlockSize", global, argSingle, since(805))
	kw("PerSourcePenalties", global, argAny, since(908))
	kw("PerSourcePenaltyExemptList", global, argSingle, since(908))
	kw("MaxAuthTries", all, argInt)
	kw("MaxSessions", all, argInt)
	kw("Banner", all, argSingle)
	kw("UseDNS", global, argFlag)
	kw("VerifyReverseMapping", global, argAny, dep)
	kw("ReverseMappingCheck", global, argAny, dep)
	kw("ClientAliveInterval", all, argTime)
	kw("ClientAliveCountMax", all, argInt)
	kw("AuthorizedKeysFile", all, argAny)
	kw("AuthorizedKeysFile2", all, argAny, dep)
	kw("UsePrivilegeSeparation", global, argAny, dep)
	kw("AcceptEnv", all, argAny)
	kw("SetEnv", all, argAny, since(708))
	kw("PermitTunnel", all, argChoice, choices("yes", "no", "point-to-point", "ethernet"))
	kw("PermitTTY", all, argFlag)
	kw("PermitUserRC", all, argFlag)
	kw("Match", all, argMatch)
	kw("PermitOpen", all, argAny)
	kw("PermitListen", all, argAny, since(708))
	kw("ForceCommand", all, argRest)
	kw("ChrootDirectory", all, argSingle)
	kw("HostCertificate", global, argSingle)
	kw("RevokedKeys", all, argAny)
	kw("TrustedUserCAKeys", all, argSingle)
	kw("AuthorizedPrincipalsFile", all, argSingle)
	kw("KexAlgorithms", global, argSingle)
	kw("Include", all, argInclude, since(802))
	kw("IPQoS", all, argAny)
	kw("AuthorizedKeysCommand", all, argRest)
	kw("AuthorizedKeysCommandUser", all, argSingle)
	kw("AuthorizedPrincipalsCommand", all, argRest)
	kw("AuthorizedPrincipalsCommandUser", all, argSingle)
	kw("VersionAddendum", global, argRest)
	kw("AuthenticationMethods", all, argAny)
	kw("StreamLocalBindMask", all, argSingle)
	kw("StreamLocalBindUnlink", all, argFlag)
	kw("AllowStreamLocalForwarding", all, argChoice, choices("yes", "all", "no", "remote", "local"))
	kw("FingerprintHash", global, argSingle)
	kw("DisableForwarding", all, argFlag, since(704))
	kw("ExposeAuthInfo", all, argFlag)
	kw("RDomain", all, argSingle, since(708))
	kw("CASignatureAlgorithms", all, argSingle, since(709))
	kw("SecurityKeyProvider", global, argSingle, since(802))
	kw("RequiredRSASize", all, argInt, since(901))
	kw("ChannelTimeout", all, argAny, since(902))
	kw("UnusedConnectionTimeout", all, argSingle, since(902))
	kw("SshdSessionPath", global, argSingle, since(908))
	kw("SshdAuthPath", global, argSingle, since(1000))
	kw("RefuseConnection", all, argFlag, since(1000))

	// Distribution patches: the GSSAPI key exchange patch (Debian, Ubuntu,
	// RHEL, Fedora), Red Hat's Kerberos and AuthorizedKeysCommandRunAs
	// (RHEL 6), and Debian's banner switch.
	kw("GSSAPIKeyExchange", global, argFlag)
	kw("GSSAPIStoreCredentialsOnRekey", global, argFlag)
	kw("GSSAPIKexAlgorithms", global, argSingle)
	kw("GSSAPIEnablek5users", global, argFlag)
	kw("KerberosUseKuserok", all, argFlag)
	kw("AuthorizedKeysCommandRunAs", all, argSingle)
	kw("DebianBanner", global, argFlag)
}

// matchCriteria are the words a Match line may use.
var matchCriteria = map[string]bool{
	"all": true, "user": true, "group": true, "host": true, "localaddress": true, "localport": true,
	"address": true, "rdomain": true, "invalid-user": true, "version": true, "sessiontype": true,
	"commandline": true,
}

// convtime reads an sshd time value: a number with an optional unit (s, m,
// h, d, w, any case), repeated ("1h30m"). It returns -1 when the value is
// not one.
func convtime(s string) int64 {
	if s == "" {
		return -1
	}
	var total int64
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i > 9 {
			return -1
		}
		var n int64
		for _, c := range s[:i] {
			n = n*10 + int64(c-'0')
		}
		s = s[i:]
		mult := int64(1)
		if s != "" {
			switch s[0] {
			case 's', 'S':
			case 'm', 'M':
				mult = 60
			case 'h', 'H':
				mult = 3600
			case 'd', 'D':
				mult = 86400
			case 'w', 'W':
				mult = 604800
			default:
				return -1
			}
			s = s[1:]
		}
		total += n * mult
		if total > 1<<31 {
			return -1
		}
	}
	return total
}

func version(v int) string {
	return strconv.Itoa(v/100) + "." + strconv.Itoa(v%100)
}
