/**
 * `wiresync` command line: database maintenance against `DATABASE_URL` (or the embedded database),
 * and everyday operations through the HTTP API (`WIRESYNC_URL`, `WIRESYNC_API_KEY`).
 *
 *   npx tsx apps/cli/main.ts <command> [options]      (or `npm run cli -- <command>`)
 */
import { parseArgs } from "node:util";
import { loadCliConfig, loadConfig } from "../../src/config.js";
import { openDatabase } from "../../src/db/index.js";

const USAGE = `usage: wiresync <command> [options]

Database (uses DATABASE_URL, or the embedded database under DATA_DIR):
  migrate                           apply pending migrations

API (uses WIRESYNC_URL and WIRESYNC_API_KEY):
  networks                          list networks
  nodes [--network ID] [--email E]  list nodes
  config NODE_ID                    print a node's wg-quick config
  delete-email EMAIL [--drop-usage] delete every node of an email (keeps usage unless --drop-usage)
  sync [full|peers|configs|usage] [--wait]
                                    start a sync run (and follow it to the end with --wait)
  status RUN_ID                     show a sync run
  runs [--limit N]                  list recent sync runs
  drift NETWORK_ID                  compare the database with the live interface
  drift-fix NETWORK_ID [--wait]     repair drift, removing peers the database does not know
  usage [--month YYYY-MM] [--node ID] [--email E]
                                    monthly transfer per peer
  create-user EMAIL [--role admin|user] [--name N]
                                    register a user, password read from stdin (needs an admin
                                    key, e.g. the bootstrap API_KEY; the first user becomes admin)
Options: --json prints raw JSON.`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    network: { type: "string" },
    email: { type: "string" },
    node: { type: "string" },
    month: { type: "string" },
    limit: { type: "string" },
    wait: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    "drop-usage": { type: "boolean", default: false },
    role: { type: "string" },
    name: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});

const [command, arg] = positionals;

type Json = Record<string, unknown>;

async function api(method: string, path: string, body?: unknown): Promise<Json> {
  const { url, apiKey } = loadCliConfig();
  if (!apiKey)
    fail("set WIRESYNC_API_KEY to an API key (create one in the dashboard or with POST /api/admin/api-keys)");
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { "X-API-Key": apiKey, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).catch((err: Error) => fail(`cannot reach ${url}: ${err.message}`));
  const type = res.headers.get("content-type") ?? "";
  if (!type.includes("json")) {
    if (!res.ok) fail(`${res.status} ${res.statusText}`);
    return { text: await res.text() };
  }
  const payload = (await res.json()) as Json;
  if (!res.ok)
    fail(`${res.status} ${String((payload.error as Json | undefined)?.message ?? res.statusText)}`);
  return payload;
}

function fail(message: string): never {
  process.stderr.write(`wiresync: ${message}\n`);
  process.exit(1);
}

function print(data: unknown, columns?: string[]) {
  if (values.json || !columns || !Array.isArray(data)) {
    process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    return;
  }
  const rows = (data as Json[]).map((r) => Object.fromEntries(columns.map((c) => [c, r[c] ?? ""])));
  console.table(rows);
}

async function follow(runId: string): Promise<Json> {
  for (;;) {
    const run = (await api("GET", `/api/v1/sync/status/${runId}`)).data as Json;
    if (!["PENDING", "RUNNING"].includes(String(run.status))) return run;
    process.stderr.write(`  ${run.status} ${run.itemsSynced}/${run.itemsTotal}\r`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The first line of stdin: a password piped in or typed, so it never shows in `ps` or shell history. */
async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write("password: ");
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
    if (Buffer.concat(chunks).includes(10)) break;
  }
  return (Buffer.concat(chunks).toString("utf8").split(/\r?\n/)[0] ?? "").trim();
}

async function main() {
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  switch (command) {
    case "migrate": {
      const config = loadConfig();
      const db = await openDatabase(config.database);
      await db.migrate();
      await db.close();
      process.stdout.write(`migrations applied (${config.database.kind})\n`);
      return;
    }
    case "networks":
      return print((await api("GET", "/api/v1/networks")).data, [
        "id",
        "name",
        "cidr4",
        "cidr6",
        "topology",
        "endpoint",
        "nodeCount",
      ]);
    case "nodes": {
      const q = new URLSearchParams({ limit: "500" });
      if (values.network) q.set("networkId", values.network);
      if (values.email) q.set("email", values.email);
      const data = (await api("GET", `/api/v1/nodes?${q}`)).data as Json;
      return print(data.items, ["id", "name", "email", "ip4", "status", "lastSeenAt", "configVersion"]);
    }
    case "config":
      if (!arg) fail("config needs a node id");
      process.stdout.write(String((await api("GET", `/api/v1/nodes/${arg}/config`)).text));
      return;
    case "delete-email": {
      if (!arg) fail("delete-email needs an email");
      const q = new URLSearchParams({ email: arg, keep_usage_history: String(!values["drop-usage"]) });
      return print((await api("DELETE", `/api/v1/nodes?${q}`)).data);
    }
    case "sync": {
      const type = arg ?? "full";
      const started = (await api("POST", `/api/v1/sync/${type}`, {})).data as Json;
      if (!values.wait) return print(started);
      return print(await follow(String(started.sync_log_id)));
    }
    case "status":
      if (!arg) fail("status needs a run id");
      return print((await api("GET", `/api/v1/sync/status/${arg}`)).data);
    case "runs": {
      const data = (await api("GET", `/api/v1/sync/logs?limit=${values.limit ?? "20"}`)).data as Json;
      return print(data.items, [
        "id",
        "type",
        "status",
        "itemsTotal",
        "itemsSynced",
        "itemsFailed",
        "createdAt",
        "requestedBy",
      ]);
    }
    case "drift":
      if (!arg) fail("drift needs a network id");
      return print((await api("GET", `/api/v1/networks/${arg}/drift`)).data);
    case "drift-fix": {
      if (!arg) fail("drift-fix needs a network id");
      const started = (await api("POST", `/api/v1/networks/${arg}/drift/fix`, {})).data as Json;
      return print(values.wait ? await follow(String(started.sync_log_id)) : started);
    }
    case "usage": {
      const q = new URLSearchParams({ limit: "500" });
      if (values.month) q.set("month", values.month);
      if (values.node) q.set("node", values.node);
      if (values.email) q.set("email", values.email);
      const data = (await api("GET", `/api/v1/usage?${q}`)).data as Json;
      return print(data.items, ["month", "nodeName", "email", "publicKey", "rxBytes", "txBytes"]);
    }
    case "create-user": {
      if (!arg) fail("create-user needs an email");
      const body = {
        email: arg,
        password: await readPassword(),
        ...(values.role ? { role: values.role } : {}),
        ...(values.name ? { name: values.name } : {}),
      };
      return print((await api("POST", "/api/auth/register", body)).data);
    }
    default:
      fail(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
  }
}

await main();
