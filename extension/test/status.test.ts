// The status-bar text for each state, and how progress moves the state.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nextState, PublishState, render } from '../src/statusView';
import { resolveServerPath } from '../src/serverPath';
import { Scratch, serverPath } from './helpers';
import * as path from 'node:path';
import { chmodSync } from 'node:fs';

test('each state renders its text, tooltip and click action', () => {
  assert.deepEqual(render({ kind: 'idle' }), { text: '$(cloud-upload) Publish', tooltip: 'Studyhub: Publish Sandbox', command: 'publish' });
  const publishing = render({ kind: 'publishing', folder: 'app', stage: 'build', message: 'building… 3 s', percent: 20 });
  assert.equal(publishing.text, '$(sync~spin) Publishing: build 20%');
  assert.equal(publishing.command, 'publishingActions');
  assert.equal(render({ kind: 'queued', folder: 'app', message: 'queued: 2 publishes ahead', percent: 0, queue: 'local', ahead: 2 }).text, '$(watch) Queued (2 ahead)');
  assert.equal(
    render({ kind: 'queued', folder: 'app', message: 'waiting for another publish on this machine to finish', percent: 0, queue: 'machine' }).text,
    '$(watch) Waiting for another publish',
  );
  assert.equal(render({ kind: 'queued', folder: 'app', message: 'queued: 3 publishes ahead on hub.example.com', percent: 10, queue: 'hub', ahead: 3 }).text, '$(watch) Queued (3 ahead)');
  assert.equal(render({ kind: 'queued', folder: 'app', message: 'queued on hub.example.com', percent: 10, queue: 'hub' }).text, '$(watch) Queued on the hub');
  const published = render({ kind: 'published', name: 'app', url: 'http://127.0.0.1:1/s/app/' });
  assert.equal(published.text, '$(globe) Published');
  assert.equal(published.command, 'openUrl');
  assert.match(published.tooltip, /s\/app/);
  assert.deepEqual(render({ kind: 'failed', message: 'boom' }).command, 'showLog');
  assert.equal(render({ kind: 'failed', message: 'boom' }).text, '$(error) Publish failed');
});

test('events move the state: stages, queue, an event without a percentage keeps the last one; messages are never read', () => {
  let s: PublishState = { kind: 'publishing', folder: 'app', stage: 'starting', message: 'starting', percent: 0 };
  s = nextState('app', { event: 'stage', stage: 'snapshot', message: 'reading app', percent: 0 }, s);
  assert.equal(s.kind, 'publishing');
  s = nextState('app', { event: 'queued', queue: 'local', message: 'queued: 1 publishes ahead', position: 1, ahead: 1 }, s);
  assert.equal(s.kind, 'queued');
  assert.equal(render(s).text, '$(watch) Queued (1 ahead)');
  s = nextState('app', { event: 'progress', stage: 'build', message: 'building… 2 s', percent: 20 }, s);
  assert.deepEqual(s, { kind: 'publishing', folder: 'app', stage: 'build', message: 'building… 2 s', percent: 20 });
  s = nextState('app', { event: 'stage', stage: 'upload', message: 'sending 12 KB to host' }, s);
  assert.equal(s.kind === 'publishing' && s.stage, 'upload');
  assert.equal(s.kind === 'publishing' && s.percent, 20);
  // The hub target: uploading, queued there with a position, then its build.
  s = nextState('app', { event: 'progress', stage: 'upload', message: 'anything at all', percent: 15, bytes: 1200, totalBytes: 4500 }, s);
  assert.deepEqual(s.kind === 'publishing' && [s.stage, s.percent], ['upload', 15]);
  s = nextState('app', { event: 'queued', queue: 'hub', message: 'reworded freely', position: 1, ahead: 0, percent: 30 }, s);
  assert.equal(s.kind, 'queued');
  assert.equal(render(s).text, '$(watch) Queued (0 ahead)');
  s = nextState('app', { event: 'stage', stage: 'build', message: 'building on hub.example.com', percent: 30 }, s);
  assert.equal(s.kind === 'publishing' && s.stage, 'build');
  assert.equal(nextState('app', { event: 'log', stage: 'build', message: 'vite building' }, s), s, 'log lines go to the build log');
});

test('server path: the setting, else the bundled binary, else PATH; else an actionable error', (t) => {
  const scratch = new Scratch();
  t.after(() => scratch.cleanup());
  const bundled = scratch.write('ext/server/studyhub-sandbox', '#!/bin/sh\n');
  chmodSync(bundled, 0o755);
  const onPath = scratch.write('bin/studyhub-sandbox', '#!/bin/sh\n');
  chmodSync(onPath, 0o755);
  assert.deepEqual(resolveServerPath(serverPath, '/nowhere', ''), { path: serverPath, source: 'setting' });
  assert.deepEqual(resolveServerPath('', path.join(scratch.root, 'ext'), ''), { path: bundled, source: 'bundled' });
  assert.deepEqual(resolveServerPath('', '/nowhere', path.join(scratch.root, 'bin')), { path: onPath, source: 'PATH' });
  const missing = resolveServerPath('', '/nowhere', '/also-nowhere');
  assert.ok(missing instanceof Error);
  assert.match(missing.message, /studyhubSandbox\.serverPath/);
  const wrong = resolveServerPath('/etc/passwd', '/nowhere', '');
  assert.ok(wrong instanceof Error);
  assert.match(wrong.message, /not an executable/);
});
