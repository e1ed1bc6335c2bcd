package rpmdb

// The header tags rescue reads (rpm's rpmtag.h).
const (
	TagSigMD5          int32 = 261 // in the main header: the MD5 of header+payload
	TagSigDSA          int32 = 267 // in the signature header: OpenPGP signature of the header
	TagSigRSA          int32 = 268
	TagSHA1Header      int32 = 269
	TagSHA256Header    int32 = 273
	TagName            int32 = 1000
	TagVersion         int32 = 1001
	TagRelease         int32 = 1002
	TagEpoch           int32 = 1003
	TagSize            int32 = 1009
	TagArch            int32 = 1022
	TagOldFilenames    int32 = 1027
	TagFileSizes       int32 = 1028
	TagFileStates      int32 = 1029
	TagFileModes       int32 = 1030
	TagFileRdevs       int32 = 1033
	TagFileMtimes      int32 = 1034
	TagFileDigests     int32 = 1035 // FILEMD5S in old rpm
	TagFileLinkTos     int32 = 1036
	TagFileFlags       int32 = 1037
	TagFileUserName    int32 = 1039
	TagFileGroupName   int32 = 1040
	TagSourceRPM       int32 = 1044
	TagFileVerifyFlags int32 = 1045
	TagFileInodes      int32 = 1096
	TagFileLangs       int32 = 1097
	TagDirIndexes      int32 = 1116
	TagBaseNames       int32 = 1117
	TagDirNames        int32 = 1118
	TagPayloadFormat   int32 = 1124
	TagPayloadCompress int32 = 1125
	TagFileColors      int32 = 1140
	TagFileCaps        int32 = 5010
	TagFileDigestAlgo  int32 = 5011
	TagLongFileSizes   int32 = 5008
	TagPayloadDigest   int32 = 5092
)

// File flags (RPMFILE_*).
const (
	FileConfig    = 1 << 0
	FileDoc       = 1 << 1
	FileIcon      = 1 << 2
	FileMissingOK = 1 << 3
	FileNoReplace = 1 << 4
	FileSpecfile  = 1 << 5
	FileGhost     = 1 << 6
	FileLicense   = 1 << 7
	FileReadme    = 1 << 8
	FilePubkey    = 1 << 11
	FileArtifact  = 1 << 12
)

// File states (RPMFILE_STATE_*), as recorded at install time.
const (
	StateMissing      = -1 // no state recorded (a package file, not installed)
	StateNormal       = 0
	StateReplaced     = 1
	StateNotInstalled = 2
	StateNetShared    = 3
	StateWrongColor   = 4
)

// Verify attribute bits (RPMVERIFY_*): which attributes rpm -V compares,
// per file, and which differ in a result.
const (
	VerifyDigest       = 1 << 0
	VerifySize         = 1 << 1
	VerifyLinkTo       = 1 << 2
	VerifyUser         = 1 << 3
	VerifyGroup        = 1 << 4
	VerifyMtime        = 1 << 5
	VerifyMode         = 1 << 6
	VerifyRdev         = 1 << 7
	VerifyCaps         = 1 << 8
	VerifyAll          = 0xffffffff
	VerifyReadlinkFail = 1 << 28
	VerifyReadFail     = 1 << 29
	VerifyLstatFail    = 1 << 30
)

// Digest algorithms (PGPHASHALGO_*) used in FILEDIGESTALGO.
var digestAlgos = map[int64]string{
	1:  "md5",
	2:  "sha1",
	8:  "sha256",
	9:  "sha384",
	10: "sha512",
	11: "sha224",
}
