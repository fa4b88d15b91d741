import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { authSettingsFromEnv } from "../src/auth/config.ts";
import { clusterRedisUrl } from "../src/server.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const compose = parse(readFileSync(join(ROOT, "docker-compose.yml"), "utf8"));

/**
 * Asserts that every build context, Dockerfile and bind mount of a parsed compose file exists in
 * the repository and every named volume is declared; returns how many files it checked.
 */
function referencedFilesExist(file: any): number {
  let checked = 0;
  for (const [name, svc] of Object.entries<any>(file.services)) {
    if (svc.build) {
      const ctx = join(ROOT, svc.build.context ?? svc.build);
      assert.ok(existsSync(ctx), `${name}: build context ${ctx}`);
      assert.ok(existsSync(join(ctx, svc.build.dockerfile ?? "Dockerfile")), `${name}: Dockerfile`);
      checked++;
    }
    for (const v of svc.volumes ?? []) {
      const src = String(v).split(":")[0]!;
      if (!src.startsWith(".") && !src.startsWith("/")) {
        assert.ok(src in (file.volumes ?? {}), `${name}: named volume ${src} is declared`);
        continue;
      }
      assert.ok(existsSync(join(ROOT, src)), `${name}: bind mount ${src} exists`);
      checked++;
    }
    for (const p of svc.ports ?? []) assert.match(p, /^127\.0\.0\.1:/, `${name}: ports are published on loopback only`);
  }
  return checked;
}

describe("docker-compose.yml", () => {
  it("wires Databook, Prometheus and Alertmanager together", () => {
    assert.deepEqual(Object.keys(compose.services).sort(), ["alertmanager", "databook", "prometheus"]);
    const db = compose.services.databook;
    assert.equal(db.environment.PROMETHEUS_URL, "http://prometheus:9090");
    assert.equal(db.environment.ALERTMANAGER_URL, "http://alertmanager:9093");
    const prom = parse(readFileSync(join(ROOT, "deploy/prometheus.yml"), "utf8"));
    const targets = prom.scrape_configs.flatMap((s: any) => s.static_configs.flatMap((c: any) => c.targets));
    assert.ok(targets.includes("databook:8080"), "Prometheus scrapes Databook");
    assert.deepEqual(prom.alerting.alertmanagers[0].static_configs[0].targets, ["alertmanager:9093"]);
    for (const svc of Object.values<any>(compose.services)) {
      for (const p of svc.ports ?? []) assert.match(p, /^127\.0\.0\.1:/, "ports are published on loopback only");
    }
    // Prometheus reads /metrics from another container: with the scrape token both services get
    const job = prom.scrape_configs.find((j: any) => j.job_name === "databook");
    assert.equal(job.authorization.credentials_file, "/run/secrets/databook_metrics_token");
    assert.equal(db.environment.DATABOOK_METRICS_TOKEN_FILE, "/run/secrets/databook_metrics_token");
    assert.ok(
      db.secrets.includes("databook_metrics_token") &&
        compose.services.prometheus.secrets.includes("databook_metrics_token"),
    );
    assert.equal(compose.secrets.databook_metrics_token.environment, "DATABOOK_METRICS_TOKEN");
  });

  it("sets the public URL, allowed hosts and every OpenID Connect variable, and starts with its defaults", () => {
    const env: Record<string, string> = compose.services.databook.environment;
    const configSource = readFileSync(join(ROOT, "apps/server/src/auth/config.ts"), "utf8");
    const read = new Set([...configSource.matchAll(/DATABOOK_OIDC_[A-Z_]+/g)].map((m) => m[0]));
    for (const name of [...read, "DATABOOK_PUBLIC_URL", "DATABOOK_ALLOWED_HOSTS", "DATABOOK_LOCAL_SIGNIN"])
      assert.ok(name in env, `${name} is set for the databook service`);
    // ${VAR:-default} as Compose fills it in when VAR is not set
    // (files under /run/secrets exist only inside the container)
    const defaults = Object.fromEntries(
      Object.entries(env)
        .filter(([k]) => !k.endsWith("_FILE"))
        .map(([k, v]) => [k, String(v).replace(/\$\{\w+:-([^}]*)\}/g, "$1")]),
    );
    const settings = authSettingsFromEnv(defaults);
    assert.equal(settings.oidc, undefined, "single sign-on is off until an issuer is given");
    assert.equal(settings.localSignIn, true);
    assert.equal(settings.publicUrl?.href, "http://127.0.0.1:8080/");
    const withIssuer = authSettingsFromEnv({
      ...defaults,
      DATABOOK_OIDC_ISSUER: "https://sso.example.com",
      DATABOOK_OIDC_CLIENT_ID: "databook",
    });
    assert.deepEqual(
      [withIssuer.oidc?.label, withIssuer.oidc?.groupsClaim, withIssuer.oidc?.scopes],
      ["sso.example.com", "groups", ["openid", "profile", "email", "groups"]],
      "empty variables mean the documented defaults",
    );
  });

  it("references only files that exist", () => {
    const checked = referencedFilesExist(compose);
    const prom = parse(readFileSync(join(ROOT, "deploy/prometheus.yml"), "utf8"));
    for (const rf of prom.rule_files) {
      const mount = compose.services.prometheus.volumes.find((v: string) => v.split(":")[1] === rf);
      assert.ok(mount, `rule file ${rf} is mounted`);
    }
    assert.ok(checked >= 4);
  });

  it("builds with the README's own install and run steps", () => {
    const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
    assert.match(
      dockerfile,
      /^RUN bash scripts\/setup\.sh$/m,
      "installs and builds with scripts/setup.sh, as npm start does",
    );
    assert.match(dockerfile, /^CMD \["node", "apps\/server\/bin\/databook\.js", "serve"/m);
    assert.ok(existsSync(join(ROOT, "scripts/setup.sh")));
    for (const m of dockerfile.matchAll(/^COPY (\S+) /gm))
      assert.ok(existsSync(join(ROOT, m[1]!)), `COPY source ${m[1]}`);
  });
});

