export * from "./api.ts";
export * from "./close-codes.ts";
export * from "./content-types.ts";
export * from "./errors.ts";
export * from "./ydoc.ts";
