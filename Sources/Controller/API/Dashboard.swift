import Foundation
import HTTPServer
import Postgres
import Resources

/// `GET /`: one server-rendered page of pools, instances, agents, templates, providers and the
/// latest events. It reloads when the Kubernetes API's watch of pools or agents reports a change
/// (every 5 seconds when it cannot watch), loads nothing from outside, and escapes every value. Its template form calls the template API with a token the operator types (kept in the tab).
struct Dashboard: Sendable {
    let store: ResourceStore
    let status: StatusService

    func render() async throws -> HTTPResponse {
        let report = try await status.report()
        let agents = try await store.list(.agent)
        let templates = try await store.list(.agentTemplate)
        let instances = try await InstanceQueries(db: store.db).list()
        let events = try await store.db.query("SELECT at, kind, name, type, reason, message FROM pool.events ORDER BY id DESC LIMIT 25").rows
        var html = Self.head
        html += "<header><h1>Convos agents control plane</h1><p>replica <code>\(e(report.thisReplica))</code> · "
        html += report.isLeader ? "<b>leader</b>" : "follower of <code>\(e(report.leader?.identity ?? "nobody"))</code>"
        html += " · last tick \(e(report.lastTick.at ?? "never")) · queue \(report.queueDepth) · backoffs \(report.backoffs.count)</p></header>"

        html += "<section><h2>Pools</h2><div class=cards>"
        for (pool, counts) in report.pools.sorted(by: { $0.key < $1.key }) {
            html += "<div class=card><h3>\(e(pool))</h3>"
            for state in InstanceState.allCases {
                html += "<div class=gauge><span>\(state.rawValue)</span><b id=\"\(e(pool))-\(state.rawValue)\">\(counts[state.rawValue] ?? 0)</b></div>"
            }
            html += "</div>"
        }
        html += "</div></section>"

        html += "<section><h2>Agents</h2><table><tr><th>name</th><th>template</th><th>owner</th><th>phase</th><th>instance</th><th>conditions</th></tr>"
        for agent in agents {
            let conditions = (agent.status["conditions"]?.arrayValue ?? []).map { c in
                "<span class=\"cond \((c["status"]?.stringValue == "True") ? "ok" : "no")\" title=\"\(e(c["reason"]?.stringValue ?? ""))\">\(e(c["type"]?.stringValue ?? ""))</span>"
            }.joined(separator: " ")
            html += "<tr><td>\(e(agent.metadata.name))</td><td>\(e(agent.spec["template"]?.stringValue ?? ""))</td><td>\(e(agent.spec["owner"]?.stringValue ?? ""))</td>"
            html += "<td class=phase>\(e(agent.status["phase"]?.stringValue ?? "Pending"))</td><td><code>\(e(agent.status["instanceId"]?.stringValue ?? "-"))</code></td><td>\(conditions)</td></tr>"
        }
        html += "</table></section>"

        html += "<section><h2>Instances</h2><table><tr><th>id</th><th>state</th><th>health</th><th>pool</th><th>agent</th><th>digest</th><th>created</th></tr>"
        for i in instances {
            html += "<tr><td><code>\(e(i.id))</code></td><td>\(i.state.rawValue)</td><td>\(i.health?.rawValue ?? "-")</td><td>\(e(i.pool))</td><td>\(e(i.agent ?? "-"))</td>"
            html += "<td><code>\(e(String((i.imageDigest ?? "-").prefix(19))))</code></td><td>\(ISO8601.format(i.createdAt))</td></tr>"
        }
        html += "</table></section>"

        html += "<section><h2>Templates</h2><table><tr><th>id</th><th>model</th><th>tools</th><th>generation</th><th>agents synced</th><th></th></tr>"
        for t in templates {
            let tools = Table.tools(t.spec["tools"])
            let json = String(decoding: t.spec.canonicalData(), as: UTF8.self)
            html += "<tr><td>\(e(t.metadata.name))</td><td>\(e(t.spec["model"]?["default"]?.stringValue ?? "-"))</td><td>\(e(tools))</td><td>\(t.metadata.generation)</td>"
            html += "<td>\(t.status["agentsSynced"]?.intValue ?? 0)/\(t.status["agents"]?.intValue ?? 0)</td>"
            html += "<td><button type=button data-id=\"\(e(t.metadata.name))\" data-spec=\"\(e(json))\" onclick=\"editTemplate(this)\">edit</button></td></tr>"
        }
        html += "</table>" + Self.form + "</section>"

        html += "<section><h2>Providers</h2><table><tr><th>provider</th><th>breaker</th><th>calls</th><th>errors</th><th>retries</th></tr>"
        for p in report.providers {
            html += "<tr><td>\(e(p.name))</td><td class=\"\(p.breaker == "closed" ? "ok" : "no")\">\(e(p.breaker))</td><td>\(p.calls)</td><td>\(p.errors)</td><td>\(p.retries)</td></tr>"
        }
        html += "</table></section>"

        html += "<section><h2>Latest events</h2><table><tr><th>time</th><th>object</th><th>reason</th><th>message</th></tr>"
        for row in events {
            let type: String = try row.decode("type")
            html += "<tr class=\"\(type == "Warning" ? "warn" : "")\"><td>\(ISO8601.format(try row.decode("at")))</td>"
            html += "<td>\(e(try row.decode("kind")))/\(e(try row.decode("name")))</td><td>\(e(try row.decode("reason")))</td><td>\(e(try row.decode("message")))</td></tr>"
        }
        html += "</table></section>" + Self.live + "</body></html>"
        return .text(html, contentType: "text/html; charset=utf-8")
    }

