import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseManifests, ManifestError } from '../../../src/k8s/manifest.js';

const MANIFESTS = '/work/shared/manifests';
const shared = (f: string): string => fs.readFileSync(`${MANIFESTS}/${f}`, 'utf8');
const hasShared = fs.existsSync(MANIFESTS);

function errorOf(text: string, file = 'x.yaml'): string {
  try {
    parseManifests(text, file);
  } catch (e) {
    expect(e).toBeInstanceOf(ManifestError);
    expect((e as ManifestError).code).toBe('ECONFIG');
    return (e as Error).message;
  }
  throw new Error('expected a ManifestError');
}

describe.skipIf(!hasShared)("the tutorials' manifests", () => {
  it('parses the good ones', () => {
    for (const f of [
      'seed-000-busybox-pod.yaml',
      'seed-000-nginx-deployment.yaml',
      'seed-002-multi-container-pod.yaml',
      'seed-004-multi-container.yaml',
    ]) {
      const objs = parseManifests(shared(f), f);
      expect(objs).toHaveLength(1);
      expect(objs[0].line).toBe(1);
    }
  });

  it('rejects seed-003 naming the file, the lines, the tabs and suggesting v1', () => {
    const msg = errorOf(shared('seed-003-nodeport-service.yaml'), 'seed-003-nodeport-service.yaml');
    expect(msg).toContain('seed-003-nodeport-service.yaml:1: unknown apiVersion "vl" (did you mean "v1"?)');
    expect(msg).toContain('seed-003-nodeport-service.yaml:4: tab characters used for indentation');
    expect(msg.split('\n')).toHaveLength(1);
  });
});

describe('parseManifests', () => {
  it('reads multi-document YAML and List objects in order', () => {
    const text = [
      'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a',
      'apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n  spec:\n    containers: [{name: c, image: busybox}]',
      '',
    ].join('\n---\n');
    const objs = parseManifests(text, 'm.yaml');
    expect(objs.map((o) => `${o.object.kind}/${o.object.metadata.name}@${o.line}`)).toEqual([
      'Namespace/a@1',
      'Pod/p@9',
    ]);
  });

  it('names the line and field of a validation error', () => {
    const text =
      'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels: {app: web}\n' +
      '  template:\n    metadata:\n      labels: {app: other}\n    spec:\n      containers:\n      - name: web\n        image: nginx\n';
    expect(errorOf(text, 'd.yaml')).toMatch(
      /^d\.yaml:10: Deployment "web": spec\.template\.metadata\.labels: Invalid value: .*`selector` does not match template `labels`$/,
    );
  });

  it('rejects unknown fields, bad ports, duplicate containers, missing containers and unknown kinds', () => {
    const pod = (spec: string): string => `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n${spec}`;
    expect(errorOf(pod('  containers:\n  - name: c\n    imagee: nginx\n'))).toBe(
      'x.yaml:8: spec.containers[0].imagee: unknown field',
    );
    expect(
      errorOf(pod('  containers:\n  - name: c\n    image: nginx\n    ports:\n    - containerPort: 70000\n')),
    ).toContain(
      'x.yaml:10: Pod "p": spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
    );
    expect(errorOf(pod('  containers:\n  - {name: c, image: a}\n  - {name: c, image: b}\n'))).toContain(
      'spec.containers[1].name: Duplicate value: "c"',
    );
    expect(errorOf(pod('  nodeName: n1\n'))).toContain('spec.containers: Required value');
    expect(errorOf('apiVersion: apps/v1\nkind: Deploymnet\nmetadata: {name: x}\n')).toContain(
      'x.yaml:2: unknown kind "Deploymnet" for apiVersion "apps/v1" (did you mean "Deployment"?',
    );
    expect(
      errorOf('apiVersion: v1\nkind: Pod\nmetadata: {name: Bad_Name}\nspec: {containers: [{name: c, image: x}]}\n'),
    ).toContain('x.yaml:3: Pod "Bad_Name": metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain');
  });

  it('rejects a replica count over the lab cap and a negative one', () => {
    const d = (n: number): string =>
      `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: ${n}\n` +
      '  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec: {containers: [{name: c, image: x}]}\n';
    expect(errorOf(d(5000))).toContain(
      'x.yaml:5: Deployment "d": spec.replicas: Invalid value: 5000: must be less than or equal to 100 (the lab\'s limit)',
    );
    expect(errorOf(d(-1))).toContain('spec.replicas: Invalid value: -1: must be greater than or equal to 0');
  });

  it('reports a wrong type and broken YAML with the line', () => {
    expect(errorOf('apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: two\n')).toBe(
      'x.yaml:5: spec.replicas: expected integer, got string',
    );
    expect(errorOf('apiVersion: v1\nkind: Pod\nmetadata:\n  name: [a\n')).toMatch(/^x\.yaml:\d+: /);
  });
});
