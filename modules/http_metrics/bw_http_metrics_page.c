/*
 * status_page: a live page of the metrics, one self-contained HTML
 * document built into the binary (no CDN, no font, no script from
 * elsewhere) that reads the metrics location's JSON every second and
 * shows connections, TLS handshakes, reloads and worker restarts, each
 * status_zone's rates with a sparkline of the
 * last minute, and each upstream peer's state, rates, failures and
 * latency percentiles. The page is static: all the work is the
 * browser's, the server only answers the JSON it already has.
 */

#include <bw_http_metrics.h>

static const char  bw_http_metrics_page_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\" data-src=\"";

/* after the metrics location's URI, to the end */
static const char  bw_http_metrics_page_tail[] =
    "\">\n"
    "<head>\n"
    "<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>bulwark status</title>\n"
    "<style>\n"
    ":root { --bg:#0f1419; --panel:#171e26; --line:#263241; --text:#d6dde6;\n"
    "  --dim:#7d8b99; --ok:#3fb950; --warn:#d29922; --bad:#f85149;\n"
    "  --blue:#58a6ff; }\n"
    "* { box-sizing: border-box; }\n"
    "body { margin:0; background:var(--bg); color:var(--text);\n"
    "  font:14px/1.4 system-ui, -apple-system, \"Segoe UI\", sans-serif; }\n"
    "header { display:flex; align-items:baseline; gap:24px; padding:14px 24px;\n"
    "  border-bottom:1px solid var(--line); }\n"
    "header h1 { font-size:18px; margin:0; font-weight:600; }\n"
    "#updated { color:var(--dim); font-size:12px; }\n"
    "#updated.stale { color:var(--bad); }\n"
    "main { padding:16px 24px; display:grid; gap:16px; }\n"
    ".cards { display:grid; grid-template-columns:repeat(auto-fit,minmax(140px,1fr));\n"
    "  gap:12px; }\n"
    ".card { background:var(--panel); border:1px solid var(--line);\n"
    "  border-radius:8px; padding:10px 14px; }\n"
    ".card .v { font-size:22px; font-weight:600; font-variant-numeric:tabular-nums; }\n"
    ".card .k { color:var(--dim); font-size:12px; text-transform:uppercase;\n"
    "  letter-spacing:.04em; }\n"
    "section { background:var(--panel); border:1px solid var(--line);\n"
    "  border-radius:8px; overflow:hidden; }\n"
    "section h2 { font-size:13px; text-transform:uppercase; letter-spacing:.05em;\n"
    "  color:var(--dim); margin:0; padding:10px 14px;\n"
    "  border-bottom:1px solid var(--line); }\n"
    "table { width:100%; border-collapse:collapse; font-variant-numeric:tabular-nums; }\n"
    "th, td { padding:7px 14px; text-align:right; white-space:nowrap; }\n"
    "th { color:var(--dim); font-weight:500; font-size:12px; }\n"
    "th:first-child, td:first-child { text-align:left; }\n"
    "tbody tr { border-top:1px solid var(--line); }\n"
    "tr.group td { color:var(--blue); font-weight:600; background:#131a21; }\n"
    ".badge { display:inline-block; min-width:58px; text-align:center;\n"
    "  border-radius:10px; padding:1px 8px; font-size:12px; font-weight:600; }\n"
    ".up { background:rgba(63,185,80,.15); color:var(--ok); }\n"
    ".down { background:rgba(248,81,73,.18); color:var(--bad); }\n"
    ".backup { background:rgba(88,166,255,.15); color:var(--blue); }\n"
    ".err { color:var(--bad); }\n"
    "canvas { display:block; }\n"
    ".empty { color:var(--dim); padding:12px 14px; }\n"
    "</style>\n"
    "</head>\n"
    "<body>\n"
    "<header><h1>bulwark</h1><span id=\"updated\">connecting&hellip;</span></header>\n"
    "<main>\n"
    "<div class=\"cards\" id=\"cards\"></div>\n"
    "<section><h2>Server zones</h2>\n"
    "<table><thead><tr><th>Zone</th><th>Requests/s</th><th>Errors/s</th>\n"
    "<th>5xx %</th><th>In flight</th><th>Avg ms</th><th>p95 ms</th>\n"
    "<th>Cache hits</th>\n"
    "<th>Traffic (last 60 s)</th></tr></thead>\n"
    "<tbody id=\"zones\"></tbody></table></section>\n"
    "<section><h2>Upstreams</h2>\n"
    "<table><thead><tr><th>Peer</th><th>State</th><th>Requests/s</th>\n"
    "<th>Failed</th><th>5xx</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th>\n"
    "<th>Total</th></tr></thead>\n"
    "<tbody id=\"peers\"></tbody></table></section>\n"
    "</main>\n"
    "<script>\n"
    "\"use strict\";\n"
    "var SRC = document.documentElement.getAttribute(\"data-src\") || \"\";\n"
    "var prev = null, prevAt = 0, trend = {}, HIST = 60;\n"
    "\n"
    "function el(tag, attrs, text) {\n"
    "  var e = document.createElement(tag), k;\n"
    "  for (k in attrs || {}) { e.setAttribute(k, attrs[k]); }\n"
    "  if (text !== undefined) { e.textContent = text; }\n"
    "  return e;\n"
    "}\n"
    "function num(n, d) {\n"
    "  if (n === null || n === undefined || isNaN(n)) { return \"\\u2013\"; }\n"
    "  return n.toLocaleString(undefined, {maximumFractionDigits: d || 0});\n"
    "}\n"
    "function sum(a) { return a.reduce(function (x, y) { return x + y; }, 0); }\n"
    "function errors(z) { return (z.responses[\"4xx\"] || 0) + (z.responses[\"5xx\"] || 0); }\n"
    "\n"
    "/* a percentile from per-bucket counts: the bound of the bucket it lands in */\n"
    "function pct(buckets, bounds, p) {\n"
    "  var total = sum(buckets), want = total * p, c = 0, i;\n"
    "  if (!total) { return null; }\n"
    "  for (i = 0; i < buckets.length; i++) {\n"
    "    c += buckets[i];\n"
    "    if (c >= want) { return bounds[Math.min(i, bounds.length - 1)]; }\n"
    "  }\n"
    "  return bounds[bounds.length - 1];\n"
    "}\n"
    "function delta(cur, old, key) {\n"
    "  return old ? Math.max(0, cur[key] - old[key]) : 0;\n"
    "}\n"
    "function deltaBuckets(cur, old) {\n"
    "  if (!old) { return cur.buckets; }\n"
    "  var d = cur.buckets.map(function (b, i) { return b - old.buckets[i]; });\n"
    "  return sum(d) > 0 ? d : cur.buckets;\n"
    "}\n"
    "\n"
    "function spark(values, errs) {\n"
    "  var c = el(\"canvas\", {width: 180, height: 28}), g = c.getContext(\"2d\"),\n"
    "      max = Math.max.apply(null, values.concat([1])), i, x, w = 180 / HIST;\n"
    "  for (i = 0; i < values.length; i++) {\n"
    "    x = 180 - (values.length - i) * w;\n"
    "    g.fillStyle = \"#58a6ff\";\n"
    "    g.fillRect(x, 28 - 26 * values[i] / max, w - 1, 26 * values[i] / max);\n"
    "    if (errs[i]) {\n"
    "      g.fillStyle = \"#f85149\";\n"
    "      g.fillRect(x, 28 - 26 * errs[i] / max, w - 1, 26 * errs[i] / max);\n"
    "    }\n"
    "  }\n"
    "  return c;\n"
    "}\n"
    "\n"
    "function card(k, v) {\n"
    "  var d = el(\"div\", {\"class\": \"card\"});\n"
    "  d.appendChild(el(\"div\", {\"class\": \"v\"}, v));\n"
    "  d.appendChild(el(\"div\", {\"class\": \"k\"}, k));\n"
    "  return d;\n"
    "}\n"
    "\n"
    "function failed(s) {\n"
    "  var n = 0, k;\n"
    "  for (k in s.handshakes_failed) n += s.handshakes_failed[k];\n"
    "  return n;\n"
    "}\n"
    "\n"
    "function render(m, secs) {\n"
    "  var cards = document.getElementById(\"cards\"), zones, peers, name, z, o,\n"
    "      r, tr, td, state, byUp = {}, states = {}, list, up, p, reqs, b;\n"
    "  cards.replaceChildren(\n"
    "    card(\"Active connections\", num(m.connections.active)),\n"
    "    card(\"Reading\", num(m.connections.reading)),\n"
    "    card(\"Writing\", num(m.connections.writing)),\n"
    "    card(\"Idle\", num(m.connections.waiting)),\n"
    "    card(\"Requests/s\", num(prev ? (m.requests - prev.requests) / secs : 0, 1)),\n"
    "    card(\"Requests\", num(m.requests)),\n"
    "    card(\"TLS handshakes\", num(m.ssl.handshakes)),\n"
    "    card(\"TLS failed\", num(failed(m.ssl))),\n"
    "    card(\"Reloads\", num(m.processes.reloads)),\n"
    "    card(\"Worker restarts\", num(m.processes.worker_restarts)));\n"
    "\n"
    "  zones = document.getElementById(\"zones\");\n"
    "  zones.replaceChildren();\n"
    "  for (name in m.server_zones) {\n"
    "    z = m.server_zones[name];\n"
    "    o = prev && prev.server_zones[name];\n"
    "    r = delta(z, o, \"requests\") / secs;\n"
    "    var e = o ? Math.max(0, errors(z) - errors(o)) / secs : 0;\n"
    "    var h = trend[name] || (trend[name] = {r: [], e: []});\n"
    "    h.r.push(r); h.e.push(e);\n"
    "    if (h.r.length > HIST) { h.r.shift(); h.e.shift(); }\n"
    "    b = deltaBuckets(z, o);\n"
    "    tr = el(\"tr\", {\"data-zone\": name});\n"
    "    tr.appendChild(el(\"td\", {}, name));\n"
    "    tr.appendChild(el(\"td\", {}, num(r, 1)));\n"
    "    tr.appendChild(el(\"td\", {\"class\": e ? \"err\" : \"\"}, num(e, 1)));\n"
    "    tr.appendChild(el(\"td\", {}, z.requests ?\n"
    "        num(100 * z.responses[\"5xx\"] / z.requests, 2) : \"\\u2013\"));\n"
    "    tr.appendChild(el(\"td\", {}, num(z.processing)));\n"
    "    tr.appendChild(el(\"td\", {}, z.requests ? num(z.time_ms / z.requests, 1)\n"
    "                                           : \"\\u2013\"));\n"
    "    tr.appendChild(el(\"td\", {}, num(pct(b, m.bucket_bounds_ms, 0.95))));\n"
    "    var cs = z.cache || {}, ct = sum(Object.values(cs));\n"
    "    tr.appendChild(el(\"td\", {\"data-cache\": ct ? cs.HIT : \"\"},\n"
    "        ct ? num(100 * cs.HIT / ct, 1) + \" %\" : \"\\u2013\"));\n"
    "    td = el(\"td\"); td.appendChild(spark(h.r, h.e)); tr.appendChild(td);\n"
    "    zones.appendChild(tr);\n"
    "  }\n"
    "  if (!zones.children.length) {\n"
    "    td = el(\"td\", {colspan: 9, \"class\": \"empty\"},\n"
    "            \"No server has a status_zone.\");\n"
    "    tr = el(\"tr\"); tr.appendChild(td); zones.appendChild(tr);\n"
    "  }\n"
    "\n"
    "  m.peer_state.forEach(function (s) {\n"
    "    states[s.upstream + \" \" + s.peer] = s;\n"
    "    (byUp[s.upstream] = byUp[s.upstream] || []).push(s.peer);\n"
    "  });\n"
    "  m.upstream_peers.forEach(function (q) {\n"
    "    (byUp[q.upstream] = byUp[q.upstream] || []);\n"
    "    if (byUp[q.upstream].indexOf(q.peer) < 0) { byUp[q.upstream].push(q.peer); }\n"
    "  });\n"
    "  var counts = {};\n"
    "  m.upstream_peers.forEach(function (q) { counts[q.upstream + \" \" + q.peer] = q; });\n"
    "  var oldCounts = {};\n"
    "  if (prev) {\n"
    "    prev.upstream_peers.forEach(function (q) {\n"
    "      oldCounts[q.upstream + \" \" + q.peer] = q;\n"
    "    });\n"
    "  }\n"
    "\n"
    "  peers = document.getElementById(\"peers\");\n"
    "  peers.replaceChildren();\n"
    "  for (up in byUp) {\n"
    "    tr = el(\"tr\", {\"class\": \"group\"});\n"
    "    tr.appendChild(el(\"td\", {colspan: 9}, up));\n"
    "    peers.appendChild(tr);\n"
    "    byUp[up].forEach(function (peer) {\n"
    "      var key = up + \" \" + peer, s = states[key], q = counts[key],\n"
    "          oq = oldCounts[key], bb;\n"
    "      state = !s ? \"up\" : (s.up ? (s.backup ? \"backup\" : \"up\") : \"down\");\n"
    "      tr = el(\"tr\", {\"data-upstream\": up, \"data-peer\": peer,\n"
    "                     \"data-state\": state});\n"
    "      tr.appendChild(el(\"td\", {}, peer));\n"
    "      td = el(\"td\");\n"
    "      td.appendChild(el(\"span\", {\"class\": \"badge \" + state}, state));\n"
    "      tr.appendChild(td);\n"
    "      reqs = q ? delta(q, oq, \"requests\") / secs : 0;\n"
    "      bb = q ? deltaBuckets(q, oq) : [];\n"
    "      tr.appendChild(el(\"td\", {}, num(reqs, 1)));\n"
    "      tr.appendChild(el(\"td\", {\"class\": q && q.failed ? \"err\" : \"\"},\n"
    "                        num(q ? q.failed : 0)));\n"
    "      tr.appendChild(el(\"td\", {}, num(q ? q.responses[\"5xx\"] : 0)));\n"
    "      tr.appendChild(el(\"td\", {}, num(q ? pct(bb, m.bucket_bounds_ms, .5) : null)));\n"
    "      tr.appendChild(el(\"td\", {}, num(q ? pct(bb, m.bucket_bounds_ms, .95) : null)));\n"
    "      tr.appendChild(el(\"td\", {}, num(q ? pct(bb, m.bucket_bounds_ms, .99) : null)));\n"
    "      tr.appendChild(el(\"td\", {}, num(q ? q.requests : 0)));\n"
    "      peers.appendChild(tr);\n"
    "    });\n"
    "  }\n"
    "  if (!peers.children.length) {\n"
    "    td = el(\"td\", {colspan: 9, \"class\": \"empty\"}, \"No upstream servers.\");\n"
    "    tr = el(\"tr\"); tr.appendChild(td); peers.appendChild(tr);\n"
    "  }\n"
    "}\n"
    "\n"
    "function poll() {\n"
    "  var at = Date.now(), upd = document.getElementById(\"updated\");\n"
    "  fetch(SRC + \"?format=json\", {cache: \"no-store\"})\n"
    "    .then(function (res) {\n"
    "      if (!res.ok) { throw new Error(res.status + \" \" + res.statusText); }\n"
    "      return res.json();\n"
    "    })\n"
    "    .then(function (m) {\n"
    "      render(m, prevAt ? Math.max(0.001, (at - prevAt) / 1000) : 1);\n"
    "      prev = m; prevAt = at;\n"
    "      upd.className = \"\";\n"
    "      upd.textContent = \"updated \" + new Date(at).toLocaleTimeString();\n"
    "      document.body.setAttribute(\"data-polls\",\n"
    "        (+document.body.getAttribute(\"data-polls\") || 0) + 1);\n"
    "    })\n"
    "    .catch(function (err) {\n"
    "      upd.className = \"stale\";\n"
    "      upd.textContent = \"cannot read \" + SRC + \": \" + err.message;\n"
    "    })\n"
    "    .finally(function () { setTimeout(poll, 1000); });\n"
    "}\n"
    "poll();\n"
    "</script>\n"
    "</body>\n"
    "</html>\n";

