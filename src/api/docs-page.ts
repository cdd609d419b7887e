import { createHash } from 'node:crypto';

// Rendered in the browser from /api/v1/openapi.json; no external script, font or stylesheet.
const SCRIPT = `
(async () => {
  const root = document.getElementById('app');
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  let doc;
  try {
    const res = await fetch('openapi.json', { headers: { accept: 'application/json' } });
    doc = await res.json();
  } catch (e) {
    root.textContent = 'Could not load openapi.json: ' + e;
    return;
  }
  const schemaHtml = (s) => {
    const json = JSON.stringify(s, null, 2);
    return '<pre>' + esc(json).replace(/&quot;#\\/components\\/schemas\\/([A-Za-z0-9_]+)&quot;/g,
      (_m, n) => '<a href="#schema-' + n + '">' + n + '</a>') + '</pre>';
  };
  const byTag = new Map();
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const tag = (op.tags && op.tags[0]) || 'other';
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push({ path, method, op });
    }
  }
  let nav = '';
  let main = '<h1>' + esc(doc.info.title) + ' <small>' + esc(doc.info.version) + '</small></h1><p>' + esc(doc.info.description) + '</p>';
  for (const t of doc.tags.map((x) => x.name).concat([...byTag.keys()].filter((k) => !doc.tags.some((x) => x.name === k)))) {
    const ops = byTag.get(t) || [];
    const info = doc.tags.find((x) => x.name === t);
    nav += '<a href="#tag-' + esc(t) + '">' + esc(t) + ' <span>' + ops.length + '</span></a>';
    main += '<h2 id="tag-' + esc(t) + '">' + esc(t) + '</h2>' + (info && info.description ? '<p>' + esc(info.description) + '</p>' : '');
    for (const { path, method, op } of ops) {
      main += '<details class="op"><summary><b class="m ' + method + '">' + method.toUpperCase() + '</b> <code>' + esc(path) + '</code> ' + esc(op.summary || '') + ' <i>' + esc(op['x-guildhall-access'] || '') + '</i></summary>';
      if (op.description) main += '<p>' + esc(op.description) + '</p>';
      if (op.parameters && op.parameters.length) {
        main += '<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>required</th><th>schema</th></tr>';
        for (const p of op.parameters) main += '<tr><td>' + esc(p.name) + '</td><td>' + p.in + '</td><td>' + (p.required ? 'yes' : '') + '</td><td><code>' + esc(JSON.stringify(p.schema)) + '</code>' + (p.description ? '<br>' + esc(p.description) : '') + '</td></tr>';
        main += '</table>';
      }
      if (op.requestBody) main += '<h4>Request body</h4>' + schemaHtml(op.requestBody.content['application/json'].schema);
      main += '<h4>Responses</h4>';
      for (const [status, r] of Object.entries(op.responses)) {
        main += '<div><b>' + status + '</b> ' + esc(r.description || '');
        if (r.content && Number(status) < 400) for (const [type, c] of Object.entries(r.content)) main += ' <code>' + esc(type) + '</code>' + schemaHtml(c.schema);
        main += '</div>';
      }
      main += '</details>';
    }
  }
  main += '<h2 id="schemas">Schemas</h2>';
  for (const [name, s] of Object.entries(doc.components.schemas)) main += '<h3 id="schema-' + esc(name) + '">' + esc(name) + '</h3>' + schemaHtml(s);
  nav += '<a href="#schemas">schemas</a>';
  root.innerHTML = '<nav>' + nav + '</nav><main>' + main + '</main>';
})();
`;

const STYLE = `
body{margin:0;font:14px/1.45 system-ui,sans-serif;color:#1b1f24;background:#fafbfc}
#app{display:flex}nav{position:sticky;top:0;height:100vh;overflow:auto;min-width:170px;padding:16px;background:#eef1f4}
nav a{display:block;padding:3px 0;color:#234;text-decoration:none}nav span{color:#789;font-size:12px}
main{padding:16px 28px;max-width:1100px}h1 small{font-size:14px;color:#678}
.op{border:1px solid #d6dbe0;border-radius:6px;margin:6px 0;padding:6px 10px;background:#fff}
.op summary{cursor:pointer}.op i{color:#789;font-size:12px}
.m{display:inline-block;min-width:58px;text-align:center;border-radius:4px;color:#fff;font-size:12px;padding:1px 4px}
.get{background:#2f7d32}.post{background:#1f5fa8}.put{background:#a86a1f}.patch{background:#7a4fb0}.delete{background:#b03a3a}
pre{background:#f3f5f7;padding:8px;overflow:auto;max-height:360px}table{border-collapse:collapse}td,th{border:1px solid #dde;padding:3px 6px;text-align:left;vertical-align:top}
`;

/**
 * The docs page HTML (self-contained: inline script and style, no CDN).
 *
 * @example
 * ctx.type = 'text/html'; ctx.body = DOCS_HTML;
 */
export const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>guildhall API</title><style>${STYLE}</style></head>
<body><div id="app">Loading…</div><script>${SCRIPT}</script></body></html>`;

const hash = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;

/**
 * Content-Security-Policy for the docs page: only its own inline script and style, same-origin fetch.
 *
 * @example
 * ctx.set('Content-Security-Policy', DOCS_CSP);
 */
export const DOCS_CSP = `default-src 'none'; script-src ${hash(SCRIPT)}; style-src ${hash(STYLE)}; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
