// A private apt for tests: APT_CONFIG pointing at a dpkg status file with
// tendhost-fixture 1.0 installed and a flat file: repository offering 1.1
// (test/fixtures/build/deb). The real apt-get then sees exactly one upgrade,
// whatever this machine has installed or pending; its own lists, cache and
// status are never touched. Simulation only: nothing gets installed.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const DEB = 'tendhost-fixture_1.1_all.deb';
const DEB_DIR = new URL('../fixtures/build/deb/', import.meta.url);

export interface PrivateApt {
  /** Environment for the daemon (or any apt-get): APT_CONFIG. */
  env: Record<string, string>;
  /** The one package the simulation upgrades, from → to. */
  upgrade: { name: string; from: string; to: string };
  dir: string;
}

export function privateApt(): PrivateApt {
  const dir = mkdtempSync(join(tmpdir(), 'tendhost-apt-'));
  for (const d of ['repo', 'state/lists/partial', 'cache/archives/partial', 'parts', 'log']) mkdirSync(join(dir, d), { recursive: true });
  const deb = join(dir, 'repo', DEB);
  copyFileSync(new URL(DEB, DEB_DIR), deb);
  // The flat repository's index, as dpkg-scanpackages would write it.
  const control = execFileSync('dpkg-deb', ['-f', deb], { encoding: 'utf8' });
  const sha256 = createHash('sha256').update(readFileSync(deb)).digest('hex');
  const index = `${control.trimEnd()}\nFilename: ./${DEB}\nSize: ${statSync(deb).size}\nSHA256: ${sha256}\n\n`;
  writeFileSync(join(dir, 'repo', 'Packages.gz'), gzipSync(index));
  writeFileSync(
    join(dir, 'status'),
    'Package: tendhost-fixture\nStatus: install ok installed\nPriority: optional\nSection: misc\n' +
      'Maintainer: tendhost fixtures <fixtures@example.invalid>\nArchitecture: all\nVersion: 1.0\nDescription: dummy package\n\n',
  );
  writeFileSync(join(dir, 'sources.list'), `deb [trusted=yes] file:${join(dir, 'repo')} ./\n`);
  writeFileSync(
    join(dir, 'apt.conf'),
    [
      `Dir::State "${join(dir, 'state')}";`,
      `Dir::State::status "${join(dir, 'status')}";`,
      `Dir::Cache "${join(dir, 'cache')}";`,
      `Dir::Log "${join(dir, 'log')}";`,
      `Dir::Etc::SourceList "${join(dir, 'sources.list')}";`,
      `Dir::Etc::SourceParts "${join(dir, 'parts')}";`,
      `Dir::Etc::Preferences "${join(dir, 'parts', 'none')}";`,
      `Dir::Etc::PreferencesParts "${join(dir, 'parts')}";`,
      // The repository is a root-owned temp folder: no drop to the _apt user.
      'APT::Sandbox::User "root";',
      // Only Packages.gz exists: asking for other compressions first prints "Err:" lines.
      'Acquire::CompressionTypes::Order { "gz"; };',
      '',
    ].join('\n'),
  );
  const env = { APT_CONFIG: join(dir, 'apt.conf') };
  // Like a machine whose lists are current: the daemon's query only simulates.
  execFileSync('apt-get', ['-qq', 'update'], { env: { ...process.env, ...env, LANG: 'C' }, stdio: ['ignore', 'ignore', 'inherit'] });
  return { env, upgrade: { name: 'tendhost-fixture', from: '1.0', to: '1.1' }, dir };
}
