import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { httpError } from "./http-errors.ts";

/**
 * REST bodies are JSON objects (docs/api.md): a `text/plain` body is refused with 415 like any other
 * type that is not JSON (Fastify would otherwise accept it as a string), and a JSON body that is an
 * array, `null`, a string or a number with 400 saying what to send. Connect's routes parse their
 * own bodies and are left alone.
 */
export const jsonObjectBodies = fp(
  async (app: FastifyInstance) => {
    app.removeContentTypeParser("text/plain");
    app.addHook("preValidation", async (req) => {
      if (req.routeOptions.config?.access?.kind === "connect") return;
      const b = req.body;
      if (b === undefined) return;
      if (b === null || typeof b !== "object" || Array.isArray(b))
        throw httpError(
          400,
          "bad-input",
          `the request body must be a JSON object such as {"title": "…"}, not ${b === null ? "null" : Array.isArray(b) ? "an array" : `a ${typeof b}`}`,
        );
    });
  },
  { name: "databook-json-bodies" },
);