bw_int_t
bw_http_metrics_page_handler(bw_http_request_t *r)
{
    bw_int_t                       rc;
    bw_buf_t                      *b;
    bw_chain_t                     out;
    bw_http_metrics_loc_conf_t    *mlcf;

    if (!(r->method & (BW_HTTP_GET|BW_HTTP_HEAD))) {
        return BW_HTTP_NOT_ALLOWED;
    }

    rc = bw_http_discard_request_body(r);
    if (rc != BW_OK) {
        return rc;
    }

    mlcf = bw_http_get_module_loc_conf(r, bw_http_metrics_module);

    b = bw_create_temp_buf(r->pool, sizeof(bw_http_metrics_page_head) - 1
                                    + mlcf->page_src.len
                                    + sizeof(bw_http_metrics_page_tail) - 1);
    if (b == NULL) {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = bw_cpymem(b->last, bw_http_metrics_page_head,
                        sizeof(bw_http_metrics_page_head) - 1);
    b->last = bw_cpymem(b->last, mlcf->page_src.data, mlcf->page_src.len);
    b->last = bw_cpymem(b->last, bw_http_metrics_page_tail,
                        sizeof(bw_http_metrics_page_tail) - 1);
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = BW_HTTP_OK;
    bw_str_set(&r->headers_out.content_type, "text/html; charset=utf-8");
    r->headers_out.content_length_n = b->last - b->pos;

    rc = bw_http_send_header(r);

    if (rc == BW_ERROR || rc > BW_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return bw_http_output_filter(r, &out);
}
