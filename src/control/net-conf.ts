// flannel's net-conf.json (`--net-config-path`, default /etc/kube-flannel/net-conf.json in
// kube-flannel.yml): the same JSON as the etcd network config (<prefix>/config), read with
// flannel's defaults and checks (flannel-format.ts parseNetworkConfig). loadNetConf throws
// ConfigError naming the file and the key that is wrong ("net-conf.json: bad flannel network
// config: SubnetLen must be less than /31"), or that the file cannot be read.
import fs from 'node:fs';
import { ConfigError, oneLine } from '../util/errors.js';
import { learningIgnored, parseNetworkConfig, type NetworkConfig } from './flannel-format.js';

export const DEFAULT_NET_CONF_PATH = '/etc/kube-flannel/net-conf.json';

export interface NetConf {
  config: NetworkConfig;
  /** The file's text, as it goes into etcd unchanged. */
  text: string;
  /** Notes for the operator (e.g. vxlan's Learning, which has no effect here). */
  notes: string[];
}

export function loadNetConf(file: string): NetConf {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`--net-config-path ${file}: ${oneLine(err)}`, { cause: err });
  }
  return parseNetConf(text, file);
}

/** Parses net-conf.json text; `source` names it in messages. */
export function parseNetConf(text: string, source: string): NetConf {
  let config: NetworkConfig;
  try {
    config = parseNetworkConfig(text);
  } catch (err) {
    throw new ConfigError(`${source}: ${oneLine(err)}`, { cause: err });
  }
  const notes: string[] = [];
  if (learningIgnored(text))
    notes.push(
      'Backend.Learning is ignored: flannelette has no kernel VXLAN device whose MAC learning it could switch',
    );
  return { config, text, notes };
}