/**
 * A compose value as Compose fills it in (`${VAR}`, `${VAR:-default}`, `${VAR:?error}`) from
 * `vars`; an unset `${VAR:?…}` throws, as `docker compose up` refuses to start.
 */
function interpolate(value: unknown, vars: Record<string, string>): string {
  return String(value).replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_m, name: string, op?: string, arg?: string) => {
    const v = vars[name];
    if (v !== undefined && v !== "") return v;
    if (op === "?") throw new Error(`${name} is not set: ${arg}`);
    return op === "-" ? (arg ?? "") : "";
  });
}

describe("docker-compose.cluster.yml", () => {
  // `<<: *anchor` merge keys, as Compose reads them
  const cluster = parse(readFileSync(join(ROOT, "docker-compose.cluster.yml"), "utf8"), { merge: true });
  const nodes = ["databook-a", "databook-b"];
  const vars = { POSTGRES_PASSWORD: "pgsecret", REDIS_PASSWORD: "redissecret" };
  const envOf = (name: string) =>
    Object.fromEntries(
      Object.entries<string>(cluster.services[name].environment).map(([k, v]) => [k, interpolate(v, vars)]),
    );

  it("runs two Databook nodes, PostgreSQL, Redis and a balancer, only the balancer published", () => {
    assert.deepEqual(Object.keys(cluster.services).sort(), ["balancer", ...nodes, "postgres", "redis"]);
    for (const [name, svc] of Object.entries<any>(cluster.services))
      if (name !== "balancer") assert.equal(svc.ports, undefined, `${name} is reached through the balancer only`);
    assert.deepEqual(cluster.services.balancer.ports, ["127.0.0.1:8080:8080"]);
    assert.deepEqual([...cluster.services.balancer.depends_on].sort(), nodes);
    assert.ok(referencedFilesExist(cluster) >= 3);
    // no password, no start: the file never falls back to a default one
    assert.throws(
      () => interpolate(cluster.services["databook-a"].environment.DATABOOK_DATABASE_URL, {}),
      /POSTGRES_PASSWORD/,
    );
  });

  it("gives every node the same database, Redis and signing key secret, and they start in cluster mode", () => {
    const [a, b] = nodes.map(envOf) as [Record<string, string>, Record<string, string>];
    assert.deepEqual(a, b, "both nodes are configured alike");
    // the server's own checks: cluster mode needs PostgreSQL and a signing key file
    assert.equal(clusterRedisUrl(a), "redis://:redissecret@redis:6379");
    const db = new URL(a.DATABOOK_DATABASE_URL!);
    const pg = cluster.services.postgres.environment;
    assert.deepEqual(
      [db.protocol, db.hostname, db.port, db.username, db.password, db.pathname],
      ["postgres:", "postgres", "5432", pg.POSTGRES_USER, "pgsecret", `/${pg.POSTGRES_DB}`],
    );
    assert.equal(interpolate(pg.POSTGRES_PASSWORD, vars), "pgsecret");
    assert.match(pg.POSTGRES_INITDB_ARGS, /--encoding=UTF8/);
    assert.match(pg.POSTGRES_INITDB_ARGS, /--locale=C\.UTF-8/);
    assert.equal(a.DATABOOK_SIGNING_KEY_FILE, "/run/secrets/databook_signing_key");
    for (const n of nodes) assert.deepEqual(cluster.services[n].secrets, ["databook_signing_key"]);
    assert.equal(cluster.secrets.databook_signing_key.environment, "DATABOOK_SIGNING_KEY");
    // pages open the balancer's address; the nodes trust it as the one proxy hop
    assert.equal(authSettingsFromEnv(a).publicUrl?.href, "http://127.0.0.1:8080/");
    assert.equal(a.DATABOOK_TRUST_PROXY, "1");
    for (const n of nodes) {
      const deps = cluster.services[n].depends_on;
      assert.equal(deps.postgres.condition, "service_healthy");
      assert.equal(deps.redis.condition, "service_healthy");
      const probe = cluster.services[n].healthcheck.test;
      assert.ok(
        probe.every((a: unknown) => typeof a === "string"),
        "the probe is a list of strings (YAML quoting)",
      );
      assert.match(probe.join(" "), /fetch\('http:\/\/127\.0\.0\.1:8080\/readyz'\)/);
      assert.doesNotThrow(() => new Function(probe.at(-1)), "node -e gets JavaScript that parses");
    }
  });

  it("runs Redis 7 or later with noeviction and the password the nodes use", () => {
    const redis = cluster.services.redis;
    const [, major] = /^redis:(\d+)/.exec(redis.image) ?? [];
    assert.ok(Number(major) >= 7, `${redis.image}: the bus needs Redis 7.0 or later`);
    const args = redis.command.map((c: string) => interpolate(c, vars));
    assert.equal(args[args.indexOf("--maxmemory-policy") + 1], "noeviction");
    assert.equal(args[args.indexOf("--requirepass") + 1], "redissecret");
    assert.match(cluster.services.postgres.image, /^postgres:15-/);
  });

  it("balances over both nodes with /readyz as the health check, WebSockets kept open", () => {
    const mount = cluster.services.balancer.volumes.find((v: string) => v.includes("haproxy.cfg"));
    assert.equal(mount, "./deploy/haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro");
    assert.match(cluster.services.balancer.image, /^haproxy:\d/);
    const cfg = readFileSync(join(ROOT, "deploy/haproxy/haproxy.cfg"), "utf8");
    const lines = cfg.split("\n").map((l) => l.replace(/#.*$/, "").trim());
    const servers = lines.filter((l) => l.startsWith("server ")).map((l) => l.split(/\s+/));
    assert.deepEqual(
      servers.map((s) => [s[2], s.includes("check")]),
      nodes.map((n) => [`${n}:8080`, true]),
      "every node, health-checked",
    );
    assert.ok(lines.includes("option httpchk"));
    assert.ok(
      lines.some((l) => /^http-check send meth GET uri \/readyz\b/.test(l)),
      "the check is GET /readyz",
    );
    assert.ok(lines.includes("http-check expect status 200"));
    assert.ok(lines.includes("bind :8080"));
    assert.ok(
      lines.some((l) => /^timeout tunnel \d+[hm]$/.test(l)),
      "WebSockets outlive the HTTP timeouts",
    );
    assert.ok(lines.includes("mode http"));
  });
});
