import { existsSync, readFileSync } from "node:fs";
import { encodeVerifierKey, isDatabookError, parseVerifierKey, type VerifierKey, verifierKeyOf } from "@databook/tlog";
import { readSigningKey, signingKeyPath } from "../log/signing-key.ts";
import type { UsageError } from "./common.ts";

/**
 * Reads `--key` values: each is verifier key text (`<name>+<key ID>+<base64>`, as `databook log
 * key` prints it) or a file holding one key per line. Throws a {@link UsageError} naming the value.
 */
export function parseKeyArgs(values: readonly string[]): VerifierKey[] {
  return values.flatMap((v) => {
    const text = v.trim();
    try {
      return [parseVerifierKey(text)];
    } catch (e) {
      if (!isDatabookError(e)) throw e;
      if (!existsSync(text))
        throw {
          kind: "bad-input",
          message: `--key ${JSON.stringify(text.slice(0, 80))} is neither a public key (${e.message}) nor a file; give the key 'databook log key' prints, e.g. databook.example.com+1a2b3c4d+AW…`,
        } satisfies UsageError;
    }
    const lines = readFileSync(text, "utf8")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"));
    if (lines.length === 0)
      throw { kind: "bad-input", message: `--key file ${text} holds no public key` } satisfies UsageError;
    return lines.map((l, i) => {
      try {
        return parseVerifierKey(l);
      } catch (e) {
        throw {
          kind: "bad-input",
          message: `--key file ${text}, line ${i + 1}: not a public key (${(e as { message: string }).message})`,
        } satisfies UsageError;
      }
    });
  });
}

/**
 * The keys a check trusts: the `--key` values, or else the public half of the server's signing key
 * (DATABOOK_SIGNING_KEY_FILE, or `<dataDir>/signing-key`). `note` says which, for the output.
 * Throws a {@link UsageError} when there is neither.
 */
export function trustedKeys(
  values: readonly string[] | undefined,
  dataDir: string,
): { keys: VerifierKey[]; note: string } {
  if (values?.length) {
    const keys = parseKeyArgs(values);
    return { keys, note: `checked against ${keys.map(encodeVerifierKey).join(", ")}` };
  }
  const { file } = signingKeyPath(dataDir, process.env);
  if (!existsSync(file))
    throw {
      kind: "bad-input",
      message: `no key to check checkpoints with: ${file} does not exist; pass --key with the public key 'databook log key' printed (kept somewhere else than the data folder)`,
    } satisfies UsageError;
  const key = verifierKeyOf(readSigningKey(file));
  return {
    keys: [key],
    note: `checked against the server's own key ${encodeVerifierKey(key)} from ${file}; whoever could replace that file could re-sign the log, so for a check that trusts nothing in the data folder pass --key with the public key you kept`,
  };
}
