export * from "./api.ts";
export * from "./close-codes.ts";
export * from "./content-types.ts";
export * from "./errors.ts";
export * from "./presence.ts";
export * from "./principal.ts";
export * from "./scopes.ts";
export * from "./ydoc.ts";
