import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

const VERSION = "v1";
const IV_BYTES = 12;

/** Encrypts and decrypts secrets at rest. */
export interface SecretBox {
  /** Id of the key new envelopes are sealed with. */
  readonly keyId: string;
  /** Ids of every key this box opens: the current one first, then the previous ones. */
  readonly keyIds: readonly string[];
  /** Encrypts `plaintext` into a self-describing envelope `v1.<keyId>.<iv>.<tag>.<ciphertext>`. */
  seal(plaintext: string, associatedData?: string): string;
  /**
   * Decrypts an envelope sealed with the current key or any previous one.
   * Throws when the key id is unknown or the envelope was tampered with (the message names no secret).
   */
  open(envelope: string, associatedData?: string): string;
  /** True when the envelope was sealed with an older key and should be re-sealed. */
  needsRotation(envelope: string): boolean;
}

/** The id of a key: the first 8 hex characters of its SHA-256, safe to store next to data. */
export function keyIdOf(key: Buffer): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 8);
}

/**
 * The key id an envelope names (`v1.<keyId>.…`), or undefined when `envelope` is not one. Reads no
 * secret: the id is stored in clear next to the ciphertext.
 */
export function envelopeKeyId(envelope: string): string | undefined {
  const parts = envelope.split(".");
  return parts.length === 5 && parts[0] === VERSION ? parts[1] : undefined;
}

/**
 * AES-256-GCM with a key id in every envelope, so `ENCRYPTION_KEY` can be rotated while older keys
 * (`ENCRYPTION_KEYS_PREVIOUS`) stay readable. `associatedData` binds a ciphertext to its row.
 */
export function createSecretBox(current: Buffer, previous: readonly Buffer[] = []): SecretBox {
  if (current.length !== 32) throw new Error("encryption key must be 32 bytes");
  const keys = new Map<string, Buffer>();
  for (const k of [current, ...previous]) keys.set(keyIdOf(k), k);
  const keyId = keyIdOf(current);

  return {
    keyId,
    keyIds: [...keys.keys()],
    seal(plaintext, associatedData) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv("aes-256-gcm", current, iv);
      if (associatedData) cipher.setAAD(Buffer.from(associatedData));
      const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      const tag = cipher.getAuthTag();
      return [
        VERSION,
        keyId,
        iv.toString("base64url"),
        tag.toString("base64url"),
        ciphertext.toString("base64url"),
      ].join(".");
    },
    open(envelope, associatedData) {
      const parts = envelope.split(".");
      if (parts.length !== 5 || parts[0] !== VERSION) throw new Error("not a wiresync secret envelope");
      const [, id, iv, tag, data] = parts as [string, string, string, string, string];
      const key = keys.get(id);
      if (!key) {
        throw new Error(`secret was sealed with unknown key ${id}; add that key to ENCRYPTION_KEYS_PREVIOUS`);
      }
      const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
      if (associatedData) decipher.setAAD(Buffer.from(associatedData));
      decipher.setAuthTag(Buffer.from(tag, "base64url"));
      try {
        return Buffer.concat([decipher.update(Buffer.from(data, "base64url")), decipher.final()]).toString(
          "utf8",
        );
      } catch (err) {
        throw new Error("secret envelope failed authentication (wrong key or tampered data)", { cause: err });
      }
    },
    needsRotation(envelope) {
      return envelope.split(".")[1] !== keyId;
    },
  };
}
