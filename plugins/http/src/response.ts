import type { HttpResponseBody } from "@databook/plugin-sdk";

/** Response headers shown by default: the ones that explain a result, never cookies. */
export const SHOWN_HEADERS = [
  "content-type",
  "content-length",
  "location",
  "date",
  "last-modified",
  "etag",
  "cache-control",
  "retry-after",
  "www-authenticate",
  "x-request-id",
];

/** Largest body kept in the output, bytes. */
export const MAX_BODY_BYTES = 256 * 1024;

/**
 * Describes a response for the `http-response` content type: selected headers, and the body as
 * pretty JSON (a JSON content type that parses), text (a textual type, or valid UTF-8 without a
 * type), or binary (body left empty; only its size is shown). Bodies over `maxBytes` are cut.
 * @param bytes the whole body as received.
 */
export function describeResponse(opts: {
  method: string;
  url: string;
  status: number;
  statusText: string;
  headers: [string, string][];
  bytes: Uint8Array;
  allHeaders?: boolean;
  maxBytes?: number;
}): HttpResponseBody {
  const max = opts.maxBytes ?? MAX_BODY_BYTES;
  const headers = opts.headers
    .map(([k, v]): [string, string] => [k.toLowerCase(), v])
    .filter(([k]) => (opts.allHeaders ? k !== "set-cookie" : SHOWN_HEADERS.includes(k)));
  const type = (opts.headers.find(([k]) => k.toLowerCase() === "content-type")?.[1] ?? "").toLowerCase();
  const truncated = opts.bytes.length > max;
  const kept = truncated ? opts.bytes.subarray(0, max) : opts.bytes;
  const base = {
    request: { method: opts.method, url: opts.url },
    status: opts.status,
    statusText: opts.statusText,
    headers,
    truncated,
    bodyBytes: opts.bytes.length,
  };
  const isJsonType = /^application\/(?:[\w.+-]*\+)?json\b/.test(type);
  const isTextType = /^text\/|^application\/(?:xml|javascript|x-www-form-urlencoded|[\w.+-]*\+xml)\b/.test(type);
  const text = decodeUtf8(kept, truncated);
  if (isJsonType && text !== undefined && !truncated) {
    try {
      return { ...base, bodyKind: "json", body: JSON.stringify(JSON.parse(text), null, 2) };
    } catch {
      // A JSON content type with a body that is not JSON: show it as the text it is.
    }
  }
  if (text !== undefined && (isJsonType || isTextType || type === "")) return { ...base, bodyKind: "text", body: text };
  return { ...base, bodyKind: "binary", body: "" };
}

/** Decodes UTF-8, or undefined when the bytes are not text. A cut multi-byte character at the end is dropped. */
function decodeUtf8(bytes: Uint8Array, mayBeCut: boolean): string | undefined {
  let end = bytes.length;
  if (mayBeCut) {
    // Step back over at most 3 continuation bytes to the start of the last character.
    let back = 0;
    while (back < 3 && end - back - 1 >= 0 && ((bytes[end - back - 1] as number) & 0xc0) === 0x80) back++;
    const lead = bytes[end - back - 1];
    if (lead !== undefined && lead >= 0xc0) end = end - back - 1;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, end));
  } catch {
    return undefined;
  }
}
