// The nginx stand-in for hosts without nginx: serves /usr/share/nginx/html (the container's private
// copy) on port 80 with nginx's stock welcome page as index.html when the directory has none, and logs
// each request to stdout in nginx's "combined" format. Never resolves (a server); throws ConfigError when
// port 80 cannot be bound.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { ConfigError } from '../../util/errors.js';

export const NGINX_WELCOME_PAGE = `<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href="http://nginx.org/">nginx.org</a>.<br/>
Commercial support is available at
<a href="http://nginx.com/">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
</body>
</html>
`;

const ROOT = '/usr/share/nginx/html';

export function runNginxStandin(out: (line: string) => void): Promise<number> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    let file = path.normalize(path.join(ROOT, decodeURIComponent(url.pathname)));
    if (!file.startsWith(ROOT)) file = ROOT;
    if (file.endsWith('/') || file === ROOT) file = path.join(file, 'index.html');
    let body: Buffer | string | undefined;
    try {
      body = fs.readFileSync(file);
    } catch {
      body = file === path.join(ROOT, 'index.html') ? NGINX_WELCOME_PAGE : undefined;
    }
    res.statusCode = body === undefined ? 404 : 200;
    res.setHeader('Server', 'nginx (flannelette stand-in)');
    res.setHeader('Content-Type', file.endsWith('.html') ? 'text/html' : 'application/octet-stream');
    const text = body ?? '<html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1></body></html>\n';
    res.end(text);
    const client = (req.socket.remoteAddress ?? '-').replace(/^::ffff:/, '');
    const request = `${req.method} ${req.url} HTTP/${req.httpVersion}`;
    out(
      `${client} - - [${new Date().toUTCString()}] "${request}" ${res.statusCode} ` +
        `${Buffer.byteLength(text)} "-" "${req.headers['user-agent'] ?? '-'}" "-"`,
    );
  });
  return new Promise((_resolve, reject) => {
    server.once('error', (err) => reject(new ConfigError(`nginx stand-in: cannot listen on port 80: ${err.message}`)));
    server.listen({ port: 80, host: '::', ipv6Only: false }, () => out('nginx stand-in: listening on port 80'));
  });
}
