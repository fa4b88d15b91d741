// A client-only app: the server (apps/server) serves the static build and owns all data.
export const ssr = false;
export const prerender = false;
