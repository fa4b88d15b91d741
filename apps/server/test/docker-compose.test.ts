import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { authSettingsFromEnv } from "../src/auth/config.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const compose = parse(readFileSync(join(ROOT, "docker-compose.yml"), "utf8"));

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
    let checked = 0;
    for (const [name, svc] of Object.entries<any>(compose.services)) {
      if (svc.build) {
        const ctx = join(ROOT, svc.build.context ?? svc.build);
        assert.ok(existsSync(ctx), `${name}: build context ${ctx}`);
        assert.ok(existsSync(join(ctx, svc.build.dockerfile ?? "Dockerfile")), `${name}: Dockerfile`);
        checked++;
      }
      for (const v of svc.volumes ?? []) {
        const src = String(v).split(":")[0]!;
        if (!src.startsWith(".") && !src.startsWith("/")) {
          assert.ok(src in (compose.volumes ?? {}), `${name}: named volume ${src} is declared`);
          continue;
        }
        assert.ok(existsSync(join(ROOT, src)), `${name}: bind mount ${src} exists`);
        checked++;
      }
    }
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
