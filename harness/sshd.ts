// A real OpenSSH sshd on 127.0.0.1 for the SSH executor tests: its own config,
// host key, authorized_keys (one file per user) and log, on a free port. The
// system sshd is never touched.
//
// Needs root (sshd must switch users) and openssh-server; CI installs it.
// ensureTestUsers() creates `tendsudo` (passwordless sudo) and `tendnosudo`
// idempotently, so the tests can be run again and again.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const SSHD = '/usr/sbin/sshd';
export const SUDO_USER = 'tendsudo';
export const NOSUDO_USER = 'tendnosudo';
const SUDOERS_FILE = '/etc/sudoers.d/tendhost-test';

export interface Sshd {
  port: number;
  dir: string;
  hostKeyPath: string;
  /** Raw public host key blob (what known_hosts stores base64-encoded). */
  hostKeyBlob(): Buffer;
  /** Public lines of the host keys added with `extraHostKeys`, in that order. */
  extraHostKeyLines(): string[];
  /** The listener's pid (its reaped per-connection children count in its cutime/cstime). */
  pid(): number;
  /** sshd's log so far (-e: to stderr, LogLevel VERBOSE). */
  log(): string;
  /** Add a public key line to a user's authorized_keys. */
  authorize(user: string, pubKeyLine: string): void;
  /** Stop the listener and remove its files. */
  stop(): Promise<void>;
  /**
   * Stop and start again on the same port, optionally with a fresh host key.
   * `dropSessions` also ends the open sessions (as a reboot would), `downMs`
   * keeps the port closed (connections refused) that long.
   */
  restart(opts?: { newHostKey?: boolean; dropSessions?: boolean; downMs?: number; whileDown?: () => void }): Promise<void>;
}

export function canRunSshd(): string | null {
  if (!fs.existsSync(SSHD)) return `${SSHD} is missing (apt-get install -y openssh-server)`;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'sshd tests need root';
  return null;
}

export type HostKeyType = 'ed25519' | 'rsa' | 'ecdsa';

/** ssh-keygen a key pair; returns the private key path (public key at `.pub`). */
export function keygen(file: string, opts: { passphrase?: string; type?: HostKeyType; bits?: number; comment?: string } = {}): string {
  fs.rmSync(file, { force: true });
  fs.rmSync(`${file}.pub`, { force: true });
  const bits = opts.bits ? ['-b', String(opts.bits)] : [];
  execFileSync('ssh-keygen', ['-q', '-t', opts.type ?? 'ed25519', ...bits, '-N', opts.passphrase ?? '', '-C', opts.comment ?? 'tendhost-test', '-f', file], {
    stdio: 'ignore',
  });
  fs.chmodSync(file, 0o600);
  return file;
}

export function publicKeyLine(privateKeyPath: string): string {
  return fs.readFileSync(`${privateKeyPath}.pub`, 'utf8').trim();
}

