/**
 * How the tests and the web benchmark launch Debian's Chromium (package `chromium`): its path
 * (`DATABOOK_CHROMIUM` overrides it) and flags for a machine whose only network is loopback —
 * without the background-networking flags Chromium keeps trying to reach outside hosts.
 */
export const CHROMIUM_PATH = process.env.DATABOOK_CHROMIUM ?? "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
