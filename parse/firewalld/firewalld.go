// Package firewalld reads firewalld's zone and service XML files
// (firewalld.zone(5), firewalld.service(5)): what a zone lets in.
package firewalld

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
)

// Port is a <port protocol="tcp" port="22"/> (or a range "2000-2100").
type Port struct {
	Protocol string `xml:"protocol,attr"`
	Port     string `xml:"port,attr"`
}

// Has reports whether the port entry covers TCP port n.
func (p Port) Has(n int) bool {
	if !strings.EqualFold(p.Protocol, "tcp") {
		return false
	}
	lo, hi, isRange := strings.Cut(p.Port, "-")
	a, err := strconv.Atoi(strings.TrimSpace(lo))
	if err != nil {
		return false
	}
	b := a
	if isRange {
		if b, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil {
			return false
		}
	}
	return n >= a && n <= b
}

// Named is an element with a name attribute (<service name="ssh"/>,
// <interface name="eth0"/>).
type Named struct {
	Name string `xml:"name,attr"`
}

// Zone is a zone file.
type Zone struct {
	Target     string  `xml:"target,attr"`
	Services   []Named `xml:"service"`
	Ports      []Port  `xml:"port"`
	Interfaces []Named `xml:"interface"`
	Sources    []struct {
		Address string `xml:"address,attr"`
	} `xml:"source"`
	// Rules counts the rich rules (<rule>): they may accept traffic from
	// some sources, which rescue does not judge.
	Rules []struct {
		Raw string `xml:",innerxml"`
	} `xml:"rule"`
}

// Service is a service file.
type Service struct {
	Ports []Port `xml:"port"`
}

// maxSize bounds what the XML decoder is given.
const maxSize = 1 << 20

// ParseZone reads a zone file.
func ParseZone(data []byte) (*Zone, error) {
	if len(data) > maxSize {
		return nil, fmt.Errorf("zone file is %d bytes, more than firewalld reads", len(data))
	}
	var z Zone
	if err := xml.Unmarshal(data, &z); err != nil {
		return nil, fmt.Errorf("reading zone XML: %w", err)
	}
	return &z, nil
}

// ParseService reads a service file.
func ParseService(data []byte) (*Service, error) {
	if len(data) > maxSize {
		return nil, fmt.Errorf("service file is %d bytes, more than firewalld reads", len(data))
	}
	var s Service
	if err := xml.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("reading service XML: %w", err)
	}
	return &s, nil
}

// HasService reports whether the zone names the service.
func (z *Zone) HasService(name string) bool {
	for _, s := range z.Services {
		if s.Name == name {
			return true
		}
	}
	return false
}

// HasPort reports whether the zone opens TCP port n itself.
func (z *Zone) HasPort(n int) bool {
	for _, p := range z.Ports {
		if p.Has(n) {
			return true
		}
	}
	return false
}

// Accepts reports whether the zone's target lets everything in.
func (z *Zone) Accepts() bool { return strings.EqualFold(z.Target, "ACCEPT") }
