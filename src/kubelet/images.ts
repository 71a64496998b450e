// Image mapping: no registry can be reached, so each image name maps to programs on this host
// (K8S-CONTRACT.md "Images"). resolveImage is pure given the host facts it is handed (which tools
// exist, where the built-in programs' entry is); it returns undefined for an unknown image.
//   nginx[:tag]                       Debian's nginx with a private config and html (or a built-in stand-in)
//   busybox[:tag], radial/busyboxplus  Debian's busybox applets on /usr/local/bin (`:curl` adds curl)
//   curlimages/curl, appropriate/curl  curl (the entrypoint)
//   registry.k8s.io/e2e-test-images/agnhost:*  the built-in agnhost (netexec, serve-hostname, connect, pause)
//   flannelette/http|echo|fetch|sleep the lab's built-in programs
//   flannelette/coredns               the built-in cluster DNS (src/dns), with the API socket and token
//   config `images`                    extra mappings: name → entrypoint command
// Nothing here throws.

export interface HostFacts {
  /** Path of the nginx binary, or undefined when nginx is not installed. */
  nginx: string | undefined;
  busybox: string | undefined;
  curl: string | undefined;
  /** The command prefix that runs a built-in program: [node, .../programs/main.js]. */
  builtin: string[];
  /** The lab API's socket directory and token file, which the coredns image sees (read-only). */
  api?: { socketDir: string; socketName: string; tokenFile: string };
}

/** Where the coredns image finds the API: the socket directory and the token, as a service account's. */
export const API_DIR_IN_CONTAINER = '/run/flannelette-api';
export const TOKEN_IN_CONTAINER = '/run/secrets/kubernetes.io/serviceaccount/token';

/** A path the image writes to, given to each container as a private copy from the lab directory. */
export interface WritablePath {
  path: string;
  kind: 'dir' | 'file';
  /** Host directory whose files seed the copy (e.g. the stock html). */
  seedFrom?: string;
  /** File content (kind 'file'). */
  content?: string;
  /** File mode (kind 'file'); default 0644. */
  mode?: number;
}

export interface ResolvedImage {
  image: string;
  /** The image name without registry defaults and tag, e.g. "nginx", "radial/busyboxplus". */
  name: string;
  tag: string;
  /** What the image runs as, for the Pulled event and `describe`. */
  mappedTo: string;
  entrypoint: string[];
  cmd: string[];
  env: Record<string, string>;
  writable: WritablePath[];
  /** Commands on the container's /usr/local/bin: name → host binary (busybox applets, curl). */
  binLinks: Record<string, string>;
  /** argv[0] rewrites: `nginx` runs the stand-in when nginx is not installed. */
  aliases: Record<string, string[]>;
  /** A warning for the events (e.g. nginx not installed, stand-in used). */
  warning?: string;
  /** Host paths bound into the container as they are (the coredns image's API socket and token). */
  hostBinds?: { source: string; target: string; kind: 'dir' | 'file'; readOnly: boolean }[];
}

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export const KNOWN_IMAGES = [
  'nginx[:tag]',
  'busybox[:tag]',
  'radial/busyboxplus[:tag]',
  'curlimages/curl[:tag]',
  'appropriate/curl[:tag]',
  'registry.k8s.io/e2e-test-images/agnhost:<tag>',
  'flannelette/http',
  'flannelette/echo',
  'flannelette/fetch',
  'flannelette/sleep',
  'flannelette/coredns',
];

const BUILTIN_PROGRAMS = ['http', 'echo', 'fetch', 'sleep'];

