import { test } from 'vitest';
import fs from 'node:fs';
import { parseTopology } from '../../../src/lab/topology.js';
import { clusterFileText } from '../../../src/lab/cluster-file.js';
test('x', () => {
  for (const f of fs.readdirSync('/work/main/examples')) {
    const t = parseTopology(fs.readFileSync('/work/main/examples/'+f,'utf8'), f);
    console.log(f, JSON.stringify(t.pods.map(p=>[p.name,p.node,p.ip,p.hostVeth])), t.nodes.map(n=>n.subnet+' '+n.publicIp+' '+n.underlayPort).join(','));
    if (f==='two-nodes.yaml') console.log(clusterFileText(t));
  }
});
