/**
 * `wiresync` command line: database maintenance against `DATABASE_URL` (or the embedded database),
 * and everyday operations through the HTTP API (`WIRESYNC_URL`, `WIRESYNC_API_KEY`). Networks and
 * nodes go by name or id; answers are tables for people and JSON with `--json`.
 *
 *   npx tsx apps/cli/main.ts <command> [options]      (or `npm run cli -- <command>`)
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import type { Json } from "./client.js";
import { api, data, fail, findNetwork, findNode, PlainText } from "./client.js";
import type { MeshOptions } from "./mesh-commands.js";
import { meshCommands } from "./mesh-commands.js";
import { confirm, record, table } from "./output.js";
import { resealCommand } from "./reseal-command.js";

const USAGE = `usage: wiresync <command> [options]

Database (uses DATABASE_URL, or the embedded database under DATA_DIR):
  migrate                           apply pending migrations
  backup FILE                       write every table to FILE (JSON lines, mode 0600); secrets
                                    stay sealed, so keep ENCRYPTION_KEY apart from it
  restore FILE [--force]            migrate, then load FILE into an empty database (--force:
                                    replace everything in a database that has data)

API (uses WIRESYNC_URL and WIRESYNC_API_KEY). NET and NODE are a name or an id; a node name taken
in several networks needs --network NET.
  networks                          list networks
  network NET                       show a network
  create-network NAME --cidr4 CIDR [--cidr6 CIDR] [--endpoint HOST:PORT] [--topology hub|mesh]
                 [--preshared-keys off|hub|all]
  delete-network NET [--force] [--yes]
                                    delete a network (--force: with its nodes)
  nodes [--network NET] [--email E] list nodes
  node NODE [--network NET]         show a node
  add-node NET NAME [--email E] [--public-key KEY] [--out FILE] [--qr]
                                    add a node and print its config (or write it to FILE, mode
                                    0600, or show it as a QR code for the mobile apps)
  config NODE [--out FILE] [--qr]   print a node's wg-quick config
  disable NODE | enable NODE        take a node off the hub, or let it back
  delete-node NODE [--yes]          delete a node
  enrollment-key NET [--reusable] [--max-uses N] [--expires ISO-DATE]
                                    make an enrollment key and print the agent command line
  delete-email EMAIL [--drop-usage] [--yes]
                                    delete every node of an email (keeps usage unless --drop-usage)
  sync [full|peers|configs|usage] [--wait]
                                    start a sync run (and follow it to the end with --wait)
  status RUN_ID                     show a sync run
  runs [--limit N]                  list recent sync runs
  drift NET                         compare the database with the live interface
  drift-fix NET [--wait]            repair drift, removing peers the database does not know
  adopt NET [--file wg0.conf] [--dry-run]
                                    make the peers of the network's live interface (or of a
                                    wg0.conf) nodes, without touching the interface; refused peers
                                    are listed with their reason (--dry-run: change nothing)
  usage [--month YYYY-MM] [--node NODE] [--email E]
                                    monthly transfer per peer
  reseal [--wait]                   re-encrypt every secret at rest with the current ENCRYPTION_KEY
                                    (then ENCRYPTION_KEYS_PREVIOUS can be emptied)
  create-user EMAIL [--role admin|user] [--name N]
                                    register a user, password read from stdin (needs an admin
                                    key, e.g. the bootstrap API_KEY; the first user becomes admin)
Deletes ask first on a terminal; scripts pass --yes. --json prints JSON.`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    network: { type: "string" },
    email: { type: "string" },
    node: { type: "string" },
    month: { type: "string" },
    limit: { type: "string" },
    cidr4: { type: "string" },
    cidr6: { type: "string" },
    endpoint: { type: "string" },
    topology: { type: "string" },
    "preshared-keys": { type: "string" },
    "public-key": { type: "string" },
    out: { type: "string" },
    qr: { type: "boolean", default: false },
    reusable: { type: "boolean", default: false },
    "max-uses": { type: "string" },
    expires: { type: "string" },
    force: { type: "boolean", default: false },
    yes: { type: "boolean", short: "y", default: false },
    wait: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    "drop-usage": { type: "boolean", default: false },
    file: { type: "string" },
    "dry-run": { type: "boolean", default: false },
    role: { type: "string" },
    name: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});

const [command, ...args] = positionals;
const arg = args[0];

function print(value: unknown, columns?: string[]) {
  if (values.json || !columns) {
    const human = !values.json && value && typeof value === "object" && !Array.isArray(value);
    process.stdout.write(human ? record(value as Json) : `${JSON.stringify(value, null, 2)}\n`);
    return;
  }
  process.stdout.write(
    Array.isArray(value) ? table(value as Json[], columns) : record(value as Json, columns),
  );
}

async function follow(runId: string): Promise<Json> {
  for (;;) {
    const run = await data(`GET`, `/api/v1/sync/status/${runId}`);
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

/**
 * The commands that open the database (`migrate`, `backup`, `restore`), loaded only by them: the
 * database code is most of wiresync, and every other command only talks HTTP. The single-file build
 * keeps them in a file of their own beside the CLI's.
 */
