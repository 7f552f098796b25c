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
  assert.equal(render({ kind: 'queued', folder: 'app', message: 'queued: 2 publishes ahead', percent: 0 }).text, '$(watch) Queued (2 ahead)');
  assert.equal(
    render({ kind: 'queued', folder: 'app', message: 'waiting for another publish on this machine to finish', percent: 0 }).text,
    '$(watch) Waiting for another publish',
  );
  assert.equal(render({ kind: 'queued', folder: 'app', message: 'queued: 3 publishes ahead on hub.example.com', percent: 10 }).text, '$(watch) Queued (3 ahead)');
  assert.equal(render({ kind: 'queued', folder: 'app', message: 'queued on hub.example.com', percent: 10 }).text, '$(watch) Queued on the hub');
  const published = render({ kind: 'published', name: 'app', url: 'http://127.0.0.1:1/s/app/' });
  assert.equal(published.text, '$(globe) Published');
  assert.equal(published.command, 'openUrl');
  assert.match(published.tooltip, /s\/app/);
  assert.deepEqual(render({ kind: 'failed', message: 'boom' }).command, 'showLog');
  assert.equal(render({ kind: 'failed', message: 'boom' }).text, '$(error) Publish failed');
});

test('progress moves the state: stages, queue, a report without a percentage keeps the last one', () => {
  let s: PublishState = { kind: 'idle' };
  s = nextState('app', { kind: 'begin', title: 'Publish app', message: 'starting', percentage: 0 }, s);
  assert.equal(s.kind, 'publishing');
  s = nextState('app', { kind: 'report', message: 'queued: 1 publishes ahead', percentage: 0 }, s);
  assert.equal(s.kind, 'queued');
  s = nextState('app', { kind: 'report', message: 'build: building… 2 s', percentage: 20 }, s);
  assert.deepEqual(s, { kind: 'publishing', folder: 'app', stage: 'build', message: 'building… 2 s', percent: 20 });
  s = nextState('app', { kind: 'report', message: 'upload: sending 12 KB to host' }, s);
  assert.equal(s.kind === 'publishing' && s.stage, 'upload');
  assert.equal(s.kind === 'publishing' && s.percent, 20);
  // The hub target: uploading, queued there with a position, then its build.
  s = nextState('app', { kind: 'report', message: 'upload: sending 3 files: 1.2 MB of 4.5 MB', percentage: 15 }, s);
  assert.deepEqual(s.kind === 'publishing' && [s.stage, s.percent], ['upload', 15]);
  s = nextState('app', { kind: 'report', message: 'queued: 0 publishes ahead on hub.example.com', percentage: 30 }, s);
  assert.equal(s.kind, 'queued');
  s = nextState('app', { kind: 'report', message: 'build: building on hub.example.com', percentage: 30 }, s);
  assert.equal(s.kind === 'publishing' && s.stage, 'build');
  const end = nextState('app', { kind: 'end', message: 'published http://x' }, s);
  assert.equal(end, s, 'the end is rendered by the result, not the progress');
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
