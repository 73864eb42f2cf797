/**
 * Everything that can go wrong because of the learner or the host, checked before anything is made.
 *
 * A network setup that fails half-way leaves a bridge without rules, a namespace without a cable, a port that
 * answers nobody — and the learner has to understand a failure in step seven caused by something true from
 * the start. So every condition a user can cause or fix is checked first, only by reading, and each one is a
 * single line that says what is wrong and how to fix it: a port out of range or given twice, a subnet that is
 * not one, iptables missing, the subnet overlapping one of the host's routes, a bridge already on another
 * subnet, a host port that a program listens on or that an iptables rule (ours, docker's) already forwards.
 * (A port published at the very same instant by another container is caught a moment later, by its claim:
 * see ipam.ts.)
 */
import type { Runner } from '../runner.ts';
import { containerSubnet, DEFAULT_SUBNET } from './addresses.ts';
import { assertBridgeMatches, bridgeAddressesArgv, readBridge } from './bridge.ts';
import { commentOwner, detectBackend, listRulesArgv, parseRules, type IptablesBackend } from './iptables.ts';
import { onHost } from './host.ts';
import { planNetwork, type NetworkRequest } from './plan.ts';
import {
  assertPublishable,
  dnatOnPort,
  formatSocket,
  portInUse,
  PROC_NET_FILES,
  readSockets,
  socketOnPort,
} from './ports.ts';
import { checkSubnetAgainstRoutes, routesArgv } from './routes.ts';

/**
 * The commands the checks run once the iptables backend is known (detectArgvs in iptables.ts runs before them,
 * unless the request brings its backend): the routes, the bridge, and for published ports the host's sockets
 * and its DNAT rules. Every one of them only reads.
 */
export function checkArgvs(req: NetworkRequest, iptables: IptablesBackend): string[][] {
  const plan = planNetwork(req, { iptables });
  const ports = (req.ports ?? []).length > 0;
  return [
    routesArgv(req.hostNetns),
    bridgeAddressesArgv(plan.bridge, req.hostNetns),
    ...(ports ? PROC_NET_FILES.map(([, file]) => onHost(req.hostNetns, ['cat', file])) : []),
    ...(ports ? [onHost(req.hostNetns, listRulesArgv(iptables.binary, 'nat'))] : []),
  ];
}

/** Throws the first problem as a UserError; otherwise returns the iptables backend the host's rules are in. */
export async function checkBeforeConnecting(runner: Runner, req: NetworkRequest): Promise<IptablesBackend> {
  const subnet = containerSubnet(req.subnet ?? DEFAULT_SUBNET);
  const ports = req.ports ?? [];
  assertPublishable(ports);
  const iptables = req.iptables ?? (await detectBackend(runner, req.hostNetns));
  const plan = planNetwork(req, { iptables });
  await checkSubnetAgainstRoutes(runner, subnet, plan.bridge, req.hostNetns);
  assertBridgeMatches(plan.bridge, await readBridge(runner, plan.bridge, req.hostNetns), plan.gatewayCidr);
  if (ports.length === 0) return iptables;
  const sockets = await readSockets(runner, req.hostNetns);
  const nat = await runner.run(onHost(req.hostNetns, listRulesArgv(iptables.binary, 'nat')), { reject: false });
  const dnat = parseRules(nat.stdout, 'nat');
  for (const p of ports) {
    const s = socketOnPort(sockets, p);
    if (s) throw portInUse(p, `in use: a program on the host listens on ${formatSocket(s)}`);
    const rule = dnatOnPort(dnat, p);
    const owner = rule?.comment && commentOwner(rule.comment);
    if (owner) throw portInUse(p, `published by container ${owner}`);
    if (rule) throw portInUse(p, `forwarded by an iptables rule: -A ${rule.words.join(' ')}`);
  }
  return iptables;
}
