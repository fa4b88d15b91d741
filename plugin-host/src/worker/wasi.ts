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
 */

/** WASI HTTP `error-code` variant, as jco represents it. */
export type HttpErrorCode = { tag: string; val?: unknown };

/** One outbound HTTP request as the worker hands it to the main thread. */
export type HttpRequestMessage = {
  method: string;
  scheme: string;
  authority: string;
  pathWithQuery: string;
  headers: [string, string][];
  body: Uint8Array | null;
};

/** The main thread's answer: a fully read response, or a WASI HTTP error code. */
export type HttpResponseMessage =
  | { ok: true; status: number; headers: [string, string][]; body: Uint8Array }
  | { ok: false; error: HttpErrorCode };

/** What the imports need from the call in progress. */
export type CallContext = {
  /** Allowed env vars that are set, in config order. */
  env: [string, string][];
  /** Bytes the plugin wrote to stdout or stderr. */
  write(stream: "stdout" | "stderr", bytes: Uint8Array): void;
  /** A line from `runtime.log`. */
  log(level: "trace" | "debug" | "info" | "warn" | "error", message: string): void;
  /** The plugin asked for an env var it may not read (it gets none). */
  envRefused(name: string): void;
  /** Sends one request through the main thread; blocks this thread until the answer. */
  http(req: HttpRequestMessage): HttpResponseMessage;
  /** The plugin tried something the host never allows (a socket, a DNS lookup). */
  refuse(what: string): void;
};

/** Thrown through the guest to end a call at once (e.g. `wasi:cli/exit`). Carries the reason. */
export class CallAborted extends Error {
  readonly kind: "internal";
  constructor(message: string) {
    super(message);
    this.kind = "internal";
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

/** An input stream over bytes already in memory (stdin: none; an HTTP response body). */
class InputStream {
  #data: Uint8Array;
  #at = 0;
  constructor(data: Uint8Array) {
    this.#data = data;
  }
  read(len: bigint): Uint8Array {
    if (this.#at >= this.#data.length) throw { tag: "closed" };
    const n = Math.min(Number(len), this.#data.length - this.#at);
    const out = this.#data.slice(this.#at, this.#at + n);
    this.#at += n;
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

/** An output stream into a sink (stdout/stderr → the call's log; an HTTP request body). */
class OutputStream {
  #sink: (bytes: Uint8Array) => void;
  #closed: () => boolean;
  constructor(sink: (bytes: Uint8Array) => void, closed: () => boolean = () => false) {
    this.#sink = sink;
    this.#closed = closed;
  }
  checkWrite(): bigint {
    if (this.#closed()) throw { tag: "closed" };
    return 1048576n;
  }
  write(buf: Uint8Array): void {
    if (this.#closed()) throw { tag: "closed" };
    this.#sink(buf.slice());
  }
  blockingWriteAndFlush(buf: Uint8Array): void {
    this.write(buf);
  }
  flush(): void {
    if (this.#closed()) throw { tag: "closed" };
  }
  blockingFlush(): void {
    this.flush();
  }
  writeZeroes(len: bigint): void {
    this.write(new Uint8Array(Number(len)));
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

class Fields {
  #entries: [string, Uint8Array][] = [];
  #immutable = false;
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
  set(name: string, values: Uint8Array[]): void {
    this.#check(name, values);
    const n = name.toLowerCase();
    this.#entries = this.#entries.filter(([k]) => k.toLowerCase() !== n);
    for (const v of values) this.#entries.push([name, v]);
  }
  delete(name: string): void {
    this.#check(name, []);
    const n = name.toLowerCase();
    this.#entries = this.#entries.filter(([k]) => k.toLowerCase() !== n);
  }
  append(name: string, value: Uint8Array): void {
    this.#check(name, [value]);
    this.#entries.push([name, value]);
  }
  entries(): [string, Uint8Array][] {
    return this.#entries.map(([k, v]) => [k, v]);
  }
  clone(): Fields {
    const f = new Fields();
    f.#entries = this.entries();
    return f;
  }
}

type Variant = { tag: string; val?: string };

class OutgoingBody {
  chunks: Uint8Array[] = [];
  finished = false;
  #streamTaken = false;
  write(): OutputStream {
    if (this.#streamTaken) throw undefined;
    this.#streamTaken = true;
    return new OutputStream(
      (b) => this.chunks.push(b),
      () => this.finished,
    );
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
  bodyValue = new OutgoingBody();
  #bodyTaken = false;
  constructor(headers: Fields) {
    this.headersField = Fields.lock(headers);
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
  #data: Uint8Array;
  #taken = false;
  constructor(data: Uint8Array) {
    this.#data = data;
  }
  stream(): InputStream {
    if (this.#taken) throw undefined;
    this.#taken = true;
    return new InputStream(this.#data);
  }
  static finish(_body: IncomingBody): FutureTrailers {
    return new FutureTrailers();
  }
}

class IncomingResponse {
  #status: number;
  #headers: Fields;
  #body: IncomingBody | undefined;
  constructor(status: number, headers: [string, string][], body: Uint8Array) {
    this.#status = status;
    this.#headers = Fields.fromStrings(headers);
    this.#body = new IncomingBody(body);
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
  constructor(send: () => HttpResponseMessage) {
    this.#send = send;
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
    return { tag: "ok", val: { tag: "ok", val: new IncomingResponse(a.status, a.headers, a.body) } };
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
    "wasi:cli/stdin": { getStdin: () => new InputStream(new Uint8Array(0)) },
    "wasi:cli/stdout": { getStdout: () => new OutputStream((b) => ctx().write("stdout", b)) },
    "wasi:cli/stderr": { getStderr: () => new OutputStream((b) => ctx().write("stderr", b)) },
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
      getRandomBytes: (len: bigint) => crypto.getRandomValues(new Uint8Array(Number(len))),
      getRandomU64: () => crypto.getRandomValues(new BigUint64Array(1))[0]!,
    },
    "wasi:random/insecure": {
      getInsecureRandomBytes: (len: bigint) => crypto.getRandomValues(new Uint8Array(Number(len))),
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
        const message = (): HttpRequestMessage => {
          const body = req.bodyValue.chunks;
          let joined: Uint8Array | null = null;
          if (body.length > 0) {
            joined = new Uint8Array(body.reduce((n, b) => n + b.length, 0));
            let at = 0;
            for (const b of body) {
              joined.set(b, at);
              at += b.length;
            }
          }
          return {
            method:
              req.methodValue.tag === "other" ? (req.methodValue.val ?? "GET") : req.methodValue.tag.toUpperCase(),
            scheme: schemeName(req.schemeValue),
            authority: req.authorityValue ?? "",
            pathWithQuery: req.pathValue ?? "/",
            headers: req.headersField.entries().map(([k, v]) => [k, decoder.decode(v)]),
            body: joined,
          };
        };
        return new FutureIncomingResponse(() => c.http(message()));
      },
    },
  };
}
