// Package network checks the network configuration a moved or cloned disk
// boots with, for what leaves the machine unreachable over the network.
package network

const doc = `network configuration that leaves the machine unreachable after a move

A system disk attached to another instance, restored from a snapshot or
cloned into an image keeps the network configuration of the machine it
came from. rescue cannot see the NICs of the machine the disk will boot
on, so it reasons from the files themselves, and from the NICs the last
boot's kernel log named when the disk's logs or a --console capture hold
them, and says how sure it is:

  - /etc/sysconfig/network GATEWAYDEV naming a device that is not the one
    with the default route (the seed's case): the network scripts and
    NetworkManager add the default route only through GATEWAYDEV, so the
    device that really has the gateway (DHCP or GATEWAY= in its ifcfg
    file) gets none and the machine is unreachable from other networks.
    Fix: comment out GATEWAYDEV.
  - GATEWAY in /etc/sysconfig/network with GATEWAYDEV naming a device whose
    static network (IPADDR with PREFIX or NETMASK, IPADDRn) does not hold
    the gateway, while another device's does (the seed's own layout): the
    scripts run "ip route add default via GATEWAY dev GATEWAYDEV", which
    the kernel refuses ("Nexthop has invalid gateway"). Fix: name the
    device the gateway is on (or comment out GATEWAYDEV). The same for
    GATEWAY= in an ifcfg file that is not on that device's network: fix,
    move the line to the device the gateway is on. Reported only when
    another device's network holds the gateway: a /32 address with an
    on-link gateway is a valid design.
  - The same for a "gateway" line of an /etc/network/interfaces stanza,
    but a warning: ifupdown adds the route with onlink ("ip route add
    default via GATEWAY dev IFACE onlink"), which the kernel accepts, so
    the default route leads out of the wrong interface to a gateway that
    does not answer there (unless both interfaces share a link). Measured
    on Debian 12: networking.service succeeds and logins from the
    interface's own network work. Fix: move the line to the stanza of the
    interface whose network holds the gateway.
  - The same for netplan (gateway4, or a route "to: default" with "via",
    not on-link) against the device's static addresses: systemd-networkd,
    netplan's default renderer, asks for a route the kernel refuses, so
    there is no default route (an error; a warning under renderer
    NetworkManager). Fix: comment the gateway out and give it to the
    device whose network holds it (gateway4, or a routes list), unless
    that device has a default gateway of its own.
  - NetworkManager keyfiles (/etc/NetworkManager/system-connections/
    *.nmconnection, NetworkManager enabled, method=manual, bound to an
    interface-name): gateway= or the ",GATEWAY" of addressN= outside
    every addressN network while another connection's network holds it.
    NetworkManager does not refuse such a gateway: it adds an on-link
    route to it through the wrong device, where it does not answer unless
    both NICs share a link, so this is a warning. Fix: move the gateway
    to the other keyfile (or only drop it when that one has its own).
  - ifcfg-* files (and /etc/network/interfaces stanzas, netplan ethernets)
    for interface names that will not exist: with net.ifnames=0 on the
    kernel command line (as cloud images set) or on CentOS 6 the NICs are
    eth0, eth1..., so a configuration only for ens3 or enp0s3 brings no
    interface up. Certain when the command line says so, or when the last
    boot named NICs and none of them is configured; reported, not fixed
    (the right name is the new machine's).
  - HWADDR in an ifcfg file (and netplan's match: macaddress): the file
    only applies to the NIC with that MAC, so on another instance it is
    skipped ("Device eth0 has different MAC address than expected,
    ignoring"). This cannot be checked offline: reported as information,
    and not at all where cloud-init rewrites the configuration for a new
    instance.
  - /etc/udev/rules.d/70-persistent-net.rules naming interfaces after MAC
    addresses: a new NIC matches none of them and gets the next free name
    (eth1), which has no configuration. An error when the newest rule
    already names a device that has no configuration. Fix: comment out the
    MAC-pinned rules.
  - ifup or ifup-eth missing or empty while the network service (network
    scripts, or ifupdown's networking.service on Debian) brings the
    interfaces up: the service fails and no interface comes up. Fix:
    restore from the package when it is at hand.

Before (/etc/sysconfig/network; only ifcfg-eth0 exists, with BOOTPROTO=dhcp):

  NETWORKING=yes
  GATEWAYDEV=eth1

After:

  NETWORKING=yes
  # disabled by rescue: not the device with the default route: GATEWAYDEV=eth1
`
