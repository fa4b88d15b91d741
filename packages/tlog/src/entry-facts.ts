import { badInput } from "./errors.ts";

/** An output an entry references: the SHA-256 (lowercase hex) of its UTF-8 body and its content type. */
export type OutputRef = { readonly sha256: string; readonly contentType: string };

/** What a bundle verifier needs to know about one log entry, read from its canonical form. */
export type EntryFacts = { readonly notebookId: string; readonly seq: number; readonly outputs: readonly OutputRef[] };

/**
 * Reads an entry's canonical form (a string) into {@link EntryFacts}; throws bad-input when it
 * cannot. Passed to `verifyBundle` so the package does not depend on one version of the form.
 */
export type EntryReader = (canonical: string) => EntryFacts;

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** True when `s` is a lowercase hex SHA-256. */
export function isSha256Hex(s: unknown): s is string {
  return typeof s === "string" && SHA256_HEX.test(s);
}

/**
 * The default {@link EntryReader}, for the canonical forms of docs/incident-log.md (v1, and v2 as
 * long as it keeps these members): a JSON object with `notebookId` (string), `seq` (whole number
 * ≥ 1) and `data` (object); `data.outputHash` (64 lowercase hex) references a stored output, and
 * then `data.contentType` (string) must say its type.
 */
export function readCanonicalEntry(canonical: string): EntryFacts {
  let v: unknown;
  try {
    v = JSON.parse(canonical);
  } catch {
    badInput("its canonical form is not JSON");
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) badInput("its canonical form is not a JSON object");
  const { notebookId, seq, data } = v as { notebookId?: unknown; seq?: unknown; data?: unknown };
  if (typeof notebookId !== "string") badInput("its canonical form has no notebookId");
  if (!Number.isSafeInteger(seq) || (seq as number) < 1) badInput("its canonical form has no seq (a whole number ≥ 1)");
  if (typeof data !== "object" || data === null || Array.isArray(data))
    badInput("its canonical form has no data object");
  const { outputHash, contentType } = data as { outputHash?: unknown; contentType?: unknown };
  if (outputHash === undefined) return { notebookId, seq: seq as number, outputs: [] };
  if (!isSha256Hex(outputHash)) badInput("its data.outputHash is not a lowercase hex SHA-256");
  if (typeof contentType !== "string") badInput(`it references output ${outputHash} but records no data.contentType`);
  return { notebookId, seq: seq as number, outputs: [{ sha256: outputHash, contentType }] };
}
