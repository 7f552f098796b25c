// The protocol/ examples validated on this side too (ajv, the same JSON Schemas), what this client
// sends validated against them, and the example progress read by the status-bar logic.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import Ajv, { ValidateFunction } from 'ajv';
import { SandboxClient } from '../src/client';
import { SandboxEventParams } from '../src/generated/event';
import { nextState, PublishState } from '../src/statusView';
import { repoRoot, Scratch } from './helpers';

const protocolDir = path.join(repoRoot, 'protocol');
const ajv = new Ajv({ allErrors: true, strict: false });
const schemaFiles = readdirSync(path.join(protocolDir, 'schemas')).filter((f) => f.endsWith('.json'));
for (const file of schemaFiles) ajv.addSchema(JSON.parse(readFileSync(path.join(protocolDir, 'schemas', file), 'utf8')), file);
const NO_PARAMS = new Set(['initialized', 'exit', 'shutdown']);

function schemaFor(method: string, part: 'params' | 'result'): ValidateFunction | undefined {
  return ajv.getSchema(`${method.replace(/\//g, '_')}.${part}.json`);
}

interface ExampleEntry {
  from: 'client' | 'server';
  message?: Record<string, unknown> & { method?: string; id?: unknown; params?: unknown; result?: unknown; error?: unknown };
  invalid?: boolean;
}
interface Example {
  messages: ExampleEntry[];
  undocumented?: string[];
}

const examples = readdirSync(path.join(protocolDir, 'examples'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ file: f, example: JSON.parse(readFileSync(path.join(protocolDir, 'examples', f), 'utf8')) as Example }));

describe('protocol examples', () => {
  test('there are examples to check', () => assert.ok(examples.length >= 10));

  for (const { file, example } of examples) {
    test(`${file}: every message matches its schema`, () => {
      const methodsById = new Map<string, string>();
      const undocumented = new Set(example.undocumented ?? []);
      let checked = 0;
      example.messages.forEach((entry, i) => {
        const m = entry.message;
        if (!m) return;
        const where = `${file} message ${i}`;
        if (typeof m.method === 'string') {
          if ('id' in m) methodsById.set(JSON.stringify(m.id), m.method);
          if (undocumented.has(m.method) || NO_PARAMS.has(m.method)) return;
          const validate = schemaFor(m.method, 'params');
          assert.ok(validate, `${where}: no schema for ${m.method} params`);
          const ok = validate(m.params ?? {});
          assert.equal(ok, !entry.invalid, `${where}: ${ajv.errorsText(validate.errors)}`);
        } else if ('error' in m) {
          const validate = ajv.getSchema('error.json')!;
          assert.ok(validate(m.error), `${where}: ${ajv.errorsText(validate.errors)}`);
        } else if ('result' in m) {
          const method = methodsById.get(JSON.stringify(m.id));
          assert.ok(method, `${where}: a result for an id no request used`);
          const validate = schemaFor(method, 'result');
          assert.ok(validate, `${where}: no schema for ${method} result`);
          assert.ok(validate(m.result), `${where}: ${ajv.errorsText(validate.errors)}`);
        }
        checked++;
      });
      assert.ok(checked > 0);
    });
  }

  test('the example publish events name stages and queues the status bar knows', () => {
    let events = 0;
    for (const { example } of examples) {
      let state: PublishState = { kind: 'idle' };
      for (const entry of example.messages) {
        if (entry.message?.method !== 'sandbox/event') continue;
        const { event } = entry.message.params as SandboxEventParams;
        state = nextState('hello', event, state);
        events++;
        assert.ok(state.kind === 'publishing' || state.kind === 'queued', JSON.stringify(event));
        if (state.kind === 'publishing') assert.notEqual(state.stage, 'starting', `unknown stage in ${JSON.stringify(event)}`);
      }
    }
    assert.ok(events > 0);
  });
});

describe('what this client sends', () => {
  test('initialize, publish (with the docker-run fields) and list params validate against the schemas', async (t) => {
    const sent: Array<[string, unknown]> = [];
    const scratch = new Scratch();
    const client = await SandboxClient.start(
      scratch.options({ onSend: (method, params) => sent.push([method, params]), initializationOptions: { target: 'local' } }),
    );
    t.after(async () => {
      await client.stop();
      scratch.cleanup();
    });
    await client.publish({ folder: scratch.staticSite('p', 'P'), name: 'p-site', buildTimeoutSeconds: 60, target: 'local' }, () => undefined);
    await assert.rejects(
      client.publish(
        { folder: scratch.staticSite('q', 'Q'), target: 'docker-run', dockerRun: { url: 'http://127.0.0.1:9', token: 'x', image: 'i' } },
        () => undefined,
      ),
      /cannot connect to 127\.0\.0\.1:9/,
    );
    // The hub target: nothing listens there, so it fails after its retries, but what went out is checked.
    await assert.rejects(
      client.publish({ folder: scratch.staticSite('r', 'R'), target: 'hub', hub: { url: 'http://127.0.0.1:9', token: 'shub_x' } }, () => undefined),
      /cannot reach the hub at 127\.0\.0\.1:9/,
    );
    await client.list();
    const withHub = await client.list({ url: 'http://127.0.0.1:9', token: 'shub_x' });
    assert.match(withHub.hub?.error ?? '', /cannot reach the hub/);
    await assert.rejects(client.rollback({ name: 'p-site' }), /no earlier version/); // one version only
    const methods = sent.map(([m]) => m);
    for (const method of ['initialize', 'sandbox/publish', 'sandbox/list', 'sandbox/rollback']) assert.ok(methods.includes(method), method);
    for (const [method, params] of sent) {
      if (NO_PARAMS.has(method)) continue;
      const validate = schemaFor(method, 'params');
      assert.ok(validate, `no schema for ${method}`);
      assert.ok(validate(params), `${method}: ${ajv.errorsText(validate.errors)}`);
    }
  });
});

describe('site lifecycle requests', () => {
  test('rollback and unpublish params validate against the schemas, and answer as documented', async (t) => {
    const sent: Array<[string, unknown]> = [];
    const scratch = new Scratch();
    const client = await SandboxClient.start(scratch.options({ onSend: (method, params) => sent.push([method, params]) }));
    t.after(async () => {
      await client.stop();
      scratch.cleanup();
    });
    const site = scratch.staticSite('life', 'One');
    const first = await client.publish({ folder: site, name: 'life' }, () => undefined);
    scratch.write('life/index.html', '<h1>Two</h1>');
    await client.publish({ folder: site, name: 'life' }, () => undefined);
    const back = await client.rollback({ name: 'life', target: 'local' });
    assert.equal(back.snapshotId, first.snapshotId);
    assert.equal(back.target, 'local');
    assert.match(await (await fetch(back.url)).text(), /One/);
    const gone = await client.unpublish({ name: 'life' });
    assert.deepEqual(gone, { name: 'life', target: 'local', removed: true });
    assert.equal((await fetch(back.url)).status, 404);
    await assert.rejects(client.unpublish({ name: 'life' }), /no published sandbox named life/);
    const methods = sent.map(([m]) => m);
    for (const method of ['sandbox/rollback', 'sandbox/unpublish']) assert.ok(methods.includes(method), method);
    for (const [method, params] of sent) {
      if (NO_PARAMS.has(method)) continue;
      const validate = schemaFor(method, 'params');
      assert.ok(validate, `no schema for ${method}`);
      assert.ok(validate(params), `${method}: ${ajv.errorsText(validate.errors)}`);
    }
  });
});
