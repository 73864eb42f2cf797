/** Quiz for lesson 08: the network namespace. */
import { defineQuiz } from '../../lib/quiz.ts';

export default defineQuiz({
  lesson: '08',
  title: 'Network namespace',
  questions: [
    {
      prompt: 'What does a new network namespace start with?',
      choices: [
        'A copy of the host’s interfaces',
        'Only a loopback interface, and it is down',
        'An interface connected to the internet',
      ],
      answer: 1,
      why: 'A fresh network namespace has its own, empty network stack: just lo, down — not even 127.0.0.1 works. Everything else has to be plugged in (step 3: ip -n scr<id> addr).',
    },
    {
      prompt: 'The lesson runs `ip netns add scr<id>` before the container starts. Why?',
      choices: [
        'unshare cannot make a network namespace',
        'So the host can wire the namespace up completely, then the container joins it by its path, as docker and CNI plugins do',
        'So the container shares the host’s network',
      ],
      answer: 1,
      why: 'ip netns add keeps the namespace alive at /run/netns/scr<id> with no process in it. The host adds the veth, address and route, and the launcher joins it with nsenter --net=/run/netns/scr<id> — the path runc is given.',
    },
    {
      prompt: 'What is a veth pair?',
      choices: [
        'Two virtual interfaces joined like the ends of a cable: what goes in one comes out of the other',
        'A bridge',
        'A firewall rule',
        'A DNS server',
      ],
      answer: 0,
      why: 'One end stays on the host and is plugged into the bridge scr0; the other is moved into the container’s namespace, where it is renamed eth0.',
    },
    {
      prompt: 'Inside the container, `ip route` says `default via 10.30.0.1`. What is 10.30.0.1?',
      choices: [
        'The host’s eth0',
        'The bridge scr0: a host interface on the containers’ segment, and so their gateway',
        'The other container',
        'A DNS server',
      ],
      answer: 1,
      why: 'The bridge gets the first address of the subnet (.1); containers get the next ones from the IPAM (.2, .3, …), and send everything off the subnet to the bridge.',
    },
    {
      prompt: 'How does a packet from the container reach the outside world?',
      choices: [
        'Directly through the host’s NIC, with the container’s address',
        'Through the veth to the bridge, forwarded by the host, its source rewritten to the host’s address by MASQUERADE',
        'It cannot',
      ],
      answer: 1,
      why: 'The host forwards between interfaces only with net.ipv4.ip_forward=1, and nobody outside can answer 10.30.0.2: nat POSTROUTING MASQUERADE gives the packet the host’s address, conntrack turns the answers back.',
    },
    {
      prompt: 'What is `docker run -p 8080:80`, in this lesson?',
      choices: ['A route', 'A second veth', 'A DNAT rule sending host port 8080 to port 80 of the container’s address'],
      answer: 2,
      why: 'Publishing a port is destination NAT on the host, in nat PREROUTING: connections to port 8080 of a host address go to 10.30.0.2:80.',
    },
    {
      prompt: 'Why does `127.0.0.1:8080` from the host itself need more than the PREROUTING rule?',
      choices: [
        'It does not: PREROUTING sees every packet',
        'The host’s own connections never pass PREROUTING: the same DNAT goes in OUTPUT, plus route_localnet and a masquerade so the container can answer',
        'Because 127.0.0.1 is IPv6',
      ],
      answer: 1,
      why: 'Locally made packets start in OUTPUT. A packet from 127.0.0.1 may leave by scr0 only with route_localnet, and gets the bridge’s address as source, since the container cannot answer 127.0.0.1 (its own lo).',
    },
    {
      prompt: 'Docker set the host’s FORWARD policy to DROP. Why do the containers still reach each other?',
      choices: [
        'Container traffic never passes FORWARD',
        'The lesson inserts ACCEPT rules for scr0 at the top of FORWARD; with br_netfilter even frames between two containers pass FORWARD',
        'The lesson sets the policy back to ACCEPT',
      ],
      answer: 1,
      why: 'Explicit ACCEPTs (out, replies, between, published ports) come before the policy. Changing the policy would be changing the host’s firewall; the lesson never does.',
    },
    {
      prompt:
        '`iptables -V` says nf_tables, but the host’s firewall rules are all in iptables-legacy. What does the lesson do?',
      choices: [
        'Adds its rules with plain iptables (nft)',
        'Adds them to both backends',
        'Uses iptables-legacy for every rule, so all rules stay in one place',
      ],
      answer: 2,
      why: 'The two backends keep separate rule sets that both apply and that no single listing shows. The lesson looks where the host’s rules are (the -save listings) and uses that backend, and only that one.',
    },
  ],
});
