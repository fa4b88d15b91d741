/**
 * The host side of every interface a plugin may import, as the import object that jco's
 * generated glue expects (keys are unversioned interface names, e.g. `wasi:cli/environment`).
 *
 * Written for the host instead of using preview2-shim's Node.js implementation because the host
 * must decide everything a plugin reaches: no filesystem (no preopens), no sockets (every socket
 * call is refused and reported), only the allowed env vars (preview2-shim would fall back to the
 * whole server environment), stdout/stderr captured into the call's log, and outbound HTTP sent
 * to the main thread, which checks, resolves and connects (see ../http-proxy.ts). Everything that
 * depends on the running call goes through the {@link CallContext} returned by `current()`, so one
 * import object serves every instance a worker makes, including ones made before their call.
 *
 * Value shapes follow jco's mapping of WIT to JavaScript: `result` return values are returned or
 * thrown (a plain object, not an `Error`, so the glue lowers it as `err`), variants are
 * `{ tag, val }`, enums are strings, `option` is `undefined` or the value, u64/s64 are BigInt.
 *
 * Bytes from the plugin: the host's copy of jco's glue hands byte lists (`list<u8>`: stream
 * writes, header values) to these imports as *views of the plugin's linear memory* (../load.ts
 * patches the glue's copies out), valid only during the import call. Every import counts what it
 * keeps against the call's limits (CallContext) and copies only that; nothing is allocated for a
 * count the plugin asks for (`write-zeroes`, `get-random-bytes`) before it is checked.
 */

/** WASI HTTP `error-code` variant, as jco represents it. */
export type HttpErrorCode = { tag: string; val?: unknown };

/** One outbound HTTP request as the worker hands it to the main thread (body: chunks, transferred). */
export type HttpRequestMessage = {
  method: string;
  scheme: string;
  authority: string;
  pathWithQuery: string;
  headers: [string, string][];
  body: Uint8Array[];
};

/** The main thread's answer to a check: go ahead (with the id of the checked target), or an error code. */
export type HttpCheckAnswer = { ok: true; checkId: number } | { ok: false; error: HttpErrorCode };

/** The main thread's answer to a send: a fully read response (body: chunks), or a WASI HTTP error code. */
export type HttpResponseMessage =
  | { ok: true; status: number; headers: [string, string][]; body: Uint8Array[] }
  | { ok: false; error: HttpErrorCode };

/** What the imports need from the call in progress. */
export type CallContext = {
  /** Allowed env vars that are set, in config order. */
  env: [string, string][];
  /** Bytes the plugin wrote to stdout or stderr: a view of its memory, valid during the import only. */
  write(stream: "stdout" | "stderr", bytes: Uint8Array): void;
  /** `count` zero bytes written to stdout or stderr (none are allocated before they are counted). */
  writeZeroes(stream: "stdout" | "stderr", count: number): void;
  /** A line from `runtime.log`. */
  log(level: "trace" | "debug" | "info" | "warn" | "error", message: string): void;
  /** The plugin asked for an env var it may not read (it gets none). */
  envRefused(name: string): void;
  /** The plugin tried something the host never allows (a socket, a DNS lookup). */
  refuse(what: string): void;
  /** May a `method` request go to scheme://authority? Asked when the plugin hands the request over, before any body is sent. */
  httpCheck(scheme: string, authority: string, method: string): HttpCheckAnswer;
  /** Sends a checked request (the body chunks move to the host); blocks this thread until the answer. */
  httpSend(checkId: number, req: HttpRequestMessage): HttpResponseMessage;
  /**
   * Asks to keep `n` more bytes of a request body whose size would become `total`. False when
   * that is over limits.max_request_bytes or the plugin's memory room (the call's verdict is then
   * recorded): the bytes are not copied.
   */
  takeBody(total: number, n: number): boolean;
  /** Asks to keep `n` bytes of header fields; false (verdict recorded) when the call's header budget is spent. */
  takeHeaders(n: number): boolean;
  /** The host no longer holds `n` bytes for the plugin (a body sent, response bytes read). */
  release(n: number): void;
  /** Bytes the call may still take: its memory cap, less its linear memory and what the host holds for it. */
  room(): number;
};