    /// HTML escaping for text and attribute values.
    func e(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    static let head = """
        <!doctype html><html lang=en><head><meta charset=utf-8>
        <meta name=viewport content="width=device-width, initial-scale=1"><title>Convos control plane</title><style>
        body{font:14px system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}header{background:#1d2330;color:#fff;padding:12px 24px}
        header h1{margin:0;font-size:20px}header p{margin:4px 0 0;color:#c9d1e0}section{padding:8px 24px}h2{font-size:16px;margin:12px 0 6px}
        table{border-collapse:collapse;width:100%;background:#fff;box-shadow:0 1px 2px #0001}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eceef2}
        th{font-weight:600;color:#566}.cards{display:flex;gap:12px;flex-wrap:wrap}.card{background:#fff;padding:10px 16px;box-shadow:0 1px 2px #0001;min-width:320px}
        .card h3{margin:0 0 8px}.gauge{display:inline-block;margin-right:14px;text-align:center}.gauge span{display:block;color:#678;font-size:12px}
        .gauge b{font-size:26px}.cond{display:inline-block;padding:1px 6px;border-radius:8px;font-size:12px;margin-right:2px}
        .ok{color:#0a6b3b}.cond.ok{background:#dff5e8}.no{color:#a33}.cond.no{background:#fbe3e3}tr.warn td{color:#a33}
        form{background:#fff;padding:10px;margin-top:8px;box-shadow:0 1px 2px #0001}textarea{width:100%;height:110px;font-family:monospace}
        input{margin-right:8px}code{font-size:12px}</style></head><body>
        """

    /// Reloads the page on a change seen by a watch (after the list's version, so nothing already
    /// shown), not while the form is being edited; polls every 5 s when watching is refused.
    static let live = """
        <script>
        (function(){
          const tok = sessionStorage.getItem('token'); const h = tok ? {'Authorization': 'Bearer ' + tok} : {};
          let timer = null;
          function reload(){ if (document.activeElement && document.activeElement.closest('form')) { later(); return; } location.reload(); }
          function later(){ clearTimeout(timer); timer = setTimeout(reload, 5000); }
          function soon(){ clearTimeout(timer); timer = setTimeout(reload, 300); }
          async function watch(resource){
            const base = '/apis/agents.convos.org/v1/' + resource;
            const list = await fetch(base, {headers: h}); if (!list.ok) throw new Error(list.status);
            const rv = (await list.json()).metadata.resourceVersion;
            const r = await fetch(base + '?watch=true&resourceVersion=' + encodeURIComponent(rv), {headers: h});
            if (!r.ok || !r.body) throw new Error(r.status);
            const reader = r.body.getReader();
            while (true) { const {done, value} = await reader.read(); if (done) break; if (value && value.length) soon(); }
            later();
          }
          Promise.all([watch('pools'), watch('agents')]).catch(later);
        })();
        </script>
        """

    static let form = """
        <form id=tf onsubmit="return saveTemplate(event)"><b>Create or edit a template</b><br>
        <label>id <input id=tid required pattern="[a-z0-9]([-a-z0-9]*[a-z0-9])?"></label>
        <label>API token <input id=tok type=password placeholder="CONTROLLER_API_TOKEN"></label>
        <textarea id=tspec>{"agentName":"Concierge","instructions":"You help the user plan their week.","model":{"default":"anthropic/claude-sonnet-4"},"visibility":"private","tools":[{"id":"email","provisioning":"pool"}],"openrouter":{"limitUsd":10}}</textarea>
        <button>save</button> <span id=tmsg></span></form>
        <script>
        document.getElementById('tok').value = sessionStorage.getItem('token') || '';
        function editTemplate(b){document.getElementById('tid').value=b.dataset.id;document.getElementById('tspec').value=b.dataset.spec;}
        async function saveTemplate(ev){ev.preventDefault();const id=document.getElementById('tid').value;const tok=document.getElementById('tok').value;
          sessionStorage.setItem('token',tok);let body;try{body=JSON.parse(document.getElementById('tspec').value);}catch(e){document.getElementById('tmsg').textContent='not JSON: '+e.message;return false;}
          body.id=id;const h={'Content-Type':'application/json'};if(tok)h['Authorization']='Bearer '+tok;
          let r=await fetch('/api/pool/templates/'+encodeURIComponent(id),{method:'PUT',headers:h,body:JSON.stringify(body)});
          if(r.status===404)r=await fetch('/api/pool/templates',{method:'POST',headers:h,body:JSON.stringify(body)});
          const j=await r.json();document.getElementById('tmsg').textContent=r.ok?('saved, generation '+j.generation):(j.error?j.error.message:r.status);return false;}
        </script>
        """
}
