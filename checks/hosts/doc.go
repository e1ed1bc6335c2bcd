// Package hosts finds /etc/hosts entries that cut a machine off from its
// security agent and updates.
package hosts

const doc = `/etc/hosts entries that send security agents' and update hosts elsewhere, and mining pools nowhere

An intruder who wants to stay can cut the machine off from what would find
or remove it by pointing the hosts of the cloud's security agent (Alibaba
Cloud's aegis, AWS Systems Manager, ClamAV's databases, …) or the
distribution's package mirrors at 127.0.0.1 or at an address of its own.
Miner kits also point rival miners' pools at 0.0.0.0 to keep the CPU for
themselves.

An entry is reported when:

  - it names a security agent's host, whatever the address;
  - it names the distribution's package or security update host and sends
    it nowhere (loopback, 0.0.0.0) or to a public address (an address of a
    private network is taken to be the organisation's own mirror);
  - (info) it sends known mining pools nowhere: harmless, but a sign that a
    miner was here.

The fix comments the entry out ("# disabled by rescue: hosts redirect: …"),
so the names resolve through DNS again.

Before (/etc/hosts):

  127.0.0.1 update.aegis.aliyun.com
  0.0.0.0 pool.minexmr.com xmr.crypto-pool.fr

After:

  # disabled by rescue: hosts redirect: 127.0.0.1 update.aegis.aliyun.com
  0.0.0.0 pool.minexmr.com xmr.crypto-pool.fr   (reported as info)
`
