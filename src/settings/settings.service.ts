import { asc, eq } from "drizzle-orm";
import { z } from "zod";
import { recordAudit } from "../audit/index.js";
import type { Principal } from "../auth/index.js";
import { describePrincipal } from "../auth/index.js";
import type { SecretBox } from "../crypto/index.js";
import type { Db } from "../db/index.js";
import { settings, transaction } from "../db/index.js";
import { DomainError } from "../errors.js";

const MINUTE_S = 60;
const DAY_S = 24 * 60 * MINUTE_S;

/** Settings with a meaning to wiresync: their schema and default. Other keys are free-form. */
export const KNOWN_SETTINGS = {
  "sync.autoSyncEnabled": { schema: z.boolean(), default: true, secret: false },
  "sync.autoSyncInterval": {
    schema: z.number().int().min(30).max(DAY_S),
    default: 5 * MINUTE_S,
    secret: false,
  },
} as const;

export type KnownKey = keyof typeof KNOWN_SETTINGS;

/**
 * True when `key` is one of `KNOWN_SETTINGS`. Foot-gun: `key in KNOWN_SETTINGS` is also true for
 * `toString`, `constructor` and every other name on Object's prototype.
 */
export const isKnownKey = (key: string): key is KnownKey => Object.hasOwn(KNOWN_SETTINGS, key);

/** Names every plain JavaScript object answers to (`toString`, `constructor`, `__proto__`, …). */
const PROTOTYPE_NAMES = new Set(Object.getOwnPropertyNames(Object.prototype));

export const SettingKey = z
  .string()
  .regex(
    /^[a-z][A-Za-z0-9_.-]{0,63}$/,
    "must start with a lowercase letter and hold only letters, digits, '_', '.' and '-'",
  )
  // Settings are read into plain objects (here and in every client); such a key would shadow a method.
  .refine((key) => !PROTOTYPE_NAMES.has(key), "must not be the name of a JavaScript object method");

export const PutSettingInput = z
  .object({
    key: SettingKey,
    // Any JSON value. Not `z.json()`: its recursive schema cannot be rendered into the OpenAPI document.
    value: z.unknown().refine((v) => v !== undefined, "is required"),
    /** Store encrypted and never show the value again (API keys, passwords). */
    encrypted: z.boolean().default(false),
  })
  .strict();
export type PutSettingInput = z.infer<typeof PutSettingInput>;

export const SyncSettingsInput = z
  .object({
    autoSyncEnabled: KNOWN_SETTINGS["sync.autoSyncEnabled"].schema,
    autoSyncInterval: KNOWN_SETTINGS["sync.autoSyncInterval"].schema,
  })
  .partial()
  .strict();
export type SyncSettingsInput = z.infer<typeof SyncSettingsInput>;

export interface SettingView {
  key: string;
  /** null for encrypted settings: their value is never returned. */
  value: unknown;
  encrypted: boolean;
  updatedAt: Date;
  updatedBy: string | null;
}

export interface SyncSettings {
  autoSyncEnabled: boolean;
  autoSyncInterval: number;
}

const MAX_VALUE_BYTES = 16 * 1024;

export type SettingsService = ReturnType<typeof createSettingsService>;

