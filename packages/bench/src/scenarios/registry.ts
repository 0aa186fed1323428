// Scenario files that register themselves here, one line each: their definitions are appended to
// `SCENARIOS` (in this order, after the built-in ones) and the runner hands their ids to `measure`.
// Add a scenario by writing `src/scenarios/<name>.ts` exporting a `ScenarioModule` and listing it below.
import { fleetScenarios } from "./fleet.js";
import { openLoopScenarios } from "./open-loop.js";
import type { ScenarioModule } from "./types.js";

export const REGISTERED: readonly ScenarioModule[] = [openLoopScenarios, fleetScenarios];
