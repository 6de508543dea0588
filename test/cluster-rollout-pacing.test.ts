// A cluster rollout whose batch is bigger than the members can start at once,
// against a real nats-server (scripted owners, harness/jobs-node.ts, each
// with room for 2 hosts at a time, as a daemon's shards have room for as many
// as they can connect): the coordinator keeps members × 2 dispatches
// unanswered, each owner starts a host only when it has room, the hosts not
// started yet stay pending in the job log (not claimed, not running), and
// every host ends completed, once.
import t from 'tap';
import { skipWithoutNats } from '../harness/nats.js';
import { until } from '../harness/daemon.js';
import { jobsSettings, natsWithJobLog, startJobsNode, type JobsNode } from '../harness/jobs-node.js';

const PARTITIONS = 16;
const ROOM = 2;
const HOSTS = 60;

t.test('a 60-host batch over 3 owners with room for 2 each', { skip: skipWithoutNats() }, async (t) => {
  const { nats, log } = await natsWithJobLog(t);

  let running = 0;
  let most = 0;
  const perNode = new Map<string, { now: number; most: number }>();
  const nodes: JobsNode[] = [];
  for (const id of ['a', 'b', 'c']) {
    const mine = { now: 0, most: 0 };
    perNode.set(id, mine);
    const onRun = () => {
      running++;
      mine.now++;
      most = Math.max(most, running);
      mine.most = Math.max(mine.most, mine.now);
      setTimeout(() => {
        running--;
        mine.now--;
      }, 150);
    };
    nodes.push(await startJobsNode(jobsSettings(nats.url, id, PARTITIONS, 3000), { runMs: 150, room: ROOM, onRun }));
  }
  t.teardown(() => Promise.all(nodes.map((n) => n.stop().catch(() => undefined))));
  await until(() => nodes.flatMap((n) => n.node.status().partitions).length === PARTITIONS && nodes.every((n) => n.node.status().partitions.length >= 5), 20_000);

  const t0 = Date.now();
  const hosts = Array.from({ length: HOSTS }, (_, i) => `web-${String(i).padStart(2, '0')}`);
  const job0 = await nodes[0].jobs.rollouts.begin({ batch_size: HOSTS }, hosts, { request_id: 'req-pace', user: 'ops' });
  // Sampled while it runs: the log never holds more claims than the members have room for.
  let mostClaimed = 0;
  let sawWaiting = false;
  const job = await until(async () => {
    const rec = await log.read(job0.id);
    const claimed = rec?.hosts.filter((h) => h.state === 'running').length ?? 0;
    mostClaimed = Math.max(mostClaimed, claimed);
    if (rec && rec.hosts.some((h) => h.state === 'pending') && claimed > 0) sawWaiting = true;
    return rec?.finished_at ? rec : null;
  }, 60_000, 50);

  t.comment(`${HOSTS} hosts in ${Date.now() - t0} ms (${HOSTS / (3 * ROOM)} rounds of 150 ms at best)`);
  t.equal(job.hosts.filter((h) => h.state === 'completed').length, HOSTS, 'every host completed');
  const runs = nodes.flatMap((n) => n.runs);
  t.equal(new Set(runs).size, HOSTS, 'each host ran once');
  for (const [id, n] of perNode) t.ok(n.most <= ROOM, `node ${id}: at most ${n.most} at once (room ${ROOM})`);
  t.ok(most <= 3 * ROOM, `at most ${most} hosts running over the cluster at once`);
  t.ok(mostClaimed <= 3 * ROOM * 2, `at most ${mostClaimed} hosts claimed in the log at once (the batch is ${HOSTS})`);
  t.ok(sawWaiting, 'hosts of the batch waited pending while others ran');
});

t.test('a node joins while hosts wait for room on their owners: the moved ones run on the new owner, once, none skipped', { skip: skipWithoutNats() }, async (t) => {
  const { nats, log } = await natsWithJobLog(t);
  // Room for 1 at a time, 20 dispatches per owner: most of the batch waits on its owner.
  const opts = { runMs: 300, room: 1, window: 20 };
  const nodes: JobsNode[] = [];
  for (const id of ['a', 'b', 'c']) nodes.push(await startJobsNode(jobsSettings(nats.url, id, PARTITIONS, 3000), opts));
  t.teardown(() => Promise.all(nodes.map((n) => n.stop().catch(() => undefined))));
  await until(() => nodes.flatMap((n) => n.node.status().partitions).length === PARTITIONS && nodes.every((n) => n.node.status().partitions.length >= 5), 20_000);

  const hosts = Array.from({ length: HOSTS }, (_, i) => `db-${String(i).padStart(2, '0')}`);
  const job0 = await nodes[0].jobs.rollouts.begin({ batch_size: HOSTS }, hosts, { request_id: 'req-join', user: 'ops' });
  await until(async () => ((await log.read(job0.id))?.hosts.filter((h) => h.state === 'completed').length ?? 0) >= 3, 10_000, 50);
  const d = await startJobsNode(jobsSettings(nats.url, 'd', PARTITIONS, 3000), opts);
  nodes.push(d);
  const job = await until(async () => {
    const rec = await log.read(job0.id);
    return rec?.finished_at ? rec : null;
  }, 60_000, 50);

  const moved = nodes.flatMap((n) => n.moved);
  t.ok(d.node.status().partitions.length > 0, `d took ${d.node.status().partitions.length} partitions`);
  t.ok(moved.length > 0, `${moved.length} hosts were given back by their old owner as moved`);
  t.ok(moved.every((h) => d.node.owns(h)), 'every one of them is now in one of d\'s partitions');
  t.same(job.hosts.filter((h) => h.state !== 'completed').map((h) => `${h.host} ${h.state} ${h.code} ${h.reason}`), [], 'every host completed');
  const runs = nodes.flatMap((n) => n.runs);
  t.equal(runs.length, HOSTS, 'each host ran once');
  t.equal(new Set(runs).size, HOSTS);
  t.same(nodes.flatMap((n) => n.foreign), [], 'no host ran on a node that did not own it');
  t.ok(d.runs.length >= moved.length, `d ran ${d.runs.length}`);
});
