import type { DatabookError, Series } from "@databook/wire";
import { inferUnitId } from "./infer-unit.ts";
import { DEFAULT_UNIT, findUnit, UNITS, type UnitDef, unit } from "./units.ts";

/** The unit a chart uses, where it came from, and a message when `@unit=` named no known unit. */
export type ResolvedUnit = {
  unit: UnitDef;
  source: "explicit" | "inferred" | "default";
  problem?: DatabookError;
};

/**
 * Picks the unit of a chart: the cell's `@unit=` value when it names a unit (id or alias, see
 * {@link UNITS}), else one inferred from the series' `__name__` labels and the query
 * ({@link inferUnitId}), else a plain count. An unknown `@unit=` value falls back to inference and
 * comes back as a `bad-input` problem saying which values are accepted.
 */
export function resolveUnit(explicit: string | undefined, query: string | undefined, series: Series[]): ResolvedUnit {
  let problem: DatabookError | undefined;
  if (explicit !== undefined && explicit !== "") {
    const found = findUnit(explicit);
    if (found) return { unit: found, source: "explicit" };
    problem = {
      kind: "bad-input",
      message: `@unit=${explicit} is not a unit this chart knows; use one of ${UNITS.map((u) => u.id).join(", ")}`,
    };
  }
  const inferred = inferUnitId(
    query,
    series.map((s) => s.labels.__name__),
  );
  const out: ResolvedUnit = inferred
    ? { unit: unit(inferred), source: "inferred" }
    : { unit: DEFAULT_UNIT, source: "default" };
  if (problem) out.problem = problem;
  return out;
}
