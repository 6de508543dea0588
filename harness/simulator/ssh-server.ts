// The SSH side: two ssh2 Servers that never listen themselves (listeners.ts
// accepts TCP per host and injects each socket), one with the fleet host key
// and one with the "changed" key. Public-key auth against one client key;
// exec requests run through the host's shell and persona.
import type { Socket } from 'node:net';
import { loadSsh2 } from '../../workers/exec/ssh2-module.js';

import type { AuthContext, Connection, ServerChannel } from 'ssh2';
import { decodeOnce } from '../../workers/exec/decoded-key.js';
import { loginName } from './fleet.js';
import { recordCommand, type SimHost } from './host.js';
import type { ClientKey } from './keys.js';
import { PERSONA_TABLE } from './personas/index.js';
import { runCommand, splitLockTimeout } from './personas/shell.js';
import type { SimEnv } from './personas/types.js';

// The same ssh2 build the daemon uses on this runtime (TENDHOST_SSH2_PATCH).
const { ssh2 } = loadSsh2();

const { Server, utils } = ssh2;
type Ssh2Server = InstanceType<typeof Server>;

export interface SshServers {
  main: Ssh2Server;
  changed: Ssh2Server;
  /** Which host an accepted socket was for (set before injecting). */
  hostOf: WeakMap<Socket, SimHost>;
}

export interface SshDeps {
  clientKey: ClientKey;
  env: SimEnv;
  onReboot(host: SimHost): void;
  log(msg: string): void;
}

const noop = () => {};

function checkKey(ctx: AuthContext, key: ClientKey): boolean {
  if (ctx.method !== 'publickey') return false;
  if (ctx.key.algo !== key.publicKey.type || !ctx.key.data.equals(key.publicSSH)) return false;
  // Without a signature the client only asks whether this key would do.
  if (!ctx.signature) return true;
  return key.publicKey.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) === true;
}

function finish(stream: ServerChannel, stdout: string, stderr: string, code: number): void {
  if (stdout) stream.write(stdout);
  if (stderr) stream.stderr.write(stderr);
  stream.exit(code);
  stream.end();
}

function onConnection(deps: SshDeps, hostOf: WeakMap<Socket, SimHost>, client: Connection): void {
  const sock = (client as unknown as { _sock: Socket })._sock;
  const host = hostOf.get(sock);
  client.on('error', noop);
  if (!host) {
    client.end();
    return;
  }
  client.on('authentication', (ctx) => {
    if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
    if (ctx.username !== loginName(host.user) || host.faults.has('auth') || !checkKey(ctx, deps.clientKey)) {
      host.counters.authRejected++;
      return ctx.reject(['publickey']);
    }
    ctx.accept();
  });
  client.on('ready', () => {
    host.counters.authOk++;
    client.on('session', (accept) => {
      const session = accept();
      session.on('pty', (ok) => ok?.());
      session.on('env', (ok) => ok?.());
      session.on('shell', (_ok, reject) => reject?.());
      session.on('subsystem', (_ok, reject) => reject?.());
      session.on('exec', (ok, _reject, info) => {
        const stream = ok();
        void exec(deps, host, client, stream, info.command);
      });
    });
  });
}

async function exec(deps: SshDeps, host: SimHost, client: Connection, stream: ServerChannel, command: string): Promise<void> {
  // Counted as the command it is (apt's lock-wait option aside), so counters match CMD.
  recordCommand(host, splitLockTimeout(command).command, command);
  let closed = false;
  stream.once('close', () => (closed = true));
  try {
    const outcome = await runCommand(PERSONA_TABLE[host.persona], host, command, deps.env, {
      write: (s) => {
        if (!closed) stream.write(s);
      },
      closed: () => closed,
    });
    if (closed) return;
    switch (outcome.kind) {
      case 'exit':
        return finish(stream, outcome.stdout, outcome.stderr, outcome.code);
      case 'hang':
        host.counters.hung++;
        return; // never answers; the channel stays open until the client gives up
      case 'reboot':
        deps.onReboot(host);
        return;
      case 'drop':
        host.counters.dropped++;
        // No SSH disconnect message either: the TCP connection just ends.
        (client as unknown as { _sock: Socket })._sock.destroy();
        return;
      default: {
        const never: never = outcome;
        throw new Error(`unknown outcome ${JSON.stringify(never)}`);
      }
    }
  } catch (err) {
    deps.log(`${host.name}: exec "${command}" failed: ${(err as Error).stack ?? err}`);
    if (!closed) finish(stream, '', `simulator: internal error: ${(err as Error).message}\n`, 1);
  }
}

export function createSshServers(deps: SshDeps, fleetKey: string, changedKey: string): SshServers {
  const hostOf = new WeakMap<Socket, SimHost>();
  const make = (key: string) => {
    // Decoded once, as the daemon does with its own keys (workers/exec/decoded-key.ts):
    // the simulator stands in for remote machines, so the less CPU it takes
    // from the cores it shares with the daemon under test, the truer the benchmark.
    const parsed = utils.parseKey(key);
    if (parsed instanceof Error) throw new Error(`simulator host key: ${parsed.message}`);
    const hostKey = Array.isArray(parsed) ? parsed[0]! : parsed;
    decodeOnce(hostKey);
    const srv = new Server({ hostKeys: [{ key: hostKey }], ident: 'OpenSSH_9.2p1 Debian-2+deb12u3' }, (client) =>
      onConnection(deps, hostOf, client),
    );
    srv.on('error', (err: Error) => deps.log(`ssh server error: ${err.message}`));
    return srv;
  };
  return { main: make(fleetKey), changed: make(changedKey), hostOf };
}
