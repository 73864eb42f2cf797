/** Quiz for lesson 08: the network namespace. */
import { defineQuiz } from '../../lib/quiz.ts';

export default defineQuiz({
  lesson: '08',
  title: 'Network namespace',
  questions: [
    {
      prompt: 'What does a new network namespace start with?',
      choices: [
        'A copy of the host interfaces',
        'Only a loopback interface, and it is down',
        'An interface connected to the internet',
      ],
      answer: 1,
      why: 'A fresh network namespace has its own, empty network stack: just lo, down. Everything else has to be plugged in.',
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
      why: 'One end stays on the host (attached to the bridge scr0), the other is moved into the container namespace and becomes its eth0.',
    },
    {
      prompt: 'How does a packet from the container reach the outside world?',
      choices: [
        'Directly through the host NIC, with the container address',
        'Through the veth to the bridge, routed by the host, with its source address rewritten by a MASQUERADE (NAT) rule',
        'It cannot',
      ],
      answer: 1,
      why: 'The container default route points at the bridge address; the host forwards the packet (ip_forward=1) and iptables MASQUERADE rewrites the private source address to the host one.',
    },
    {
      prompt: 'What is `docker run -p 8080:80`, in this lesson?',
      choices: ['A route', 'A second veth', 'A DNAT rule sending host port 8080 to port 80 of the container address'],
      answer: 2,
      why: 'Publishing a port is destination NAT on the host: connections to port 8080 are rewritten to go to the container IP and port 80.',
    },
  ],
});