/** Thrown through the guest to end a call at once (e.g. `wasi:cli/exit`). Carries the reason and its kind. */
export class CallAborted extends Error {
  readonly kind: "internal" | "memory-limit";
  constructor(message: string, kind: "internal" | "memory-limit" = "internal") {
    super(message);
    this.kind = kind;
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepMs(ms: number): void {
  if (ms > 0) Atomics.wait(sleeper, 0, 0, ms);
}
const nowNs = (): bigint => process.hrtime.bigint();

class IoError {
  readonly message: string;
  readonly httpCode: HttpErrorCode | undefined;
  constructor(message: string, httpCode?: HttpErrorCode) {
    this.message = message;
    this.httpCode = httpCode;
  }
  toDebugString(): string {
    return this.message;
  }
}

/** A pollable: `check` says whether it is ready now; `untilNs` makes it a timer. */
class Pollable {
  readonly check: () => boolean;
  readonly untilNs: bigint | undefined;
  constructor(check: () => boolean, untilNs?: bigint) {
    this.check = check;
    this.untilNs = untilNs;
  }
  ready(): boolean {
    return this.check();
  }
  block(): void {
    if (this.check()) return;
    if (this.untilNs !== undefined) {
      sleepMs(Number(this.untilNs - nowNs()) / 1e6);
    }
  }
}
const readyPollable = () => new Pollable(() => true);

function poll(list: Pollable[]): Uint32Array {
  if (list.length === 0) throw new CallAborted("poll() was called with an empty list");
  for (;;) {
    const ready: number[] = [];
    list.forEach((p, i) => {
      if (p.check()) ready.push(i);
    });
    if (ready.length > 0) return new Uint32Array(ready);
    // Nothing is ready: everything left is a timer (HTTP futures are ready once asked).
    let next: bigint | undefined;
    for (const p of list) if (p.untilNs !== undefined && (next === undefined || p.untilNs < next)) next = p.untilNs;
    if (next === undefined) throw new CallAborted("poll() would wait forever");
    sleepMs(Number(next - nowNs()) / 1e6);
  }
}

/**
 * An input stream over bytes the host already holds (stdin: none; an HTTP response body, in the
 * chunks it arrived in). Each chunk is let go once read, and `consumed` says how much was.
 */
class InputStream {
  #chunks: Uint8Array[];
  #at = 0;
  #consumed: (n: number) => void;
  constructor(chunks: Uint8Array[], consumed: (n: number) => void = () => {}) {
    this.#chunks = chunks;
    this.#consumed = consumed;
  }
  read(len: bigint): Uint8Array {
    const chunk = this.#chunks[0];
    if (!chunk) throw { tag: "closed" };
    const n = Math.min(Number(len), chunk.length - this.#at);
    // A view: the glue copies it into the plugin's memory at once.
    const out = chunk.subarray(this.#at, this.#at + n);
    this.#at += n;
    if (this.#at >= chunk.length) {
      this.#chunks.shift();
      this.#at = 0;
    }
    this.#consumed(n);
    return out;
  }
  blockingRead(len: bigint): Uint8Array {
    return this.read(len);
  }
  skip(len: bigint): bigint {
    return BigInt(this.read(len).length);
  }
  blockingSkip(len: bigint): bigint {
    return this.skip(len);
  }
  subscribe(): Pollable {
    return readyPollable();
  }
}

/** Where an output stream's bytes go: `write` gets a view of the plugin's memory (copy what you keep). */
type StreamSink = { write(view: Uint8Array): void; zeroes(count: number): void; closed(): boolean };

/** Most bytes one write may carry (what `check-write` grants; WASI lets the host choose). */
const WRITE_PERMIT = 1048576n;

/** An output stream into a sink (stdout/stderr → the call's log; an HTTP request body). */
class OutputStream {
  #sink: StreamSink;
  constructor(sink: StreamSink) {
    this.#sink = sink;
  }
  checkWrite(): bigint {
    if (this.#sink.closed()) throw { tag: "closed" };
    return WRITE_PERMIT;
  }
  write(buf: Uint8Array): void {
    if (this.#sink.closed()) throw { tag: "closed" };
    this.#sink.write(buf);
  }
  blockingWriteAndFlush(buf: Uint8Array): void {
    this.write(buf);
  }
  flush(): void {
    if (this.#sink.closed()) throw { tag: "closed" };
  }
  blockingFlush(): void {
    this.flush();
  }
  writeZeroes(len: bigint): void {
    if (this.#sink.closed()) throw { tag: "closed" };
    this.#sink.zeroes(Number(len));
  }
  blockingWriteZeroesAndFlush(len: bigint): void {
    this.writeZeroes(len);
  }
  splice(src: InputStream, len: bigint): bigint {
    const data = src.read(len);
    this.write(data);
    return BigInt(data.length);
  }
  blockingSplice(src: InputStream, len: bigint): bigint {
    return this.splice(src, len);
  }
  subscribe(): Pollable {
    return readyPollable();
  }
}

// ---- wasi:http ----------------------------------------------------------------------------

/**
 * Request headers a plugin may not set (wasi:http `forbidden`): the host sets them itself, or they
 * would let a plugin tamper with the connection. The main thread drops them again before sending.
 */
export const FORBIDDEN_HEADERS: ReadonlySet<string> = new Set([
  "host",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "proxy-connection",
]);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Header fields. Values a plugin passes arrive as views of its memory (see the file comment):
 * each is counted against the call's header budget, then copied.
 */
class Fields {
  #entries: [string, Uint8Array][] = [];
  #immutable = false;
  /** Set by {@link createImports}: the running call's header budget. */
  static take: (n: number) => boolean = () => true;
  static fromList(entries: [string, Uint8Array][]): Fields {
    const f = new Fields();
    for (const [k, v] of entries) f.append(k, v);
    return f;
  }
  static lock(f: Fields): Fields {
    f.#immutable = true;
    return f;
  }
  static fromStrings(entries: [string, string][]): Fields {
    const f = new Fields();
    const enc = new TextEncoder();
    f.#entries = entries.map(([k, v]) => [k, enc.encode(v)]);
    f.#immutable = true;
    return f;
  }
  #check(name: string, values: Uint8Array[]): void {
    if (this.#immutable) throw { tag: "immutable" };
    if (!TOKEN.test(name)) throw { tag: "invalid-syntax" };
    for (const v of values) if (v.includes(10) || v.includes(13) || v.includes(0)) throw { tag: "invalid-syntax" };
    if (FORBIDDEN_HEADERS.has(name.toLowerCase())) throw { tag: "forbidden" };
  }
  get(name: string): Uint8Array[] {
    const n = name.toLowerCase();
    return this.#entries.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v);
  }
  has(name: string): boolean {
    return this.get(name).length > 0;
  }
  #keep(name: string, value: Uint8Array): Uint8Array {
    if (!Fields.take(name.length + value.length)) throw { tag: "forbidden" };
    return value.slice();
  }
  set(name: string, values: Uint8Array[]): void {
    this.#check(name, values);
    const n = name.toLowerCase();
    const kept = values.map((v) => this.#keep(name, v));
    this.#entries = this.#entries.filter(([k]) => k.toLowerCase() !== n);
    for (const v of kept) this.#entries.push([name, v]);
  }
  delete(name: string): void {
    this.#check(name, []);
    const n = name.toLowerCase();
    this.#entries = this.#entries.filter(([k]) => k.toLowerCase() !== n);
  }
  append(name: string, value: Uint8Array): void {
    this.#check(name, [value]);
    this.#entries.push([name, this.#keep(name, value)]);
  }
  entries(): [string, Uint8Array][] {
    return this.#entries.map(([k, v]) => [k, v]);
  }
  clone(): Fields {
    const f = new Fields();
    // Shares the (immutable) value buffers; only the list is new, counted like new fields.
    if (!Fields.take(this.#entries.reduce((n, [k, v]) => n + k.length + v.length, 0))) throw { tag: "forbidden" };
    f.#entries = this.entries();
    return f;
  }
}

type Variant = { tag: string; val?: string };

/**
 * A request body being written. Each write is counted (CallContext.takeBody) before it is copied;
 * the chunks move to the host when the request is sent. Refused once the host denied the request
 * or a limit was hit, and once it was sent.
 */
class OutgoingBody {
  chunks: Uint8Array[] = [];
  bytes = 0;
  finished = false;
  /** No more writes: the request was refused, went over a limit, or was sent. */
  shut = false;
  /** A write went over a limit: the request must not be sent with part of its body. */
  overLimit = false;
  #streamTaken = false;
  #ctx: () => CallContext;
  constructor(ctx: () => CallContext) {
    this.#ctx = ctx;
  }
  #take(n: number): boolean {
    if (this.shut) return false;
    if (this.#ctx().takeBody(this.bytes + n, n)) return true;
    this.shut = true;
    this.overLimit = true;
    return false;
  }
  write(): OutputStream {
    if (this.#streamTaken) throw undefined;
    this.#streamTaken = true;
    const refused = () => ({ tag: "last-operation-failed", val: new IoError("the host refused the request body") });
    return new OutputStream({
      write: (view) => {
        if (!this.#take(view.length)) throw refused();
        this.chunks.push(view.slice());
        this.bytes += view.length;
      },
      zeroes: (count) => {
        if (!this.#take(count)) throw refused();
        this.chunks.push(new Uint8Array(count));
        this.bytes += count;
      },
      closed: () => this.finished || this.shut,
    });
  }
  /** Hands the chunks over (they move to the host) and refuses further writes. */
  takeChunks(): Uint8Array[] {
    const out = this.chunks;
    this.chunks = [];
    this.shut = true;
    return out;
  }
  static finish(body: OutgoingBody, trailers: Fields | undefined): void {
    if (trailers) throw { tag: "internal-error", val: "request trailers are not supported" };
    body.finished = true;
  }
}

class OutgoingRequest {
  headersField: Fields;
  methodValue: Variant = { tag: "get" };
  schemeValue: Variant | undefined;
  authorityValue: string | undefined;
  pathValue: string | undefined;
  bodyValue: OutgoingBody;
  #bodyTaken = false;
  /** Set by {@link createImports}: the running call's context, for the body's accounting. */
  static ctx: () => CallContext;
  constructor(headers: Fields) {
    this.headersField = Fields.lock(headers);
    this.bodyValue = new OutgoingBody(OutgoingRequest.ctx);
  }
  body(): OutgoingBody {
    if (this.#bodyTaken) throw undefined;
    this.#bodyTaken = true;
    return this.bodyValue;
  }
  method(): Variant {
    return this.methodValue;
  }
  setMethod(m: Variant): void {
    if (m.tag === "other" && !TOKEN.test(m.val ?? "")) throw undefined;
    this.methodValue = m;
  }
  pathWithQuery(): string | undefined {
    return this.pathValue;
  }
  setPathWithQuery(p: string | undefined): void {
    if (p !== undefined && /[\s\0]/.test(p)) throw undefined;
    this.pathValue = p;
  }
  scheme(): Variant | undefined {
    return this.schemeValue;
  }
  setScheme(s: Variant | undefined): void {
    this.schemeValue = s;
  }
  authority(): string | undefined {
    return this.authorityValue;
  }
  setAuthority(a: string | undefined): void {
    if (a !== undefined && /[\s\0/@?#]/.test(a)) throw undefined;
    this.authorityValue = a;
  }
  headers(): Fields {
    return this.headersField;
  }
}

class RequestOptions {
  #connect: bigint | undefined;
  #firstByte: bigint | undefined;
  #between: bigint | undefined;
  connectTimeout(): bigint | undefined {
    return this.#connect;
  }
  setConnectTimeout(d: bigint | undefined): void {
    this.#connect = d;
  }
  firstByteTimeout(): bigint | undefined {
    return this.#firstByte;
  }
  setFirstByteTimeout(d: bigint | undefined): void {
    this.#firstByte = d;
  }
  betweenBytesTimeout(): bigint | undefined {
    return this.#between;
  }
  setBetweenBytesTimeout(d: bigint | undefined): void {
    this.#between = d;
  }
}

class FutureTrailers {
  #taken = false;
  subscribe(): Pollable {
    return readyPollable();
  }
  get(): unknown {
    if (this.#taken) return { tag: "err", val: undefined };
    this.#taken = true;
    return { tag: "ok", val: { tag: "ok", val: undefined } };
  }
}

class IncomingBody {
  #chunks: Uint8Array[];
  #consumed: (n: number) => void;
  #taken = false;
  constructor(chunks: Uint8Array[], consumed: (n: number) => void) {
    this.#chunks = chunks;
    this.#consumed = consumed;
  }
  stream(): InputStream {
    if (this.#taken) throw undefined;
    this.#taken = true;
    return new InputStream(this.#chunks, this.#consumed);
  }
  static finish(_body: IncomingBody): FutureTrailers {
    return new FutureTrailers();
  }
}

class IncomingResponse {
  #status: number;
  #headers: Fields;
  #body: IncomingBody | undefined;
  constructor(status: number, headers: [string, string][], body: Uint8Array[], consumed: (n: number) => void) {
    this.#status = status;
    this.#headers = Fields.fromStrings(headers);
    this.#body = new IncomingBody(body, consumed);
  }
  status(): number {
    return this.#status;
  }
  headers(): Fields {
    return this.#headers;
  }
  consume(): IncomingBody {
    const b = this.#body;
    if (!b) throw undefined;
    this.#body = undefined;
    return b;
  }
}

class FutureIncomingResponse {
  #send: () => HttpResponseMessage;
  #answer: HttpResponseMessage | undefined;
  #taken = false;
  #consumed: (n: number) => void;
  constructor(send: () => HttpResponseMessage, consumed: (n: number) => void) {
    this.#send = send;
    this.#consumed = consumed;
  }
  /** The request goes out when the plugin first waits for the answer (its body is complete then). */
  #resolve(): HttpResponseMessage {
    this.#answer ??= this.#send();
    return this.#answer;
  }
  subscribe(): Pollable {
    return new Pollable(() => {
      this.#resolve();
      return true;
    });
  }
  get(): unknown {
    if (this.#taken) return { tag: "err", val: undefined };
    const a = this.#resolve();
    this.#taken = true;
    if (!a.ok) return { tag: "ok", val: { tag: "err", val: a.error } };
    return { tag: "ok", val: { tag: "ok", val: new IncomingResponse(a.status, a.headers, a.body, this.#consumed) } };
  }
}

/** Classes of a server-side (incoming) HTTP handler; the plugin world never receives requests. */
class IncomingRequest {}
class OutgoingResponse {}
class ResponseOutparam {}

// ---- wasi:sockets (refused) ---------------------------------------------------------------

class Network {}
class TcpSocket {}
class UdpSocket {}
class IncomingDatagramStream {}
class OutgoingDatagramStream {}
class ResolveAddressStream {}

// ---- wasi:filesystem (no preopens: no descriptor can ever exist) ---------------------------

class Descriptor {}
class DirectoryEntryStream {}

class TerminalInput {}
class TerminalOutput {}

/**
 * Builds the import object for one worker. `current()` returns the running call's context; it is
 * only consulted while a call runs (instantiation itself calls no import).
 */
export function createImports(current: () => CallContext): Record<string, Record<string, unknown>> {
  const ctx = (): CallContext => {
    const c = current();
    if (!c) throw new CallAborted("the plugin called the host outside a call");
    return c;
  };
  const decoder = new TextDecoder("latin1");
  const schemeName = (s: Variant | undefined): string =>
    s === undefined ? "https" : s.tag === "HTTP" ? "http" : s.tag === "HTTPS" ? "https" : (s.val ?? "").toLowerCase();

  const refuse = (what: string) => {
    ctx().refuse(what);
    throw "access-denied";
  };
  Fields.take = (n) => ctx().takeHeaders(n);
  OutgoingRequest.ctx = ctx;
  const stdio = (stream: "stdout" | "stderr") =>
    new OutputStream({
      write: (view) => ctx().write(stream, view),
      zeroes: (count) => ctx().writeZeroes(stream, count),
      closed: () => false,
    });
  /** Random bytes the plugin asked for: checked against its memory room before anything is allocated. */
  const randomBytes = (len: bigint): Uint8Array => {
    const n = Number(len);
    if (n > ctx().room()) {
      throw new CallAborted(`the plugin asked for ${n} random bytes, more than its memory can take`, "memory-limit");
    }
    const out = new Uint8Array(n);
    // getRandomValues fills at most 64 KiB at a time.
    for (let at = 0; at < n; at += 65536) crypto.getRandomValues(out.subarray(at, Math.min(n, at + 65536)));
    return out;
  };

  return {
    "databook:plugin/runtime": {
      log: (level: "trace" | "debug" | "info" | "warn" | "error", message: string) => ctx().log(level, message),
      getEnv: (name: string) => {
        const c = ctx();
        const hit = c.env.find(([k]) => k === name);
        if (!hit) c.envRefused(name);
        return hit?.[1];
      },
    },
    "wasi:cli/environment": {
      getEnvironment: () => ctx().env.map(([k, v]) => [k, v]),
      getArguments: () => [],
      initialCwd: () => undefined,
    },
    "wasi:cli/exit": {
      exit: (status: { tag: string }) => {
        throw new CallAborted(`the plugin called exit(${status.tag === "ok" ? 0 : 1}) instead of returning a result`);
      },
      exitWithCode: (code: number) => {
        throw new CallAborted(`the plugin called exit(${code}) instead of returning a result`);
      },
    },
    "wasi:cli/stdin": { getStdin: () => new InputStream([]) },
    "wasi:cli/stdout": { getStdout: () => stdio("stdout") },
    "wasi:cli/stderr": { getStderr: () => stdio("stderr") },
    "wasi:cli/terminal-input": { TerminalInput },
    "wasi:cli/terminal-output": { TerminalOutput },
    "wasi:cli/terminal-stdin": { getTerminalStdin: () => undefined },
    "wasi:cli/terminal-stdout": { getTerminalStdout: () => undefined },
    "wasi:cli/terminal-stderr": { getTerminalStderr: () => undefined },
    "wasi:clocks/monotonic-clock": {
      now: nowNs,
      resolution: () => 1n,
      subscribeInstant: (when: bigint) => new Pollable(() => nowNs() >= when, when),
      subscribeDuration: (d: bigint) => {
        const until = nowNs() + d;
        return new Pollable(() => nowNs() >= until, until);
      },
    },
    "wasi:clocks/wall-clock": {
      now: () => {
        const ms = Date.now();
        return { seconds: BigInt(Math.floor(ms / 1000)), nanoseconds: (ms % 1000) * 1e6 };
      },
      resolution: () => ({ seconds: 0n, nanoseconds: 1e6 }),
    },
    "wasi:filesystem/preopens": { getDirectories: () => [] },
    "wasi:filesystem/types": { Descriptor, DirectoryEntryStream, filesystemErrorCode: () => undefined },
    "wasi:io/error": { Error: IoError },
    "wasi:io/poll": { Pollable, poll },
    "wasi:io/streams": { InputStream, OutputStream },
    "wasi:random/random": {
      getRandomBytes: randomBytes,
      getRandomU64: () => crypto.getRandomValues(new BigUint64Array(1))[0]!,
    },
    "wasi:random/insecure": {
      getInsecureRandomBytes: randomBytes,
      getInsecureRandomU64: () => crypto.getRandomValues(new BigUint64Array(1))[0]!,
    },
    "wasi:random/insecure-seed": {
      insecureSeed: () => {
        const a = crypto.getRandomValues(new BigUint64Array(2));
        return [a[0]!, a[1]!];
      },
    },
    "wasi:sockets/network": { Network },
    "wasi:sockets/instance-network": { instanceNetwork: () => new Network() },
    "wasi:sockets/tcp-create-socket": { createTcpSocket: () => refuse("open a TCP socket") },
    "wasi:sockets/udp-create-socket": { createUdpSocket: () => refuse("open a UDP socket") },
    "wasi:sockets/tcp": { TcpSocket },
    "wasi:sockets/udp": { UdpSocket, IncomingDatagramStream, OutgoingDatagramStream },
    "wasi:sockets/ip-name-lookup": { ResolveAddressStream, resolveAddresses: () => refuse("resolve a host name") },
    "wasi:http/types": {
      Fields,
      FutureIncomingResponse,
      FutureTrailers,
      IncomingBody,
      IncomingRequest,
      IncomingResponse,
      OutgoingBody,
      OutgoingRequest,
      OutgoingResponse,
      RequestOptions,
      ResponseOutparam,
      httpErrorCode: (err: IoError) => err?.httpCode,
    },
    "wasi:http/outgoing-handler": {
      handle: (req: OutgoingRequest, _options: RequestOptions | undefined) => {
        const c = ctx();
        if (req.authorityValue === undefined || req.authorityValue === "") throw { tag: "HTTP-request-URI-invalid" };
        const body = req.bodyValue;
        const method =
          req.methodValue.tag === "other" ? (req.methodValue.val ?? "GET") : req.methodValue.tag.toUpperCase();
        // The allow-list (and, for a read-only call, the method) is checked now, before the body
        // is sent (or, for a plugin that writes it after handing the request over, even
        // written): a refused request takes no body.
        const check = c.httpCheck(schemeName(req.schemeValue), req.authorityValue, method);
        if (!check.ok) {
          c.release(body.bytes);
          body.takeChunks();
          throw check.error;
        }
        const send = (): HttpResponseMessage => {
          const chunks = body.takeChunks();
          c.release(body.bytes);
          // Part of a body is not the request the plugin meant: it is not sent at all.
          if (body.overLimit) return { ok: false, error: { tag: "HTTP-request-body-size", val: BigInt(body.bytes) } };
          return c.httpSend(check.checkId, {
            method,
            scheme: schemeName(req.schemeValue),
            authority: req.authorityValue ?? "",
            pathWithQuery: req.pathValue ?? "/",
            headers: req.headersField.entries().map(([k, v]) => [k, decoder.decode(v)]),
            body: chunks,
          });
        };
        return new FutureIncomingResponse(send, (n) => c.release(n));
      },
    },
  };
}