/** Key/value settings in Postgres; secret ones sealed with AES-256-GCM and never returned. */
export function createSettingsService(deps: { db: Db; secrets: SecretBox }) {
  const { db, secrets } = deps;

  async function readRaw(key: string): Promise<unknown> {
    const [row] = await db.select().from(settings).where(eq(settings.key, key));
    if (!row) return undefined;
    const text = row.encrypted ? secrets.open(row.value, `setting:${key}`) : row.value;
    return JSON.parse(text) as unknown;
  }

  async function read<K extends KnownKey>(key: K): Promise<z.infer<(typeof KNOWN_SETTINGS)[K]["schema"]>> {
    const spec = KNOWN_SETTINGS[key];
    const parsed = spec.schema.safeParse(await readRaw(key));
    return (parsed.success ? parsed.data : spec.default) as z.infer<(typeof KNOWN_SETTINGS)[K]["schema"]>;
  }

  async function write(key: string, value: unknown, encrypted: boolean, principal: Principal | undefined) {
    if (isKnownKey(key)) {
      const parsed = KNOWN_SETTINGS[key].schema.safeParse(value);
      if (!parsed.success) {
        throw new DomainError(
          "VALIDATION_FAILED",
          `${key}: ${parsed.error.issues[0]?.message ?? "invalid value"}`,
        );
      }
    }
    const text = JSON.stringify(value);
    if (Buffer.byteLength(text) > MAX_VALUE_BYTES) {
      throw new DomainError("PAYLOAD_TOO_LARGE", `${key}: values are limited to ${MAX_VALUE_BYTES} bytes`);
    }
    const stored = encrypted ? secrets.seal(text, `setting:${key}`) : text;
    const actor = principal ? describePrincipal(principal) : "system";
    await transaction(db, async (tx) => {
      await tx
        .insert(settings)
        .values({ key, value: stored, encrypted, updatedAt: new Date(), updatedBy: actor })
        .onConflictDoUpdate({
          target: settings.key,
          set: { value: stored, encrypted, updatedAt: new Date(), updatedBy: actor },
        });
      await recordAudit(tx, {
        actor,
        action: "setting.changed",
        entityType: "setting",
        entityId: key,
        details: encrypted ? { encrypted: true } : { value },
      });
    });
  }

  return {
    /** Every setting (known ones with their defaults when unset); encrypted values are withheld. */
    async list(): Promise<SettingView[]> {
      const rows = await db.select().from(settings).orderBy(asc(settings.key));
      const views: SettingView[] = rows.map((r) => ({
        key: r.key,
        value: r.encrypted ? null : (JSON.parse(r.value) as unknown),
        encrypted: r.encrypted,
        updatedAt: r.updatedAt,
        updatedBy: r.updatedBy,
      }));
      for (const [key, spec] of Object.entries(KNOWN_SETTINGS)) {
        if (!views.some((v) => v.key === key)) {
          views.push({ key, value: spec.default, encrypted: false, updatedAt: new Date(0), updatedBy: null });
        }
      }
      return views.sort((a, b) => a.key.localeCompare(b.key));
    },

    /** Stores a setting. Known keys are validated (VALIDATION_FAILED). */
    async put(input: PutSettingInput, principal?: Principal): Promise<SettingView> {
      const encrypted = input.encrypted || (isKnownKey(input.key) && KNOWN_SETTINGS[input.key].secret);
      await write(input.key, input.value, encrypted, principal);
      const [row] = await db.select().from(settings).where(eq(settings.key, input.key));
      return {
        key: input.key,
        value: encrypted ? null : input.value,
        encrypted,
        updatedAt: row!.updatedAt,
        updatedBy: row!.updatedBy,
      };
    },

    /** A secret setting's value, for server-side use only (never for a response). */
    async secret(key: string): Promise<unknown> {
      return readRaw(key);
    },

    async syncSettings(): Promise<SyncSettings> {
      const [autoSyncEnabled, autoSyncInterval] = await Promise.all([
        read("sync.autoSyncEnabled"),
        read("sync.autoSyncInterval"),
      ]);
      return { autoSyncEnabled, autoSyncInterval };
    },

    async updateSyncSettings(input: SyncSettingsInput, principal?: Principal): Promise<SyncSettings> {
      if (input.autoSyncEnabled !== undefined)
        await write("sync.autoSyncEnabled", input.autoSyncEnabled, false, principal);
      if (input.autoSyncInterval !== undefined)
        await write("sync.autoSyncInterval", input.autoSyncInterval, false, principal);
      return this.syncSettings();
    },
  };
}
