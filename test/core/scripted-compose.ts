// A Docker Compose host for the scripted executor: one stack (/srv/app) with
// one service (web) whose tag moved in its registry. The registry is asked
// with curl on the host, so its answers are scripted here too; `registry`
// picks how it answers and `after` how the container looks after `up -d`.
import { CMD } from '../../workers/pkg/commands.js';
import type { Reply, ScriptedExecutor } from './scripted-executor.js';

export const STACK = '/srv/app';
const REF = 'registry.example/app/web:1';
const CONTAINER = 'c0ffee0c0ffee0c0ffee0c0';

export interface ComposeScript {
  /** How the registry answers the manifest HEAD. */
  registry: 'moved' | 'forbidden' | 'no-tag' | 'unreachable';
  /** The container's status after `up -d`. */
  after: 'running' | 'exited';
}

const HEAD: Record<ComposeScript['registry'], Reply> = {
  moved: { stdout: 'HTTP/1.1 200 OK\r\nDocker-Content-Digest: sha256:new\r\n\r\n' },
  forbidden: { stdout: 'HTTP/1.1 403 Forbidden\r\n\r\n' },
  'no-tag': { stdout: 'HTTP/1.1 404 Not Found\r\n\r\n' },
  unreachable: { exitCode: 6, stderr: 'curl: (6) Could not resolve host: registry.example\n' },
};

export function scriptCompose(exec: ScriptedExecutor, script: ComposeScript): void {
  let pulled = false;
  let up = false;
  const image = () => (pulled ? 'sha256:img-new' : 'sha256:img-old');
  exec.on(CMD.detectTools, { stdout: '/usr/bin/docker\n' });
  exec.on(CMD.composeVersion('v2'), { stdout: '2.26.1\n' });
  exec.on(CMD.dockerConfig, { stdout: '' });
  exec.on(CMD.composeFind(STACK), { stdout: 'compose.yaml\n' });
  exec.on(CMD.composeConfig('v2', STACK), { stdout: `name: app\nservices:\n  web:\n    image: ${REF}\n` });
  exec.on(CMD.composePs('v2', STACK), { stdout: `${CONTAINER}\n` });
  exec.on(CMD.containerStates([CONTAINER]), () => ({
    stdout: `${CONTAINER}\tweb\t${up ? 'sha256:img-new' : 'sha256:img-old'}\t${up ? script.after : 'running'}\t\n`,
  }));
  // One line per reference asked: the tag's local image and its RepoDigests; the running image id too.
  exec.on(/^for r in /, (command) => {
    const digest = pulled ? 'sha256:new' : 'sha256:old';
    const lines = [REF, 'sha256:img-old', 'sha256:img-new']
      .filter((r) => command.includes(r))
      .map((r) => `${r}\t${r === REF ? image() : r}\t["registry.example/app/web@${r === 'sha256:img-old' ? 'sha256:old' : digest}"]`);
    return { stdout: lines.join('\n') + '\n' };
  });
  exec.on(/^curl -sS -I /, HEAD[script.registry]);
  exec.on(CMD.composePull('v2', STACK, ['web']), () => {
    pulled = true;
    return { stderr: ' web Pulled\n' };
  });
  exec.on(CMD.composeUp('v2', STACK, ['web']), () => {
    up = true;
    return { stderr: ' Container app-web-1  Started\n' };
  });
  exec.on(CMD.containerLogs(CONTAINER, 20), { stdout: 'listening on :80\npanic: cannot open /data/db\n' });
}