/** Create the two test users if missing; give one passwordless sudo. Idempotent. */
export function ensureTestUsers(): { sudo: boolean } {
  for (const user of [SUDO_USER, NOSUDO_USER]) {
    try {
      execFileSync('id', ['-u', user], { stdio: 'ignore' });
    } catch {
      execFileSync('useradd', ['-m', '-s', '/bin/sh', user], { stdio: 'ignore' });
    }
    // useradd leaves the password "!" (locked), and without PAM sshd refuses
    // locked accounts even for key logins; "*" means "no password" instead.
    execFileSync('usermod', ['-p', '*', user], { stdio: 'ignore' });
  }
  const sudo = fs.existsSync('/usr/bin/sudo');
  if (sudo) {
    const want = `${SUDO_USER} ALL=(ALL) NOPASSWD: ALL\n`;
    let have = '';
    try {
      have = fs.readFileSync(SUDOERS_FILE, 'utf8');
    } catch {
      // not yet
    }
    if (have !== want) {
      fs.mkdirSync(path.dirname(SUDOERS_FILE), { recursive: true });
      fs.writeFileSync(SUDOERS_FILE, want, { mode: 0o440 });
    }
  }
  return { sudo };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts a test sshd. Its host key is ed25519; `extraHostKeys` adds more types (their public lines in `extraHostKeyLines`). */
/** `env`: more variables for the sessions (sshd honours only its first SetEnv line, so they join HOME's). */
export async function startSshd(
  opts: { users?: string[]; extraHostKeys?: HostKeyType[]; extraConfig?: string[]; env?: Record<string, string> } = {},
): Promise<Sshd> {
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation dir
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendhost-sshd-'));
  // Non-root users must reach their authorized_keys and the empty HOME.
  fs.chmodSync(dir, 0o755);
  const home = path.join(dir, 'home');
  const authDir = path.join(dir, 'authorized_keys');
  fs.mkdirSync(home, { mode: 0o755 });
  fs.mkdirSync(authDir, { mode: 0o755 });
  const hostKeyPath = keygen(path.join(dir, 'ssh_host_ed25519_key'), { comment: 'tendhost-test-host' });
  const extraHostKeyPaths = (opts.extraHostKeys ?? []).map((type) =>
    keygen(path.join(dir, `ssh_host_${type}_key`), { type, comment: `tendhost-test-host-${type}` }),
  );
  const port = await freePort();
  const users = ['root', ...(opts.users ?? [])];
  const config = path.join(dir, 'sshd_config');
  fs.writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKeyPath}`,
      ...extraHostKeyPaths.map((p) => `HostKey ${p}`),
      'PidFile none',
      'UsePAM no',
      'StrictModes no',
      `AuthorizedKeysFile ${authDir}/%u`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      `AllowUsers ${users.map((u) => `${u}@127.0.0.0/8`).join(' ')}`,
      'MaxStartups 100:30:200',
      'MaxSessions 50',
      'UseDNS no',
      // Root's .bashrc costs ~0.25 s per exec here; an empty HOME skips it.
      `SetEnv HOME=${home}${Object.entries(opts.env ?? {}).map(([k, v]) => ` ${k}=${v}`).join('')}`,
      'LogLevel VERBOSE',
      ...(opts.extraConfig ?? []),
      '',
    ].join('\n'),
  );

  let child: ChildProcess | null = null;
  let log = '';

  const start = async () => {
    const p = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = p;
    p.stderr!.setEncoding('utf8');
    p.stderr!.on('data', (s: string) => {
      log += s;
    });
    const exited = new Promise<never>((_, reject) =>
      p.once('exit', (code) => reject(new Error(`sshd exited with ${code} during start:\n${log}`))),
    );
    await Promise.race([waitForBanner(port, 10_000), exited]);
    exited.catch(() => {}); // a later exit (stop) is expected
  };
  const stop = async () => {
    const p = child;
    child = null;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    // Only the listener: per-connection sshd processes (their own session)
    // end when their clients disconnect.
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
  };

  await start();
  return {
    port,
    dir,
    hostKeyPath,
    hostKeyBlob: () => Buffer.from(publicKeyLine(hostKeyPath).split(/\s+/)[1]!, 'base64'),
    extraHostKeyLines: () => extraHostKeyPaths.map(publicKeyLine),
    pid: () => child?.pid ?? -1,
    log: () => log,
    authorize(user, line) {
      fs.appendFileSync(path.join(authDir, user), line.trim() + '\n', { mode: 0o644 });
    },
    stop: async () => {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
    async restart(o = {}) {
      // Collected before the stop: once the listener is gone they belong to init.
      const sessions = o.dropSessions ? childrenOf(child?.pid ?? -1) : [];
      await stop();
      for (const pid of sessions) killQuietly(pid);
      if (o.downMs) await new Promise((r) => setTimeout(r, o.downMs));
      o.whileDown?.();
      if (o.newHostKey) keygen(hostKeyPath, { comment: 'tendhost-test-host-2' });
      await start();
    },
  };
}

/** Resolve once something on the port answers with an SSH banner. */
async function waitForBanner(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      const t = setTimeout(() => finish(false), 1_000);
      const finish = (v: boolean) => {
        clearTimeout(t);
        s.destroy();
        resolve(v);
      };
      s.once('data', (d) => finish(d.toString('latin1').startsWith('SSH-')));
      s.once('error', () => finish(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`sshd did not answer on port ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Pids whose parent is `ppid` (the per-connection sshd processes of a listener). */
function childrenOf(ppid: number): number[] {
  if (ppid <= 0) return [];
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Field 4 (after the parenthesised name, which may contain spaces) is the parent pid.
      const ppidField = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppidField === ppid) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