async function databaseCommands(): Promise<typeof import("./migrate.js")> {
  return import("./migrate.js").catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "ERR_MODULE_NOT_FOUND") throw err;
    return fail(
      "migrate, backup and restore need the wiresync package or a checkout (this CLI file was copied without wiresync-migrate.mjs and the migrations)",
    );
  });
}

const RUN_COLUMNS = [
  "id",
  "type",
  "status",
  "itemsTotal",
  "itemsSynced",
  "itemsFailed",
  "createdAt",
  "requestedBy",
];

async function main() {
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const mesh = meshCommands[command];
  if (mesh) return mesh(args, values as MeshOptions);
  switch (command) {
    case "migrate":
      return (await databaseCommands()).migrate();
    case "backup":
      return (await databaseCommands()).backupCommand(arg);
    case "restore":
      return (await databaseCommands()).restoreCommand(arg, values.force);
    case "reseal":
      return print(await resealCommand(values.wait));
    case "delete-email": {
      if (!arg) fail("delete-email needs an email");
      if (!values.yes && !(await confirm(`delete every node of ${arg}?`)))
        fail(`not deleted: the nodes of ${arg} (pass --yes to delete without asking)`);
      const q = new URLSearchParams({ email: arg, keep_usage_history: String(!values["drop-usage"]) });
      return print((await api("DELETE", `/api/v1/nodes?${q}`)).data);
    }
    case "sync": {
      const type = arg ?? "full";
      const started = await data("POST", `/api/v1/sync/${type}`, {});
      return print(values.wait ? await follow(String(started.sync_log_id)) : started);
    }
    case "status":
      if (!arg) fail("status needs a run id");
      return print(await data("GET", `/api/v1/sync/status/${arg}`));
    case "runs": {
      const { items } = await data<{ items: Json[] }>(
        "GET",
        `/api/v1/sync/logs?limit=${values.limit ?? "20"}`,
      );
      return print(items, RUN_COLUMNS);
    }
    case "drift": {
      if (!arg) fail("drift needs a network name or id");
      const network = await findNetwork(arg);
      return print(await data("GET", `/api/v1/networks/${network.id}/drift`));
    }
    case "drift-fix": {
      if (!arg) fail("drift-fix needs a network name or id");
      const network = await findNetwork(arg);
      const started = await data("POST", `/api/v1/networks/${network.id}/drift/fix`, {});
      return print(values.wait ? await follow(String(started.sync_log_id)) : started);
    }
    case "adopt": {
      if (!arg) fail("adopt needs a network name or id");
      const network = await findNetwork(arg);
      const body = values.file ? new PlainText(await readFile(values.file, "utf8")) : undefined;
      const result = await data(
        "POST",
        `/api/v1/networks/${network.id}/adopt?dryRun=${values["dry-run"]}`,
        body,
      );
      if (values.json) return print(result);
      const counts = result.counts as Json;
      const verb = values["dry-run"] ? "would adopt" : "adopted";
      process.stdout.write(`${verb} ${counts.adopted} of ${counts.seen} peers; ${counts.refused} refused\n`);
      if (result.hubKey)
        process.stdout.write(
          `hub key: ${result.hubKey} (${result.hubPublicKey}, port ${result.listenPort})\n`,
        );
      if ((result.adopted as Json[]).length > 0)
        print(result.adopted, ["name", "ip4", "ip6", "publicKey", "extraAllowedIps"]);
      if ((result.refused as Json[]).length > 0) {
        process.stdout.write("\nrefused:\n");
        print(result.refused, ["publicKey", "reason", "message"]);
      }
      for (const note of result.notes as string[]) process.stdout.write(`note: ${note}\n`);
      return;
    }
    case "usage": {
      const q = new URLSearchParams({ limit: "500" });
      if (values.month) q.set("month", values.month);
      if (values.node) q.set("node", String((await findNode(values.node, values.network)).id));
      if (values.email) q.set("email", values.email);
      const { items } = await data<{ items: Json[] }>("GET", `/api/v1/usage?${q}`);
      return print(items, ["month", "nodeName", "email", "publicKey", "rxBytes", "txBytes"]);
    }
    case "create-user": {
      if (!arg) fail("create-user needs an email");
      const body = {
        email: arg,
        password: await readPassword(),
        ...(values.role ? { role: values.role } : {}),
        ...(values.name ? { name: values.name } : {}),
      };
      return print(await data("POST", "/api/auth/register", body));
    }
    default:
      fail(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
  }
}

await main();