/** Splits "docker.io/library/nginx:1.25@sha256:…" into the short name and the tag. */
export function parseImageRef(image: string): { name: string; tag: string } {
  let ref = image.trim();
  const at = ref.indexOf('@');
  if (at >= 0) ref = ref.slice(0, at);
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  let tag = 'latest';
  if (colon > slash) {
    tag = ref.slice(colon + 1);
    ref = ref.slice(0, colon);
  }
  ref = ref.replace(/^(docker\.io|index\.docker\.io|registry-1\.docker\.io)\//, '').replace(/^library\//, '');
  return { name: ref, tag };
}

/** nginx's configuration inside the container: foreground, port 80, logs to the container log. */
export const NGINX_CONF = `user root;
worker_processes 1;
pid /run/nginx.pid;
error_log stderr notice;
events {
  worker_connections 512;
}
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  log_format main '$remote_addr - $remote_user [$time_local] "$request" '
                  '$status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_forwarded_for"';
  access_log /dev/stdout main;
  sendfile on;
  keepalive_timeout 65;
  server {
    listen 80;
    listen [::]:80;
    server_name localhost;
    location / {
      root /usr/share/nginx/html;
      index index.html index.htm;
    }
  }
}
`;

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

function base(image: string, name: string, tag: string): Omit<ResolvedImage, 'mappedTo' | 'entrypoint' | 'cmd'> {
  return { image, name, tag, env: { PATH: DEFAULT_PATH }, writable: [], binLinks: {}, aliases: {} };
}

export function resolveImage(
  image: string,
  host: HostFacts,
  extra: Record<string, string[]> = {},
): ResolvedImage | undefined {
  const { name, tag } = parseImageRef(image);
  const b = base(image, name, tag);
  if (extra[name]) return { ...b, mappedTo: extra[name].join(' '), entrypoint: extra[name], cmd: [] };
  if (name === 'nginx') {
    const writable: WritablePath[] = [
      { path: '/usr/share/nginx/html', kind: 'dir', seedFrom: '/usr/share/nginx/html' },
      { path: '/var/log/nginx', kind: 'dir' },
      { path: '/var/lib/nginx', kind: 'dir' },
      { path: '/var/cache/nginx', kind: 'dir' },
    ];
    if (host.nginx) {
      writable.push({ path: '/etc/nginx/nginx.conf', kind: 'file', content: NGINX_CONF });
      return {
        ...b,
        writable,
        mappedTo: `${host.nginx} (Debian nginx)`,
        entrypoint: [],
        cmd: ['nginx', '-g', 'daemon off;'],
        aliases: { nginx: [host.nginx] },
      };
    }
    return {
      ...b,
      writable,
      mappedTo: 'the built-in nginx stand-in',
      entrypoint: [],
      cmd: [...host.builtin, 'nginx-standin'],
      aliases: { nginx: [...host.builtin, 'nginx-standin'] },
      warning:
        'nginx is not installed on this host (apt-get install nginx-light): using the built-in stand-in ' +
        'that serves the same welcome page',
    };
  }
  if (name === 'busybox' || name === 'radial/busyboxplus') {
    if (!host.busybox) return undefined;
    const binLinks: Record<string, string> = { busybox: host.busybox };
    if (name === 'radial/busyboxplus' && tag === 'curl' && host.curl) binLinks['curl'] = host.curl;
    return {
      ...b,
      binLinks,
      mappedTo: `${host.busybox} applets${binLinks['curl'] ? ' and curl' : ''}`,
      entrypoint: [],
      cmd: ['sh'],
    };
  }
  if (name === 'curlimages/curl' || name === 'appropriate/curl') {
    if (!host.curl) return undefined;
    return { ...b, mappedTo: host.curl, entrypoint: ['curl'], cmd: [] };
  }
  if (name === 'registry.k8s.io/e2e-test-images/agnhost' || name === 'k8s.gcr.io/e2e-test-images/agnhost') {
    const launcher = `#!/bin/sh\nexec ${[...host.builtin, 'agnhost'].map(shellQuote).join(' ')} "$@"\n`;
    return {
      ...b,
      mappedTo: 'the built-in agnhost',
      entrypoint: ['/agnhost'],
      cmd: ['pause'],
      writable: [{ path: '/agnhost', kind: 'file', content: launcher, mode: 0o755 }],
    };
  }
  if (name === 'flannelette/coredns' && host.api) {
    const api = host.api;
    return {
      ...b,
      mappedTo: 'the built-in cluster DNS',
      entrypoint: [...host.builtin, 'coredns'],
      cmd: [],
      env: {
        ...b.env,
        FLANNELETTE_API_SOCKET: `${API_DIR_IN_CONTAINER}/${api.socketName}`,
        FLANNELETTE_API_TOKEN_FILE: TOKEN_IN_CONTAINER,
      },
      hostBinds: [
        { source: api.socketDir, target: API_DIR_IN_CONTAINER, kind: 'dir', readOnly: true },
        { source: api.tokenFile, target: TOKEN_IN_CONTAINER, kind: 'file', readOnly: true },
      ],
    };
  }
  const m = /^flannelette\/([a-z]+)$/.exec(name);
  if (m && BUILTIN_PROGRAMS.includes(m[1])) {
    return { ...b, mappedTo: `the built-in program ${m[1]}`, entrypoint: [...host.builtin, m[1]], cmd: [] };
  }
  return undefined;
}

/** The known images for the ErrImagePull message. */
export function knownImages(extra: Record<string, string[]> = {}): string[] {
  return [...KNOWN_IMAGES, ...Object.keys(extra)];
}

/** Kubernetes' rule: command replaces ENTRYPOINT, args replace CMD (args alone keep ENTRYPOINT). */
export function containerArgv(img: ResolvedImage, command?: string[], args?: string[]): string[] {
  const entry = command && command.length > 0 ? command : img.entrypoint;
  const rest = args ?? (command && command.length > 0 ? [] : img.cmd);
  const argv = [...entry, ...rest];
  return applyAliases(img, argv);
}

export function applyAliases(img: ResolvedImage, argv: string[]): string[] {
  const alias = argv.length > 0 ? img.aliases[argv[0]] : undefined;
  return alias ? [...alias, ...argv.slice(1)] : argv;
}
