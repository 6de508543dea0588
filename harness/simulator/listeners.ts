// One TCP listener per host on its own loopback address (or port). A host that
// is down (refused fault, rebooting, never came back) has no listener, so the
// kernel refuses the connection exactly as a real down host's port would.
// Accepted sockets are handed to the ssh2 Server that holds the right host key,
// after --slow-ms for `slow` hosts.
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { newBootId, type SimHost } from './host.js';
import type { SshServers } from './ssh-server.js';

export interface ListenerOptions {
  slowMs: number;
  rebootDownMs: number;
  changedKeyAfter: number;
  log(msg: string): void;
}

const noop = () => {};

export class HostListeners {
  private readonly servers = new Map<SimHost, NetServer>();
  private readonly sockets = new Map<SimHost, Set<Socket>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly ssh: SshServers,
    private readonly opts: ListenerOptions,
  ) {}

  /** Opens every host's listener, a batch at a time. */
  async startAll(hosts: readonly SimHost[]): Promise<void> {
    const BATCH = 512;
    for (let i = 0; i < hosts.length; i += BATCH) {
      await Promise.all(hosts.slice(i, i + BATCH).map((h) => this.sync(h)));
    }
    // An ephemeral-port host that starts down still needs a real port number
    // for the toml: take one from the kernel and close it again.
    for (const h of hosts) {
      if (h.port === 0) {
        await this.listen(h);
        await this.sync(h);
      }
    }
  }

  /** Makes the listener match the host's state: listening unless refused, rebooting, dead or stopped. */
  async sync(host: SimHost): Promise<void> {
    const want = !this.stopped && !host.faults.has('refused') && !host.rebooting && !host.dead;
    const srv = this.servers.get(host);
    if (want && !srv) await this.listen(host);
    else if (!want && srv) {
      this.servers.delete(host);
      host.up = false;
      srv.close();
    }
  }

  private listen(host: SimHost): Promise<void> {
    const srv = createServer({ noDelay: true }, (socket) => this.accept(host, socket));
    this.servers.set(host, srv);
    return new Promise((resolve, reject) => {
      srv.once('error', (err) => {
        this.servers.delete(host);
        reject(new Error(`${host.name}: cannot listen on ${host.addr}:${host.port}: ${err.message}`));
      });
      srv.listen({ host: host.addr, port: host.port, exclusive: true, backlog: 511 }, () => {
        srv.removeAllListeners('error');
        srv.on('error', (err) => this.opts.log(`${host.name}: listener error: ${err.message}`));
        const addr = srv.address();
        if (addr && typeof addr === 'object') host.port = addr.port;
        host.up = true;
        resolve();
      });
    });
  }

  private accept(host: SimHost, socket: Socket): void {
    socket.on('error', noop);
    host.counters.connections++;
    let set = this.sockets.get(host);
    if (!set) this.sockets.set(host, (set = new Set()));
    set.add(socket);
    socket.once('close', () => set!.delete(socket));
    const changed = host.faults.has('changed-key') && host.counters.connections > this.opts.changedKeyAfter;
    const server = changed ? this.ssh.changed : this.ssh.main;
    this.ssh.hostOf.set(socket, host);
    if (host.faults.has('slow')) {
      this.later(this.opts.slowMs, () => {
        if (!socket.destroyed) server.injectSocket(socket);
      });
    } else {
      server.injectSocket(socket);
    }
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  /** Drops every open connection of the host (a reboot kills sshd and its sessions). */
  dropConnections(host: SimHost): void {
    for (const s of this.sockets.get(host) ?? []) s.destroy();
  }

  /** `systemctl reboot`: connections drop, the port refuses for rebootDownMs, then the host is back. */
  reboot(host: SimHost): void {
    host.counters.reboots++;
    host.rebooting = true;
    void this.sync(host);
    this.dropConnections(host);
    if (host.faults.has('reboot-never')) {
      host.rebooting = false;
      host.dead = true;
      return;
    }
    this.later(this.opts.rebootDownMs, () => this.bootCompleted(host));
  }

  /** The host has booted: new boot id (unless `reboot-same-bootid`), reboot flag cleared, listening again. */
  bootCompleted(host: SimHost): void {
    host.rebooting = false;
    host.dead = false;
    if (!host.faults.has('reboot-same-bootid')) {
      host.bootId = newBootId();
      host.bootedAt = Date.now();
      host.rebootRequired = false;
      host.rebootPkgs = [];
      if (host.nextKernel) {
        host.kernel = host.nextKernel;
        host.nextKernel = null;
      }
    }
    this.sync(host).catch((err: Error) => {
      this.opts.log(err.message);
      // Someone took the port meanwhile: try again shortly.
      if (!this.stopped) this.later(500, () => this.bootCompleted(host));
    });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const closing: Promise<void>[] = [];
    for (const [host, srv] of this.servers) {
      host.up = false;
      closing.push(new Promise((r) => srv.close(() => r())));
    }
    this.servers.clear();
    for (const set of this.sockets.values()) for (const s of set) s.destroy();
    this.sockets.clear();
    await Promise.all(closing);
  }
}
